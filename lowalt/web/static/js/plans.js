// The centre's queue of referred plans, ordered by urgency (emergency first, then the decide-by deadline,
// then the start), with a decide-by countdown; plans whose window has passed leave the queue. Rows are keyed
// by plan id and updated in place, so a comment being typed survives every refresh. Approve, or reject
// with a reason (required). Also the index of current plans (by aircraft, by plan id) used by search and the
// aircraft card.

import { pick, t } from "./i18n.js";
import { el, fmtDuration, fmtTime, reorder, setText } from "./dom.js";

export const EMERGENCY_MISSIONS = new Set(["emergency_rescue", "medical", "police"]);

const isEmergency = (p) => Boolean(p.decision?.decide_by) || EMERGENCY_MISSIONS.has(p.mission);
const ms = (iso) => (iso ? Date.parse(iso) : Infinity);

/** Urgency: emergency first, then decide-by (soonest first), then start, then id. */
export function planOrder(a, b) {
  const e = Number(isEmergency(b)) - Number(isEmergency(a));
  if (e) return e;
  const d = ms(a.decision?.decide_by) - ms(b.decision?.decide_by);
  if (d) return d;
  const s = ms(a.start) - ms(b.start);
  if (s) return s;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function bandText(p) {
  const f = p.altitude.floor;
  const c = p.altitude.ceiling;
  return `${f.value_m}${f.reference === c.reference ? "" : ` ${f.reference}`}–${c.value_m} ${t("unit.m")} ${c.reference}`;
}

export class PlansPanel {
  constructor(root, { api, layers, canDecide, canRead }) {
    this.root = root;
    this.api = api;
    this.layers = layers;
    this.canDecide = canDecide;
    this.canRead = canRead;
    this.plans = new Map();
    this.rows = new Map(); // plan id -> row parts
    this.countEl = document.getElementById("plan-count");
    this.seq = 0;
    this.skewMs = 0; // tests move the panel's clock forward
    setInterval(() => this.tick(), 1000);
  }

  async refresh() {
    if (!this.canRead()) {
      this.root.replaceChildren(el("li", { class: "empty", "data-i18n": "plans.forbidden" }, t("plans.forbidden")));
      return;
    }
    const seq = ++this.seq;
    let list;
    try {
      const now = encodeURIComponent(new Date().toISOString());
      list = await this.api(`/plans?state=referred&start=${now}&limit=1000`);
    } catch (err) {
      this.root.replaceChildren(el("li", { class: "empty" }, t("plans.error", { msg: err.message })));
      this.rows.clear();
      return;
    }
    if (seq !== this.seq) return; // an older answer arriving late
    this.plans = new Map(list.map((p) => [p.id, p]));
    this.render();
  }

  /** Referred plans still decidable (window not over), in urgency order. */
  now() {
    return Date.now() + this.skewMs;
  }

  queue() {
    const now = this.now();
    return [...this.plans.values()].filter((p) => ms(p.end) > now).sort(planOrder);
  }

  _row(p) {
    const comment = el("input", { class: "comment", type: "text", "data-i18n-ph": "plans.comment",
      placeholder: t("plans.comment"), maxlength: "2000", onclick: (ev) => ev.stopPropagation() });
    const head = el("div", { class: "plan-head" });
    const meta = el("div", { class: "plan-meta" });
    const due = el("div", { class: "plan-due" });
    const reasons = el("ul", { class: "reasons" });
    const status = el("div", { class: "plan-status" });
    const approve = el("button", { class: "approve", "data-plan": p.id, "data-i18n": "plans.approve",
      onclick: (ev) => {
        ev.stopPropagation();
        this.decide(p.id, "approve", r);
      } }, t("plans.approve"));
    const reject = el("button", { class: "reject", "data-plan": p.id, "data-i18n": "plans.reject",
      onclick: (ev) => {
        ev.stopPropagation();
        this.decide(p.id, "reject", r);
      } }, t("plans.reject"));
    const actions = this.canDecide() ? el("div", { class: "actions" }, comment, approve, reject) : null;
    const li = el("li", { class: "plan", "data-plan": p.id, onclick: () => this.show(this.plans.get(p.id)) },
      head, meta, due, reasons, actions, status);
    const r = { li, head, meta, due, reasons, status, comment, approve, reject, reasonsKey: "" };
    return r;
  }

  _update(r, p) {
    const em = isEmergency(p);
    r.li.classList.toggle("emergency", em);
    setText(r.head, `${p.aircraft_id} · ${p.organisation} · ${t(`mission.${p.mission}`)}${em ? ` · ${t("plans.emergency")}` : ""}`);
    setText(r.meta, `${fmtTime(p.start)} – ${fmtTime(p.end)} · ${bandText(p)}`);
    this._due(r, p);
    const rs = p.decision?.reasons || [];
    const key = `${document.documentElement.lang}|${rs.map((x) => x.code).join(",")}`;
    if (key !== r.reasonsKey) {
      r.reasonsKey = key;
      r.reasons.replaceChildren(...rs.map((x) => el("li", { "data-code": x.code }, pick(x, "message") || t("plans.reason"))));
    }
  }

  _due(r, p) {
    const now = this.now();
    const by = p.decision?.decide_by;
    if (by) {
      const left = (Date.parse(by) - now) / 1000;
      setText(r.due, left > 0 ? t("plans.decide_in", { d: fmtDuration(left) }) : t("plans.decide_overdue"));
      r.due.classList.toggle("urgent", left < 300);
    } else {
      const left = (Date.parse(p.start) - now) / 1000;
      setText(r.due, left > 0 ? t("plans.starts_in", { d: fmtDuration(left) }) : t("plans.started"));
    }
  }

  render() {
    if (!this.canRead()) return;
    const q = this.queue();
    setText(this.countEl, q.length);
    const order = [];
    const keep = new Set();
    for (const p of q) {
      keep.add(p.id);
      let r = this.rows.get(p.id);
      if (!r) {
        r = this._row(p);
        this.rows.set(p.id, r);
      }
      this._update(r, p);
      order.push(r.li);
    }
    for (const id of [...this.rows.keys()]) if (!keep.has(id)) this.rows.delete(id);
    if (!order.length) {
      if (!this.emptyLi) this.emptyLi = el("li", { class: "empty", "data-i18n": "plans.none" }, t("plans.none"));
      order.push(this.emptyLi);
    }
    reorder(this.root, order);
  }

  tick() {
    if (document.hidden || !this.canRead()) return;
    const now = this.now();
    let stale = false;
    for (const [id, r] of this.rows) {
      const p = this.plans.get(id);
      if (!p || ms(p.end) <= now) stale = true;
      else this._due(r, p);
    }
    if (stale) this.render();
  }

  async decide(id, verb, r) {
    const comment = r.comment.value.trim();
    if (verb === "reject" && !comment) {
      setText(r.status, t("plans.reason_required"));
      r.comment.focus();
      return;
    }
    r.approve.disabled = r.reject.disabled = true;
    try {
      await this.api(`/plans/${encodeURIComponent(id)}/${verb}`, { method: "POST", body: { comment } });
      this.plans.delete(id);
      this.render();
    } catch (err) {
      r.approve.disabled = r.reject.disabled = false;
      setText(r.status, t("plans.error", { msg: err.message }));
    }
  }

  show(p) {
    if (!p) return;
    const feats = [{ type: "Feature", geometry: p.geometry, properties: { id: p.id } }];
    this.layers.setStatic("plan", { type: "FeatureCollection", features: feats });
    const c = p.geometry.type === "LineString" ? p.geometry.coordinates : p.geometry.coordinates[0];
    const lon = c.reduce((s, x) => s + x[0], 0) / c.length;
    const lat = c.reduce((s, x) => s + x[1], 0) / c.length;
    this.layers.flyTo(lon, lat, 12);
  }

  /** The plan that covers an aircraft now (active, approved, or referred), drawn on the map. */
  async showFor(aircraftId, index) {
    if (!this.canRead()) return null;
    const p = index ? await index.forAircraft(aircraftId) : null;
    this.layers.setStatic("plan", p ? { type: "FeatureCollection",
      features: [{ type: "Feature", geometry: p.geometry, properties: { id: p.id } }] } : null);
    return p;
  }
}

/** Current plans (active, approved, referred, window not over), by aircraft and by id; refreshed on demand. */
export class PlanIndex {
  constructor(api, canRead) {
    this.api = api;
    this.canRead = canRead;
    this.byId = new Map();
    this.byAircraft = new Map();
    this.loadedAt = 0;
    this.loading = null;
  }

  async load(force = false) {
    if (!this.canRead()) return;
    if (!force && Date.now() - this.loadedAt < 15000) return;
    if (this.loading) return this.loading;
    this.loading = (async () => {
      try {
        const now = encodeURIComponent(new Date().toISOString());
        const list = await this.api(`/plans?state=active,approved,referred&start=${now}&limit=1000`);
        this.byId = new Map(list.map((p) => [p.id, p]));
        const by = new Map();
        for (const p of list) {
          if (!by.has(p.aircraft_id)) by.set(p.aircraft_id, []);
          by.get(p.aircraft_id).push(p);
        }
        for (const l of by.values()) l.sort((a, b) => ms(a.start) - ms(b.start));
        this.byAircraft = by;
        this.loadedAt = Date.now();
      } finally {
        this.loading = null;
      }
    })();
    return this.loading;
  }

  /** Active first, else the one in its window, else the next one. */
  async forAircraft(id, force = true) {
    await this.load(force);
    const mine = this.byAircraft.get(id) || [];
    const now = Date.now();
    return mine.find((p) => p.state === "active") || mine.find((p) => ms(p.start) <= now) || mine[0] || null;
  }

  planOf(id) {
    const mine = this.byAircraft.get(id) || [];
    return mine.find((p) => p.state === "active") || mine[0] || null;
  }
}
