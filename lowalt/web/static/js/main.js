// Composition root of the page: sign-in, map, feed, panels. Exposes window.lowalt for tests and the bench.

import { applyI18n, currentLang, onLangChange, pick, t, toggleLang } from "./i18n.js";
import { Feed, WORKER_MIN_CHARS, makeApi } from "./transport.js";
import { AlertStore, TrackStore } from "./state.js";
import { MapLayers, Perf } from "./layers.js";
import { AIRSPACE_SOURCES, createMap, fetchAirspace } from "./airspace-map.js";
import { AlertsPanel } from "./alerts.js";
import { PlanIndex, PlansPanel } from "./plans.js";
import { Registry, TrackTable, aircraftCard } from "./tracks.js";
import { Replay } from "./replay.js";
import { makeProjector } from "./gcj02.js";
import { OccupancyHeatmap } from "./heatmap.js";

const TOKEN_KEY = "lowalt.token";
const $ = (id) => document.getElementById(id);

function takeUrlToken() {
  const url = new URL(location.href);
  const token = url.searchParams.get("token");
  if (token) {
    localStorage.setItem(TOKEN_KEY, token);
    url.searchParams.delete("token");
    history.replaceState(null, "", url.pathname + url.search + url.hash); // keep it out of the address bar
  }
}

async function signIn() {
  takeUrlToken();
  for (;;) {
    const token = localStorage.getItem(TOKEN_KEY);
    if (token) {
      const r = await fetch("/me", { headers: { Authorization: `Bearer ${token}` } });
      if (r.ok) return { token, me: await r.json() };
      localStorage.removeItem(TOKEN_KEY);
      $("signin-error").textContent = t("signin.bad");
    }
    $("signin").hidden = false;
    await new Promise((resolve) => {
      $("signin-form").onsubmit = (ev) => {
        ev.preventDefault();
        const v = $("signin-token").value.trim();
        if (v) localStorage.setItem(TOKEN_KEY, v);
        resolve();
      };
    });
  }
}

function atFromSlider() {
  const minutes = Number($("time-slider").value);
  return new Date(Date.now() + minutes * 60000);
}

function showAt() {
  const minutes = Number($("time-slider").value);
  const d = atFromSlider();
  $("time-label").textContent = minutes === 0 ? t("filter.now")
    : d.toLocaleString(currentLang() === "en" ? "en-GB" : "zh-CN",
      { weekday: "short", hour: "2-digit", minute: "2-digit", timeZone: "Asia/Shanghai" });
}

async function main() {
  applyI18n();
  $("lang-switch").onclick = toggleLang;
  const [cfg, session] = await Promise.all([fetch("/web/config").then((r) => r.json()), signIn()]);
  $("signin").hidden = true;
  const { token, me } = session;
  const api = makeApi(() => token);
  $("whoami").textContent = me.name;
  $("role").dataset.i18n = `role.${me.role}`;
  $("role").textContent = t(`role.${me.role}`);
  $("signout").onclick = () => {
    localStorage.removeItem(TOKEN_KEY);
    location.reload();
  };
  const isCentre = () => me.role === "centre" || me.role === "admin";
  const canReadPlans = () => ["centre", "admin", "operator"].includes(me.role);

  const proj = makeProjector(cfg.basemap_crs);
  const identity = cfg.basemap_crs !== "gcj02";
  // one worker per core (MapLibre defaults to half): the track source and tile parsing run in parallel
  maplibregl.setWorkerCount(Math.max(2, navigator.hardwareConcurrency || 2));
  const map = createMap("map", cfg, proj);

  const store = new TrackStore(1024, 12, 60000);
  const alerts = new AlertStore();
  const perf = new Perf();
  const applyPerf = new Perf();
  const param = (k) => new URL(location.href).searchParams.get(k);
  const layers = new MapLayers(map, store, alerts, proj, identity, perf, {
    ...(param("thin_above") ? { thinAbove: Number(param("thin_above")) } : {}),
    ...(param("view_max") ? { viewMax: Number(param("view_max")) } : {}),
    ...(param("dense_max") ? { denseMax: Number(param("dense_max")) } : {}) });
  let renders = 0;
  map.on("render", () => renders++);
  window.lowalt = { map, store, renders: () => renders, alerts, perf, applyPerf, layers, ready: false, messages: 0,
    msgStats: { bytes: 0 }, config: cfg, me };

  await new Promise((resolve) => map.once("load", resolve));
  layers.lang = currentLang();
  layers.init(cfg);
  layers.setLanguage(currentLang());
  $("toggle-basemap-row").hidden = !cfg.basemap_url && !cfg.basemap_pmtiles;
  window.lowalt.heat = new OccupancyHeatmap(map, api, proj); // analytics occupancy (issue #20)
  window.lowalt.heat.bind($("toggle-heat"), isCentre());

  const registry = new Registry(api);
  registry.load(true);
  setInterval(() => registry.load(), 30000);
  const planIndex = new PlanIndex(api, canReadPlans);
  const plansPanel = new PlansPanel($("plans"), { api, layers, canDecide: isCentre, canRead: canReadPlans });
  const volumeName = (id) => {
    const f = layers.volumeFeature(id);
    return f ? pick(f.properties, "name") || t("alert.unnamed_volume") : t("alert.unnamed_volume");
  };

  // the aircraft card: a popup opened where the aircraft was (it stays put: a moving close button is hard to
  // hit), refreshed once a second
  const popup = new maplibregl.Popup({ closeButton: true, maxWidth: "320px", className: "ac-popup" });
  // the popup's content is set once: each refresh replaces what is inside it (setDOMContent would rebuild the
  // close button every second, and a click landing during the rebuild would miss it)
  const cardBox = document.createElement("div");
  popup.setDOMContent(cardBox);
  const card = { id: null, extra: {} };
  const drawCard = () => {
    if (!card.id) return;
    cardBox.replaceChildren(aircraftCard({ store, registry }, card.id, card.extra));
  };
  const openCard = async (id, fly = false) => {
    const pos = store.position(id);
    if (!pos) return;
    card.id = id;
    card.extra = {};
    tracks.selected = id;
    layers.setSelection({ aircraft: [id] });
    if (fly) layers.flyTo(pos[0], pos[1], 13);
    popup.setLngLat(proj(pos[0], pos[1]));
    drawCard();
    if (!popup.isOpen()) popup.addTo(map);
    if (!registry.byId.has(id)) registry.load(true).then(drawCard);
    const cat = registry.byId.get(id)?.category || "light_uav";
    const qs = `lon=${pos[0]}&lat=${pos[1]}&alt=0&ref=AMSL&category=${encodeURIComponent(cat)}`;
    const [plan, q] = await Promise.all([
      canReadPlans() ? plansPanel.showFor(id, planIndex).catch(() => null) : Promise.resolve(null),
      api(`/airspace/query?${qs}`).catch(() => null)]);
    if (card.id !== id) return;
    card.extra = { plan, terrain_m: q ? q.terrain_m : null };
    drawCard();
  };
  popup.on("close", () => {
    card.id = null;
    tracks.selected = null;
    if (!alertsPanel.selected) layers.setSelection(null);
  });
  setInterval(() => {
    if (card.id && !document.hidden) drawCard();
  }, 1000);

  const replay = new Replay({ api, layers, proj });
  const alertsPanel = new AlertsPanel($("alerts"), { alerts, store, layers, api, canAck: isCentre, volumeName,
    onSelectAircraft: (id) => openCard(id, true),
    onReplay: (a) => {
      replay.prefill(a.aircraft || [], new Date((a.first_seen - 120) * 1000), new Date());
      $("replay-panel").scrollIntoView({ block: "nearest" });
      replay.load();
    } });
  const tracks = new TrackTable({ store, registry, plans: planIndex, onPick: (id) => openCard(id, true) });
  Object.assign(window.lowalt, { replay, alertsPanel, plansPanel, tracks, registry, planIndex, openCard,
    beeps: () => alertsPanel.beeper.count });
  onLangChange((lang) => {
    layers.setLanguage(lang);
    alertsPanel.render(true);
    alertsPanel.renderCard();
    plansPanel.render();
    tracks.render();
    drawCard();
    showAt();
  });

  // layer switches and filters
  for (const box of document.querySelectorAll("input[data-group]")) {
    box.onchange = () => layers.setGroupVisible(box.dataset.group, box.checked);
  }
  const altChanged = () => {
    let lo = Number($("alt-min").value);
    let hi = Number($("alt-max").value);
    if (lo > hi) [lo, hi] = [hi, lo];
    const datum = $("alt-datum").value;
    $("alt-label").textContent = `${lo}–${hi} m ${datum === "agl" ? "AGL" : "AMSL"}`;
    layers.setAltitudeRange(lo, hi, datum);
  };
  $("alt-datum").onchange = altChanged;
  $("alt-min").oninput = altChanged;
  $("alt-max").oninput = altChanged;
  altChanged();

  let airspaceSeq = 0;
  const loadAirspace = async () => {
    const seq = ++airspaceSeq;
    try {
      const got = await fetchAirspace(api, atFromSlider());
      if (seq !== airspaceSeq) return;
      for (const source of AIRSPACE_SOURCES) layers.setStatic(source, got[source]);
      $("airspace-status").textContent = "";
    } catch (err) {
      $("airspace-status").textContent = `${t("api.airspace_down")} (${err.status || err.message})`;
    }
  };
  let sliderTimer = null;
  $("time-slider").oninput = () => {
    showAt();
    clearTimeout(sliderTimer);
    sliderTimer = setTimeout(loadAirspace, 250);
  };
  showAt();
  fetch("/web/context.geojson").then((r) => r.json()).then((fc) => layers.setStatic("context", fc));
  loadAirspace();
  setInterval(loadAirspace, 60000); // schedules release and expire with time

  // the live feed
  const feed = new Feed("/ws/live", token, {
    parseInWorker: true,
    // ?worker_min=N: frames of N characters and more are parsed in the worker (tests use 0: every frame)
    workerMinChars: Number(new URL(location.href).searchParams.get("worker_min") ?? WORKER_MIN_CHARS),
    onStatus: (s) => {
      $("feed-status").dataset.state = s;
      $("feed-status").dataset.i18n = `feed.${s}`;
      $("feed-status").textContent = t(`feed.${s}`);
    },
    onMessage: (msg, tRecv, bytes) => {
      window.lowalt.messages++;
      const ms = window.lowalt.msgStats;
      ms[msg.type] = (ms[msg.type] || 0) + 1;
      ms.bytes += bytes;
      if (msg.type === "tracks") {
        store.applyRows(msg.tracks);
        if (msg.lost?.length) store.markLost(msg.lost, Date.now());
        applyPerf.record(performance.now() - tRecv); // receipt to applied: parse (in the worker) + apply (main thread)
        layers.noteMessage(tRecv, false, msg.t);
      } else if (msg.type === "snapshot") {
        store.replaceAll(msg.tracks);
        alerts.replaceAll(msg.alerts);
        layers.noteMessage(tRecv, true, msg.t);
        alertsPanel.render();
        window.lowalt.ready = true;
      } else if (msg.type === "alerts") {
        alerts.applyDiff(msg);
        layers.schedule();
        alertsPanel.request();
      }
    },
  });
  feed.connect();
  window.lowalt.feed = feed;
  setInterval(() => {
    store.sweep(Date.now());
    layers.schedule();
  }, 1000);

  // plans: the referred queue, refreshed on every plan event
  plansPanel.refresh();
  if (canReadPlans()) {
    let planTimer = null;
    const planFeed = new Feed("/ws/plans", token, {
      onMessage: () => {
        clearTimeout(planTimer);
        planTimer = setTimeout(() => {
          plansPanel.refresh();
          planIndex.loadedAt = 0;
        }, 300);
      },
      onOpen: () => plansPanel.refresh(),
    });
    planFeed.connect();
  }

  // click an aircraft: its card, and its plan drawn on the map
  const onTrackClick = (e) => openCard(e.features[0].properties.id);
  for (const layer of ["tracks", "tracks-dot"]) {
    map.on("click", layer, onTrackClick);
    map.on("mouseenter", layer, () => (map.getCanvas().style.cursor = "pointer"));
    map.on("mouseleave", layer, () => (map.getCanvas().style.cursor = ""));
  }
  // with thousands of aircraft the GeoJSON source holds only those in view (or none): click and hover are
  // hit-tested on the WebGL layer's arrays (hover at most once an animation frame)
  map.on("click", (e) => {
    if (!layers.thinned || map.queryRenderedFeatures(e.point, { layers: ["tracks", "tracks-dot"] }).length) return;
    const id = layers.pick(e.point);
    if (id) openCard(id);
  });
  let hoverAt = null;
  map.on("mousemove", (e) => {
    if (!layers.thinned) return;
    if (!hoverAt) {
      requestAnimationFrame(() => {
        map.getCanvas().style.cursor = layers.pick(hoverAt) ? "pointer" : "";
        hoverAt = null;
      });
    }
    hoverAt = e.point;
  });
}

main().catch((err) => {
  console.error(err);
  const box = document.getElementById("fatal");
  box.hidden = false;
  box.textContent = String(err && err.stack ? err.stack : err);
});
