// My flights: the organisation's plans (GET /plans with state and date filters), activate / complete /
// cancel, show on the map, export one plan as GeoJSON (a Feature with the plan's properties); for a
// flown plan, its track (GET /tracks/{aircraft}/history from activation to completion) drawn on the
// map, replayed (a marker moving along it at 1-60x, stopped by the same button) and exported as a
// flight-log CSV.

import { api, qs } from "./api.js";
import { $, el, resetList } from "./dom.js";
import { bandText, code, fillSelect, localTime, t } from "./i18n.js";
const FLOWN = new Set(["active", "completed"]);
const SOURCES = ["telemetry", "adsb", "rid", "noncoop"]; // history's src (lowalt.surveillance.reports.Source)
const CSV_HEADER = "time_utc,time_beijing,lon,lat,alt_amsl_m,vx_m_s,vy_m_s,vz_m_s,source";

/** Flight-log CSV rows from a history FeatureCollection (its "report" points). */
export function flightLogCSV(history) {
  const rows = history.features.filter((f) => f.properties.kind === "report").map((f) => {
    const p = f.properties;
    const [lon, lat] = f.geometry.coordinates;
    return [p.t, localTime(p.t, { seconds: true }), lon.toFixed(7), lat.toFixed(7), p.alt_amsl_m.toFixed(1),
      p.vx.toFixed(2), p.vy.toFixed(2), p.vz.toFixed(2), SOURCES[p.src] ?? p.src].join(",");
  });
  return [CSV_HEADER, ...rows].join("\n") + "\n";
}

function download(name, type, text) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

const ACTIONS = { approved: ["activate", "cancel"], referred: ["cancel"], active: ["complete", "cancel"] };

/** A plan as a GeoJSON Feature (RFC 7946): its footprint with what was filed and decided. */
export function planFeature(plan) {
  const { geometry, decision, ...props } = plan;
  return { type: "Feature", id: plan.id, geometry,
    properties: { ...props, verdict: decision && decision.verdict, pathway: decision && decision.pathway,
      reasons: ((decision && decision.reasons) || []).map((r) => ({ code: r.code, message_zh: r.message_zh, message_en: r.message_en })) } };
}

/** Where a replay is at `t` (epoch s) along time-ordered reports [{t, lon, lat}]: interpolated, clamped. */
export function positionAt(reports, t) {
  if (!reports.length) return null;
  if (t <= reports[0].t) return [reports[0].lon, reports[0].lat];
  for (let i = 1; i < reports.length; i++) {
    const b = reports[i];
    if (t <= b.t) {
      const a = reports[i - 1];
      const f = b.t > a.t ? (t - a.t) / (b.t - a.t) : 1;
      return [a.lon + f * (b.lon - a.lon), a.lat + f * (b.lat - a.lat)];
    }
  }
  const z = reports[reports.length - 1];
  return [z.lon, z.lat];
}

const REPLAY_SPEEDS = [1, 10, 30, 60];

export class Plans {
  constructor({ map, report }) {
    this.map = map;
    this.replaying = null; // {planId, speed, t, end, done} while (and after) a replay runs: for tests too
    this.report = report;
    this.plans = [];
    fillSelect($("p-state"), "state", { all: true });
    $("p-refresh").onclick = () => this.load();
    for (const id of ["p-state", "p-from", "p-to"]) $(id).onchange = () => this.load();
  }

  async load() {
    const from = $("p-from").value;
    const to = $("p-to").value;
    try {
      this.plans = await api(`/plans${qs({ state: $("p-state").value, start: from ? `${from}T00:00:00+08:00` : "",
        end: to ? `${to}T23:59:59+08:00` : "", limit: 200 })}`);
      this.plans.sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
      this.render();
    } catch (e) {
      this.report($("plans-msg"), e, "error");
    }
  }

  async act(plan, action) {
    try {
      const body = action === "cancel" ? {} : undefined;
      const p = await api(`/plans/${encodeURIComponent(plan.id)}/${action}`, { method: "POST", body });
      this.report($("plans-msg"), t("plans.done", { state: code("state", p.state) }), "ok");
      await this.load();
    } catch (e) {
      this.report($("plans-msg"), e, "error");
    }
  }

  exportGeoJSON(plan) {
    download(`plan-${plan.aircraft_id}-${plan.id.slice(0, 8)}.geojson`, "application/geo+json",
      JSON.stringify(planFeature(plan), null, 1));
  }

  /** The aircraft's history while this plan was flown: from its activation to its completion (or now). */
  async history(plan) {
    const full = await api(`/plans/${encodeURIComponent(plan.id)}`);
    const at = (state) => (full.events || []).find((e) => e.to_state === state)?.at;
    const from = at("active") || plan.start;
    const to = new Date(new Date(at("completed") || Date.now()).getTime() + 60000).toISOString();
    return api(`/tracks/${encodeURIComponent(plan.aircraft_id)}/history${qs({ from, to })}`);
  }

  async showTrack(plan) {
    try {
      const h = await this.history(plan);
      const line = h.features.find((f) => f.properties.kind === "track");
      this.map.show(line ? line.geometry : plan.geometry);
    } catch (e) {
      this.report($("plans-msg"), e, "error");
    }
  }

  /** Replay the flown track: a marker moves along the reports at `speed` times real time (the next
   * press of the button cycles the speed; the last one stops). */
  async replay(plan) {
    const cur = this.replaying;
    if (cur && cur.planId === plan.id && !cur.done) {
      const next = REPLAY_SPEEDS[REPLAY_SPEEDS.indexOf(cur.speed) + 1];
      if (next) return void (cur.speed = next);
      cur.done = true;
      this.map.setReplay(null);
      return;
    }
    let h;
    try {
      h = await this.history(plan);
    } catch (e) {
      return this.report($("plans-msg"), e, "error");
    }
    const reports = h.features.filter((f) => f.properties.kind === "report")
      .map((f) => ({ t: new Date(f.properties.t).getTime() / 1000, lon: f.geometry.coordinates[0], lat: f.geometry.coordinates[1] }))
      .sort((a, b) => a.t - b.t);
    if (!reports.length) return this.report($("plans-msg"), t("plans.no_track"), "info");
    const line = h.features.find((f) => f.properties.kind === "track");
    if (line) this.map.show(line.geometry);
    const state = (this.replaying = { planId: plan.id, speed: 10, t: reports[0].t, end: reports[reports.length - 1].t, done: false });
    let wall = performance.now();
    const step = (now) => {
      if (state.done || this.replaying !== state) return;
      state.t = Math.min(state.end, state.t + ((now - wall) / 1000) * state.speed);
      wall = now;
      this.map.setReplay(positionAt(reports, state.t));
      this.report($("plans-msg"), t("plans.replaying", { id: plan.aircraft_id, t: localTime(new Date(state.t * 1000).toISOString(), { seconds: true }), x: state.speed }), "info");
      if (state.t >= state.end) {
        state.done = true;
        return;
      }
      requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  }

  async exportLog(plan) {
    try {
      download(`flight-log-${plan.aircraft_id}-${plan.id.slice(0, 8)}.csv`, "text/csv", flightLogCSV(await this.history(plan)));
    } catch (e) {
      this.report($("plans-msg"), e, "error");
    }
  }

  render() {
    const ul = $("plan-list");
    if (!resetList(ul, this.plans, t("plans.none"))) return;
    for (const p of this.plans) {
      const li = el("li", `card plan state-${p.state}`);
      li.dataset.id = p.id;
      li.dataset.state = p.state;
      const row = el("div", "row");
      row.append(el("b", "", `${p.aircraft_id} · ${code("mission", p.mission)}`),
        el("span", `badge state-${p.state}`, code("state", p.state)));
      const meta = el("small", "", `${localTime(p.start)}–${localTime(p.end, { date: false })} · ${bandText(p.altitude.floor, p.altitude.ceiling)}`);
      const acts = el("div", "actions");
      const button = (key, fn, cls = "") => {
        const x = el("button", `${cls} act-${key}`, t(`plans.${key}`));
        x.type = "button";
        x.onclick = fn;
        acts.append(x);
      };
      for (const a of ACTIONS[p.state] || []) button(a, () => this.act(p, a), a === "cancel" ? "danger" : "primary");
      button("show", () => this.map.show(p.geometry));
      button("export", () => this.exportGeoJSON(p));
      if (FLOWN.has(p.state)) {
        button("track", () => this.showTrack(p));
        button("replay", () => this.replay(p));
        button("log", () => this.exportLog(p));
      }
      li.append(row, meta, acts);
      ul.append(li);
    }
  }
}
