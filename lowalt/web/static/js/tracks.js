// Finding an aircraft: the registry (operator, category), a search box (aircraft id, operator, plan id),
// counts by status and by category, a sortable track table (rows keyed by id, updated in place once a
// second), and the full aircraft card with every code translated and every altitude labelled.

import { t } from "./i18n.js";
import { el, fmtClock, fmtTime, reorder, setText } from "./dom.js";
import { SOURCES, STATUS } from "./state.js";
import { bandText } from "./plans.js";

const MAX_TABLE_ROWS = 100;

/** Registered aircraft: id -> {category, organisation}. */
export class Registry {
  constructor(api) {
    this.api = api;
    this.byId = new Map();
    this.loadedAt = 0;
    this.loading = null;
  }

  async load(force = false) {
    if (!force && Date.now() - this.loadedAt < 30000) return;
    if (this.loading) return this.loading;
    this.loading = this.api("/aircraft").then((list) => {
      this.byId = new Map(list.map((a) => [a.id, a]));
      this.loadedAt = Date.now();
    }).catch(() => {}).finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  category(id, coop) {
    const a = this.byId.get(id);
    return a ? a.category : coop ? "unregistered" : "noncoop";
  }
}

/** What the search box matches: aircraft id, operator (name), plan id (whole or start). */
export function matches(q, id, info, plan) {
  if (!q) return true;
  const s = q.toLowerCase();
  return id.toLowerCase().includes(s) || Boolean(info?.organisation?.toLowerCase().includes(s))
    || Boolean(plan && plan.id.toLowerCase().startsWith(s));
}

export class TrackTable {
  constructor({ store, registry, plans, onPick }) {
    this.store = store;
    this.registry = registry;
    this.plans = plans;
    this.onPick = onPick;
    this.body = document.getElementById("track-rows");
    this.search = document.getElementById("search");
    this.countsEl = document.getElementById("track-counts");
    this.shownEl = document.getElementById("track-shown");
    this.sortKey = "id";
    this.sortDir = 1;
    this.rows = new Map();
    this.selected = null;
    for (const th of document.querySelectorAll("#track-table th[data-sort]")) {
      th.onclick = () => {
        const k = th.dataset.sort;
        this.sortDir = this.sortKey === k ? -this.sortDir : 1;
        this.sortKey = k;
        for (const h of document.querySelectorAll("#track-table th[data-sort]")) {
          h.dataset.dir = h === th ? (this.sortDir > 0 ? "asc" : "desc") : "";
        }
        this.render();
      };
    }
    this.search.oninput = () => {
      this.render();
      if (this.search.value.trim()) this.plans.load();
    };
    this.search.onkeydown = (ev) => {
      if (ev.key !== "Enter") return;
      const first = this.body.querySelector("tr[data-id]");
      if (first) this.onPick(first.dataset.id);
    };
    setInterval(() => this.render(), 1000);
  }

  _value(i, key, now) {
    const s = this.store;
    switch (key) {
      case "st": return s.st[i];
      case "cat": return this.registry.category(s.ids[i], s.coop[i]);
      case "alt": return s.alt[i];
      case "gs": return s.gs[i];
      case "age": return now - s.tr[i];
      default: return s.ids[i];
    }
  }

  render() {
    if (document.hidden) return;
    const s = this.store;
    const q = this.search.value.trim();
    const now = Date.now() / 1000;
    const byStatus = new Map();
    const byCat = new Map();
    const hits = [];
    for (let i = 0; i < s.n; i++) {
      const id = s.ids[i];
      const st = STATUS[s.st[i]];
      const cat = this.registry.category(id, s.coop[i]);
      byStatus.set(st, (byStatus.get(st) || 0) + 1);
      byCat.set(cat, (byCat.get(cat) || 0) + 1);
      if (matches(q, id, this.registry.byId.get(id), this.plans.planOf(id))) hits.push(i);
    }
    if (q) {
      // plan id: the aircraft that holds it, even if the id did not match
      for (const p of this.plans.byId.values()) {
        if (!p.id.toLowerCase().startsWith(q.toLowerCase())) continue;
        const i = s.slot.get(p.aircraft_id);
        if (i !== undefined && !hits.includes(i)) hits.push(i);
      }
    }
    const key = this.sortKey;
    const dir = this.sortDir;
    hits.sort((a, b) => {
      const va = this._value(a, key, now);
      const vb = this._value(b, key, now);
      const c = va < vb ? -1 : va > vb ? 1 : 0;
      return c * dir || (s.ids[a] < s.ids[b] ? -1 : 1);
    });
    this._counts(byStatus, byCat);
    setText(this.shownEl, t("tracks.shown", { n: Math.min(hits.length, MAX_TABLE_ROWS), total: hits.length }));
    const order = [];
    const keep = new Set();
    for (const i of hits.slice(0, MAX_TABLE_ROWS)) {
      const id = s.ids[i];
      keep.add(id);
      let r = this.rows.get(id);
      if (!r) {
        const cells = [0, 1, 2, 3, 4, 5].map(() => el("td"));
        const tr = el("tr", { "data-id": id, onclick: () => this.onPick(id) }, ...cells);
        r = { tr, cells };
        this.rows.set(id, r);
      }
      const st = STATUS[s.st[i]];
      r.tr.className = `st-${st}${this.selected === id ? " selected" : ""}${s.co[i] ? " coasting" : ""}`;
      setText(r.cells[0], id);
      setText(r.cells[1], t(`status.${st}`));
      setText(r.cells[2], t(`cat.${this.registry.category(id, s.coop[i])}`));
      setText(r.cells[3], `${Math.round(s.alt[i])}`);
      setText(r.cells[4], s.gs[i].toFixed(0));
      setText(r.cells[5], `${Math.max(0, Math.round(now - s.tr[i]))}`);
      order.push(r.tr);
    }
    for (const id of [...this.rows.keys()]) if (!keep.has(id)) this.rows.delete(id);
    reorder(this.body, order);
  }

  _counts(byStatus, byCat) {
    const chips = [];
    for (const st of STATUS) {
      const n = byStatus.get(st);
      if (n) chips.push(el("span", { class: `chip st-${st}`, "data-status": st }, `${t(`status.${st}`)} ${n}`));
    }
    chips.push(el("br"));
    for (const [cat, n] of [...byCat.entries()].sort()) {
      chips.push(el("span", { class: "chip cat", "data-cat": cat }, `${t(`cat.${cat}`)} ${n}`));
    }
    const key = chips.map((c) => c.textContent).join("|");
    if (key !== this.countsKey) {
      this.countsKey = key;
      this.countsEl.replaceChildren(...chips);
    }
  }
}

/**
 * The aircraft card: status, operator, mission, plan, category, position, heading, speeds, altitude (AMSL
 * as reported, AGL over the terrain model), report age, coasting, battery, source. ``extra`` holds what was
 * looked up (plan: undefined while loading / null none; terrain_m).
 */
export function aircraftCard({ store, registry }, id, extra = {}) {
  const i = store.slot.get(id);
  if (i === undefined) return el("div", { class: "card" }, el("h3", {}, id), t("card.gone"));
  const row = (k, v, field) => el("tr", { "data-field": field || k }, el("th", {}, t(k)), el("td", {}, v));
  const info = registry.byId.get(id);
  const st = STATUS[store.st[i]];
  const now = Date.now() / 1000;
  const alt = store.alt[i];
  const plan = extra.plan;
  const terrain = extra.terrain_m;
  const agl = terrain === undefined ? t("card.loading")
    : terrain === null ? t("card.no_terrain") : `${Math.round(alt - terrain)} ${t("unit.m")} AGL`;
  const planText = plan === undefined ? t("card.loading") : plan === null ? t("plan.none", { id })
    : `${plan.id} · ${t(`state.${plan.state}`)} · ${fmtTime(plan.start)}–${fmtTime(plan.end)} · ${bandText(plan)}`;
  const src = SOURCES[store.src[i]];
  return el("div", { class: "card", "data-id": id }, el("h3", {}, id, " ", el("span", { class: `chip st-${st}` },
    t(`status.${st}`))),
  el("table", {},
    row("card.operator", info ? info.organisation : t(store.coop[i] ? "card.unregistered" : "card.noncoop_op"), "operator"),
    row("card.category", t(`cat.${registry.category(id, store.coop[i])}`), "category"),
    row("card.mission", plan ? t(`mission.${plan.mission}`) : plan === null ? t("card.none") : t("card.loading"), "mission"),
    row("card.plan", planText, "plan"),
    row("card.position", `${store.lat[i].toFixed(5)}°N ${store.lon[i].toFixed(5)}°E`, "position"),
    row("card.heading", `${Math.round(store.hdg[i])}°`, "heading"),
    row("track.gs", `${store.gs[i].toFixed(1)} ${t("unit.ms")}`, "gs"),
    row("track.vs", `${store.vs[i].toFixed(1)} ${t("unit.ms")}`, "vs"),
    row("card.alt_amsl", `${Math.round(alt)} ${t("unit.m")} AMSL`, "alt_amsl"),
    row("card.alt_agl", agl, "alt_agl"),
    row("card.age", t("card.age_s", { s: Math.max(0, Math.round(now - store.tr[i])), at: fmtClock(store.tr[i]) }), "age"),
    row("card.coasting", t(store.co[i] ? "card.yes" : "card.no"), "coasting"),
    row("card.battery", extra.battery === undefined ? t("card.battery_none") : `${Math.round(extra.battery)}%`, "battery"),
    row("track.src", t(`src.${src}`), "source")));
}
