// Side panels: the alerts list (sorted by severity, acknowledge, click to fly) and the centre's queue of
// referred plans (reasons, approve/reject with a comment), plus the aircraft detail card with its plan.

import { currentLang, pick, t } from "./i18n.js";
import { STATUS } from "./state.js";

const MAX_ROWS = 200;

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null) e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function fmtTime(iso) {
  const d = new Date(iso);
  return d.toLocaleString(currentLang() === "en" ? "en-GB" : "zh-CN",
    { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", timeZone: "Asia/Shanghai" });
}

export class AlertsPanel {
  constructor(root, { alerts, store, layers, api, canAck }) {
    this.root = root;
    this.alerts = alerts;
    this.store = store;
    this.layers = layers;
    this.api = api;
    this.canAck = canAck;
    this.renderedVersion = -1;
    this.countEl = document.getElementById("alert-count");
    this.lastRender = 0;
    this.timer = null;
    setInterval(() => this.render(true), 1000); // count-downs to loss of separation
  }

  /** Ask for a render; at most one per 500 ms however often alerts arrive. */
  request() {
    if (this.timer) return;
    const wait = Math.max(0, 500 - (performance.now() - this.lastRender));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.render();
    }, wait);
  }

  detail(a) {
    const d = a.details || {};
    const now = Date.now() / 1000;
    const parts = [];
    if (a.kind === "conflict") {
      const tin = Math.max(0, (d.t_in ?? 0) - (now - (a.seenAt || now)));
      parts.push(tin > 0 ? t("alert.los_in", { s: Math.round(tin) }) : t("alert.los_now"));
      if (d.d_cpa_m !== undefined) parts.push(t("alert.cpa", { d: Math.round(d.d_cpa_m) }));
      if (d.give_way?.length) parts.push(t("alert.give_way", { ids: d.give_way.join(", ") }));
    }
    if (d.volume) parts.push(t("alert.volume", { v: d.volume }));
    if (d.reason) parts.push(String(d.reason));
    return parts.join(" · ");
  }

  render(force = false) {
    if (!force && this.renderedVersion === this.alerts.version) return;
    if (document.hidden) return;
    this.lastRender = performance.now();
    this.renderedVersion = this.alerts.version;
    const list = this.alerts.sorted();
    this.countEl.textContent = String(list.length);
    const rows = list.slice(0, MAX_ROWS).map((a) => {
      const acked = Boolean(a.acknowledged_by);
      const ack = this.canAck() && !acked
        ? el("button", { class: "ack", "data-alert": a.id, onclick: (ev) => {
          ev.stopPropagation();
          this.acknowledge(a.id, ev.target);
        } }, t("alerts.ack"))
        : acked ? el("span", { class: "acked" }, t("alerts.acked")) : null;
      return el("li", { class: `alert sev-${a.severity} kind-${a.kind}`, "data-alert": a.id,
        onclick: () => this.flyTo(a) },
      el("div", { class: "alert-head" },
        el("span", { class: "sev" }, t(`sev.${a.severity}`)),
        el("span", { class: "kind" }, t(`kind.${a.kind}`)),
        el("span", { class: "ids" }, (a.aircraft || []).join(" ↔ ")),
        ack),
      el("div", { class: "alert-detail" }, this.detail(a)));
    });
    if (!list.length) rows.push(el("li", { class: "empty" }, t("alerts.none")));
    if (list.length > MAX_ROWS) rows.push(el("li", { class: "more" }, t("alerts.more", { n: list.length - MAX_ROWS })));
    this.root.replaceChildren(...rows);
  }

  flyTo(a) {
    const pos = (a.aircraft || []).map((id) => this.store.position(id)).filter(Boolean);
    if (!pos.length) return;
    const lon = pos.reduce((s, p) => s + p[0], 0) / pos.length;
    const lat = pos.reduce((s, p) => s + p[1], 0) / pos.length;
    this.layers.flyTo(lon, lat, 14);
  }

  async acknowledge(id, button) {
    button.disabled = true;
    try {
      const updated = await this.api(`/alerts/${encodeURIComponent(id)}/ack`, { method: "POST" });
      this.alerts.applyDiff({ updated: [updated] });
      this.render();
    } catch (err) {
      button.disabled = false;
      button.title = String(err.message || err);
    }
  }
}

export class PlansPanel {
  constructor(root, { api, layers, canDecide, canRead }) {
    this.root = root;
    this.api = api;
    this.layers = layers;
    this.canDecide = canDecide;
    this.canRead = canRead;
    this.plans = [];
    this.countEl = document.getElementById("plan-count");
    this.status = new Map();
  }

  async refresh() {
    if (!this.canRead()) {
      this.plans = [];
      this.root.replaceChildren(el("li", { class: "empty" }, t("plans.forbidden")));
      return;
    }
    try {
      this.plans = await this.api("/plans?state=referred&limit=200");
    } catch (err) {
      this.root.replaceChildren(el("li", { class: "empty" }, t("plans.error", { msg: err.message })));
      return;
    }
    this.render();
  }

  reasons(p) {
    const rs = p.decision?.reasons || [];
    return el("ul", { class: "reasons" }, ...rs.map((r) => el("li", { "data-code": r.code },
      pick(r, "message") || r.code)));
  }

  render() {
    if (!this.canRead()) return;
    this.countEl.textContent = String(this.plans.length);
    const rows = this.plans.map((p) => {
      const comment = el("input", { class: "comment", type: "text", "data-i18n-ph": "plans.comment",
        placeholder: t("plans.comment"), onclick: (ev) => ev.stopPropagation() });
      const decide = (verb) => (ev) => {
        ev.stopPropagation();
        this.decide(p, verb, comment.value, ev.target);
      };
      const actions = this.canDecide()
        ? el("div", { class: "actions" }, comment,
          el("button", { class: "approve", "data-plan": p.id, onclick: decide("approve") }, t("plans.approve")),
          el("button", { class: "reject", "data-plan": p.id, onclick: decide("reject") }, t("plans.reject")))
        : null;
      const band = `${p.altitude.floor.value_m}–${p.altitude.ceiling.value_m} m ${p.altitude.ceiling.reference}`;
      return el("li", { class: "plan", "data-plan": p.id, onclick: () => this.show(p) },
        el("div", { class: "plan-head" }, el("b", {}, p.aircraft_id), " ", p.organisation, " · ", p.mission),
        el("div", { class: "plan-meta" }, `${fmtTime(p.start)} – ${fmtTime(p.end)} · ${band}`),
        this.reasons(p), actions,
        el("div", { class: "plan-status" }, this.status.get(p.id) || ""));
    });
    if (!rows.length) rows.push(el("li", { class: "empty" }, t("plans.none")));
    this.root.replaceChildren(...rows);
  }

  async decide(p, verb, comment, button) {
    button.disabled = true;
    try {
      const out = await this.api(`/plans/${encodeURIComponent(p.id)}/${verb}`, { method: "POST", body: { comment } });
      this.status.set(p.id, t("plans.done", { state: t(`state.${out.state}`) }));
      this.plans = this.plans.filter((x) => x.id !== p.id);
      this.render();
    } catch (err) {
      button.disabled = false;
      this.status.set(p.id, t("plans.error", { msg: err.message }));
      this.render();
    }
  }

  show(p) {
    const feats = [{ type: "Feature", geometry: p.geometry, properties: { id: p.id } }];
    this.layers.setStatic("plan", { type: "FeatureCollection", features: feats });
    const c = p.geometry.type === "LineString" ? p.geometry.coordinates : p.geometry.coordinates[0];
    const lon = c.reduce((s, x) => s + x[0], 0) / c.length;
    const lat = c.reduce((s, x) => s + x[1], 0) / c.length;
    this.layers.flyTo(lon, lat, 12);
  }

  /** The plan that covers an aircraft now (active, approved, or referred), drawn on the map. */
  async showFor(aircraftId) {
    if (!this.canRead()) return null;
    const now = new Date().toISOString();
    const plans = await this.api(`/plans?state=active,approved,referred&start=${encodeURIComponent(now)}&limit=1000`);
    const mine = plans.filter((p) => p.aircraft_id === aircraftId)
      .sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
    const p = mine.find((x) => Date.parse(x.start) <= Date.now()) || mine[0] || null;
    this.layers.setStatic("plan", p ? { type: "FeatureCollection",
      features: [{ type: "Feature", geometry: p.geometry, properties: { id: p.id } }] } : null);
    return p;
  }
}

/** The card shown when an aircraft is clicked. */
export function aircraftCard(store, id, plan) {
  const i = store.slot.get(id);
  if (i === undefined) return el("div", {}, id);
  const row = (k, v) => el("tr", {}, el("th", {}, t(k)), el("td", {}, v));
  const st = STATUS[store.st[i]];
  const planLine = plan === undefined ? null
    : plan ? el("div", { class: "card-plan" }, t("plan.of", { id }), ": ", t(`state.${plan.state}`) || plan.state,
      " · ", `${fmtTime(plan.start)}–${fmtTime(plan.end)}`)
      : el("div", { class: "card-plan" }, t("plan.none", { id }));
  return el("div", { class: "card" }, el("h3", {}, id),
    el("table", {},
      row("track.status", t(`status.${st}`)),
      row("track.alt", `${Math.round(store.alt[i])} ${t("unit.m")}`),
      row("track.gs", `${store.gs[i].toFixed(1)} ${t("unit.ms")}`),
      row("track.vs", `${store.vs[i].toFixed(1)} ${t("unit.ms")}`),
      row("track.src", store.coop[i] ? "coop" : "noncoop")),
    planLine);
}
