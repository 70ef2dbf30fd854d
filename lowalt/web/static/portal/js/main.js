// Composition root of the operator portal: sign-in, tabs, map, fleet, filing, my flights, and the
// /ws/plans subscription. Exposes window.portal for tests.

import { api, ApiError, getToken, PlanEvents, setToken } from "./api.js";
import { $ } from "./dom.js";
import { applyI18n, code, currentLang, onLangChange, t, toggleLang } from "./i18n.js";
import { PortalMap } from "./draw.js";
import { Terrain } from "/static/js/terrain.js"; // the centre map's terrain grid reader (shared, not copied)
import { Fleet } from "./fleet.js";
import { Filing } from "./filing.js";
import { Plans } from "./plans.js";
import { Notices } from "./notices.js";
import { fillPilotPicker, Pilots } from "./pilots.js";
import { OwnAlerts } from "./alerts.js";
import { Announcements } from "./announce.js";

const ROLES = ["operator", "centre", "admin"];

/** Put a message (a string or an ApiError) into a status element. */
function report(el, what, kind = "info") {
  el.textContent = what instanceof ApiError ? what.describe(currentLang()) : String(what instanceof Error ? what.message : what);
  el.dataset.kind = kind;
  el.className = `msg ${kind}`;
}

async function signIn() {
  const url = new URL(location.href);
  if (url.searchParams.get("token")) {
    setToken(url.searchParams.get("token"));
    url.searchParams.delete("token");
    history.replaceState(null, "", url.pathname + url.search + url.hash); // out of the address bar
  }
  for (;;) {
    if (getToken()) {
      try {
        const me = await api("/me");
        if (ROLES.includes(me.role)) return me;
        $("signin-error").textContent = t("signin.role", { role: me.role });
      } catch {
        $("signin-error").textContent = t("signin.bad");
      }
      setToken(null);
    }
    $("signin").hidden = false;
    await new Promise((resolve) => {
      $("signin-form").onsubmit = (ev) => {
        ev.preventDefault();
        setToken($("signin-token").value.trim());
        resolve();
      };
    });
  }
}

function showTab(name) {
  for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("on", b.dataset.tab === name);
  for (const p of document.querySelectorAll(".pane")) p.hidden = p.id !== `pane-${name}`;
  document.body.dataset.tab = name;
  window.portal && window.portal.map && window.portal.map.resize();
}

async function main() {
  applyI18n();
  $("lang-switch").onclick = toggleLang;
  window.portal = { ready: false, events: [] };
  const [cfg, me] = await Promise.all([fetch("/web/config").then((r) => r.json()), signIn()]);
  $("signin").hidden = true;
  $("signout").hidden = false;
  $("signout").onclick = () => {
    setToken(null);
    location.reload();
  };
  const who = () => ($("whoami").textContent = [me.organisation, me.name].filter(Boolean).join(" · "));
  who();

  const pmap = new PortalMap("map", cfg);
  const at = new Date().toISOString();
  const airspace = Object.fromEntries(await Promise.all(["volumes", "routes", "points", "restrictions"]
    .map(async (k) => [k, await api(`/airspace/${k}?at=${encodeURIComponent(at)}`)])));
  await pmap.init(airspace);

  let filing = null;
  const fleet = new Fleet({ report, map: pmap, onChange: (list) => filing && filing.setAircraft(list) });
  filing = new Filing({ map: pmap, fleet, report, onFiled: () => plans.load(), terrain: new Terrain(cfg.terrain) });
  const plans = new Plans({ map: pmap, report });
  const pilots = new Pilots({ report, onChange: fillPilotPicker });
  const alerts = new OwnAlerts({ fleet });
  const notices = new Notices({ refile: async (body, alt) => {
    showTab("file");
    await filing.refile(alt, body);
  } });
  const announcements = new Announcements({ notices });

  for (const b of document.querySelectorAll("#tabs button")) b.onclick = () => showTab(b.dataset.tab);
  filing.setPublished(airspace.routes, airspace.points);
  for (const b of document.querySelectorAll("[data-draw]")) {
    b.onclick = () => {
      filing.clearPublished();
      pmap.start(b.dataset.draw);
      for (const x of document.querySelectorAll("[data-draw]")) x.classList.toggle("on", x === b);
      $("draw-hint").textContent = t(`draw.hint.${b.dataset.draw}`);
      $("draw-hint").dataset.key = `draw.hint.${b.dataset.draw}`;
      $("draw-finish").hidden = b.dataset.draw === "circle";
      $("radius-row").hidden = b.dataset.draw !== "circle";
      $("width-row").hidden = b.dataset.draw !== "route";
    };
  }
  $("draw-finish").onclick = () => {
    if (pmap.finish()) {
      $("draw-finish").hidden = true;
      $("draw-hint").textContent = "";
      $("draw-hint").dataset.key = "";
      for (const x of document.querySelectorAll("[data-draw]")) x.classList.remove("on");
    }
  };
  $("draw-clear").onclick = () => {
    filing.clearPublished();
    pmap.clear();
  };
  $("radius").onchange = () => {
    pmap.setRadius(Number($("radius").value));
    if (filing.published && filing.published.kind === "point") filing.usePublished($("f-published").value);
  };
  $("half-width").onchange = () => pmap.setHalfWidth(Number($("half-width").value));

  const events = new PlanEvents(async (ev) => {
    window.portal.events.push(ev);
    await Promise.all([filing.onEvent(ev), plans.load(), notices.onEvent(ev)]);
  }, (state) => {
    $("feed").dataset.state = state;
    $("feed").textContent = t(`feed.${state}`);
  });
  events.connect();

  onLangChange(() => {
    who();
    fleet.render();
    pilots.render();
    alerts.render();
    fillPilotPicker(pilots.pilots);
    plans.render();
    notices.render();
    filing.rerender();
    filing.renderPublished();
    filing.refreshTouches();
    $("feed").textContent = t(`feed.${$("feed").dataset.state}`);
    if ($("draw-hint").dataset.key) $("draw-hint").textContent = t($("draw-hint").dataset.key);
    for (const sel of [$("ac-category"), $("f-mission")]) {
      for (const o of sel.options) o.textContent = code(sel === $("f-mission") ? "mission" : "category", o.value);
    }
    for (const o of $("p-state").options) o.textContent = o.value ? code("state", o.value) : t("plans.all");
    fleet.onChange(fleet.aircraft);
  });

  Object.assign(window.portal, { map: pmap.map, pmap, fleet, filing, plans, notices, pilots, planEvents: events, me,
    alerts, announcements });
  await Promise.all([fleet.load(), plans.load(), pilots.load()]);
  await Promise.all([alerts.load(), announcements.check()]);
  fleet.watch();
  alerts.watch();
  announcements.watch();
  showTab(fleet.aircraft.length ? "file" : "fleet");
  filing.refreshTouches();
  window.portal.ready = true;
}

main().catch((e) => {
  console.error(e);
  document.body.dataset.fatal = String(e);
});
