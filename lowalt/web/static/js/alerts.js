// The alert panel: grouped by kind (fixed order) with counts, a stable order inside each group
// (severity, then first seen, then id), a filter by kind, acknowledge one or a whole group (centre),
// a selected alert with its detail card (the pair or the volume drawn on the map), a beep and a title
// flash for a new alarm (muteable). Rows are keyed by alert id and updated in place; while the pointer is
// over the list, rows are neither inserted, removed nor moved (a line says how many changes wait).

import { t } from "./i18n.js";
import { el, fmtClock, reorder, setText } from "./dom.js";

export const KIND_ORDER = ["conflict", "unauthorised", "intrusion", "nonconformance", "lost_contact"];
const SEV_RANK = { alarm: 0, warning: 1, caution: 2 };
const MUTE_KEY = "lowalt.mute";
const MAX_PER_GROUP = 50; // rows drawn per kind (the count says how many there are); the DOM stays small

/** The panel's order: severity, then first_seen (oldest first: it has waited longest), then id. */
export function alertOrder(a, b) {
  const s = (SEV_RANK[a.severity] ?? 9) - (SEV_RANK[b.severity] ?? 9);
  if (s) return s;
  const f = (a.first_seen || 0) - (b.first_seen || 0);
  if (f) return f;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** A short beep through WebAudio (no file to load); counts beeps for the tests. */
class Beeper {
  constructor() {
    this.muted = localStorage.getItem(MUTE_KEY) === "1";
    this.count = 0;
    this.ctx = null;
  }

  beep() {
    if (this.muted) return;
    this.count++;
    try {
      this.ctx = this.ctx || new AudioContext();
      const osc = this.ctx.createOscillator();
      const gain = this.ctx.createGain();
      osc.type = "square";
      osc.frequency.value = 880;
      gain.gain.value = 0.08;
      osc.connect(gain).connect(this.ctx.destination);
      const t0 = this.ctx.currentTime;
      osc.start(t0);
      osc.stop(t0 + 0.18);
    } catch {
      /* no audio device: the title flash still tells */
    }
  }

  setMuted(m) {
    this.muted = m;
    localStorage.setItem(MUTE_KEY, m ? "1" : "0");
  }
}

/** Alternate the tab title with a "new alarm" line until the page is looked at (or acknowledged). */
class TitleFlash {
  constructor() {
    this.timer = null;
    this.on = false;
    this.active = false;
    const stop = () => {
      if (!document.hidden) this.stop();
    };
    document.addEventListener("visibilitychange", stop);
    window.addEventListener("focus", stop);
    document.addEventListener("pointerdown", () => this.stop());
  }

  start(text) {
    this.text = text;
    this.active = true;
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.on = !this.on;
      document.title = this.on ? this.text : t("app.title");
    }, 800);
    document.title = this.text;
    this.on = true;
  }

  stop() {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = null;
    this.active = false;
    document.title = t("app.title");
  }
}

export class AlertsPanel {
  constructor(root, { alerts, store, layers, api, canAck, volumeName, onSelectAircraft, onReplay }) {
    this.root = root;
    this.alerts = alerts;
    this.store = store;
    this.layers = layers;
    this.api = api;
    this.canAck = canAck;
    this.volumeName = volumeName;
    this.onSelectAircraft = onSelectAircraft || (() => {});
    this.onReplay = onReplay || (() => {});
    this.countEl = document.getElementById("alert-count");
    this.filterEl = document.getElementById("alert-filter");
    this.cardEl = document.getElementById("alert-card");
    this.holdEl = document.getElementById("alert-hold");
    this.muteEl = document.getElementById("alert-mute");
    this.rows = new Map(); // alert id -> {li, parts}
    this.groups = new Map(); // kind -> {li, count, ack}
    this.seen = new Set(); // alert ids already announced
    this.primed = false;
    this.selected = null;
    this.hover = false;
    this.pending = 0;
    this.beeper = new Beeper();
    this.flash = new TitleFlash();
    this.timer = null;
    this.lastRender = 0;
    this.renderedVersion = -1;

    for (const k of KIND_ORDER) {
      this.filterEl.append(el("option", { value: k, "data-i18n": `kind.${k}` }, t(`kind.${k}`)));
    }
    this.filterEl.onchange = () => this.render(true);
    this.muteEl.onchange = () => this.beeper.setMuted(!this.muteEl.checked);
    this.muteEl.checked = !this.beeper.muted;
    root.addEventListener("pointerenter", () => (this.hover = true));
    root.addEventListener("pointerleave", () => {
      this.hover = false;
      this.render(true);
    });
    this.holdEl.onclick = () => {
      this.hover = false;
      this.render(true);
    };
    setInterval(() => this.tick(), 1000); // count-downs to loss of separation, in place
  }

  /** Ask for a render; at most one per 300 ms however often alerts arrive (one a second above 2,000 alerts:
   * each render groups and sorts them all). */
  request() {
    if (this.timer) return;
    const every = this.alerts.byId.size > 2000 ? 1000 : 300;
    const wait = Math.max(0, every - (performance.now() - this.lastRender));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.render();
    }, wait);
  }

  tick() {
    if (document.hidden) return;
    for (const [id, r] of this.rows) {
      const a = this.alerts.byId.get(id);
      if (a) setText(r.detail, this.detailText(a));
    }
    if (this.selected) this.renderCard();
  }

  detailText(a) {
    const d = a.details || {};
    const now = Date.now() / 1000;
    const parts = [];
    if (a.kind === "conflict") {
      const tin = Math.max(0, (d.t_in ?? 0) - (now - (a.seenAt || now)));
      parts.push(tin > 0 ? t("alert.los_in", { s: Math.round(tin) }) : t("alert.los_now"));
      if (d.d_cpa_m !== undefined) parts.push(t("alert.cpa", { d: Math.round(d.d_cpa_m) }));
      if (d.give_way?.length) parts.push(t("alert.give_way", { ids: d.give_way.join(", ") }));
    }
    if (d.volume) parts.push(t("alert.volume", { v: this.volumeName(d.volume) }));
    if (d.reason) parts.push(t(`reason.${d.reason}`));
    if (a.kind === "lost_contact" && d.last_report_t) {
      parts.push(t("alert.silent", { s: Math.max(0, Math.round(now - d.last_report_t)) }));
    }
    return parts.join(" · ");
  }

  _row(a) {
    const sev = el("span", { class: "sev" });
    const ids = el("span", { class: "ids" });
    const since = el("span", { class: "since" });
    const ackSlot = el("span", { class: "ack-slot" });
    const detail = el("div", { class: "alert-detail" });
    const li = el("li", { "data-alert": a.id, role: "option", onclick: () => this.select(a.id) },
      el("div", { class: "alert-head" }, sev, ids, since, ackSlot), detail);
    return { li, sev, ids, since, ackSlot, detail, acked: null };
  }

  _update(r, a) {
    const cls = `alert sev-${a.severity} kind-${a.kind}${this.selected === a.id ? " selected" : ""}`;
    if (r.li.className !== cls) r.li.className = cls;
    r.li.setAttribute("aria-selected", this.selected === a.id ? "true" : "false");
    setText(r.sev, t(`sev.${a.severity}`));
    setText(r.ids, (a.aircraft || []).join(" ↔ "));
    setText(r.since, fmtClock(a.first_seen));
    setText(r.detail, this.detailText(a));
    const acked = Boolean(a.acknowledged_by);
    const want = acked ? "acked" : this.canAck() ? "ack" : "none";
    if (r.acked !== want) {
      r.acked = want;
      if (want === "ack") {
        r.ackSlot.replaceChildren(el("button", { class: "ack", "data-alert": a.id, onclick: (ev) => {
          ev.stopPropagation();
          this.acknowledge([a.id], ev.target);
        }, "data-i18n": "alerts.ack" }, t("alerts.ack")));
      } else if (want === "acked") {
        r.ackSlot.replaceChildren(el("span", { class: "acked", "data-i18n": "alerts.acked" }, t("alerts.acked")));
      } else r.ackSlot.replaceChildren();
    }
  }

  _group(kind) {
    let g = this.groups.get(kind);
    if (g) return g;
    const count = el("span", { class: "count" });
    const name = el("span", { class: "group-name", "data-i18n": `kind.${kind}` }, t(`kind.${kind}`));
    const ack = el("button", { class: "ack-group", "data-kind": kind, "data-i18n": "alerts.ack_group",
      onclick: (ev) => {
        ev.stopPropagation();
        const ids = [...this.alerts.byId.values()]
          .filter((a) => a.kind === kind && !a.acknowledged_by).map((a) => a.id);
        this.acknowledge(ids, ev.target);
      } }, t("alerts.ack_group"));
    const li = el("li", { class: "group", "data-kind": kind }, name, " ", count, ack);
    g = { li, count, ack };
    this.groups.set(kind, g);
    return g;
  }

  /** Announce alarms not seen before (not those of the first snapshot: they were there already). */
  _announce(list) {
    let fresh = 0;
    for (const a of list) {
      if (this.seen.has(a.id)) continue;
      this.seen.add(a.id);
      if (this.primed && a.severity === "alarm" && !a.acknowledged_by) fresh++;
    }
    if (this.seen.size > 5000) this.seen = new Set(list.map((a) => a.id));
    this.primed = true;
    if (fresh) {
      this.beeper.beep();
      this.flash.start(t("alerts.new_alarm", { n: fresh }));
    }
  }

  render(force = false) {
    if (!force && this.renderedVersion === this.alerts.version) return;
    this.lastRender = performance.now();
    this.renderedVersion = this.alerts.version;
    const all = [...this.alerts.byId.values()];
    this._announce(all);
    if (document.hidden) return;
    setText(this.countEl, all.length);
    const filter = this.filterEl.value;
    const byKind = new Map(KIND_ORDER.map((k) => [k, []]));
    for (const a of all) {
      if (!byKind.has(a.kind)) byKind.set(a.kind, []);
      byKind.get(a.kind).push(a);
    }
    const order = [];
    const live = new Set();
    let pending = 0;
    for (const [kind, list] of byKind) {
      if (!list.length || (filter && filter !== kind)) continue;
      list.sort(alertOrder);
      const g = this._group(kind);
      setText(g.count, list.length);
      const unacked = list.filter((a) => !a.acknowledged_by).length;
      g.ack.hidden = !this.canAck() || unacked < 1;
      order.push(g.li);
      for (const a of list.slice(0, MAX_PER_GROUP)) {
        live.add(a.id);
        let r = this.rows.get(a.id);
        if (!r) {
          if (this.hover) {
            pending++;
            continue;
          }
          r = this._row(a);
          this.rows.set(a.id, r);
        }
        this._update(r, a);
        order.push(r.li);
      }
      if (list.length > MAX_PER_GROUP) {
        if (!g.more) g.more = el("li", { class: "more" });
        setText(g.more, t("alerts.more", { n: list.length - MAX_PER_GROUP }));
        order.push(g.more);
      }
    }
    for (const [id, r] of this.rows) {
      if (live.has(id)) continue;
      if (this.hover) {
        pending++;
        if (!this.alerts.byId.has(id)) r.li.classList.add("cleared");
        continue;
      }
      this.rows.delete(id);
      if (this.selected === id) this.select(null);
    }
    if (this.hover) {
      // hold the structure: keep the rows where they are, only their content changed
      this.pending = pending;
      this.holdEl.hidden = pending === 0;
      setText(this.holdEl, t("alerts.held", { n: pending }));
      return;
    }
    this.pending = 0;
    this.holdEl.hidden = true;
    if (!order.length) order.push(this._empty());
    reorder(this.root, order);
  }

  _empty() {
    if (!this.emptyLi) this.emptyLi = el("li", { class: "empty", "data-i18n": "alerts.none" }, t("alerts.none"));
    return this.emptyLi;
  }

  /** Select an alert (or none): its row marked, its detail card shown, the pair / volume drawn and flown to. */
  select(id) {
    const prev = this.selected;
    this.selected = id;
    for (const pid of [prev, id]) {
      const r = pid && this.rows.get(pid);
      const a = pid && this.alerts.byId.get(pid);
      if (r && a) this._update(r, a);
    }
    this.renderCard();
    const a = id && this.alerts.byId.get(id);
    if (!a) {
      this.layers.setSelection(null);
      return;
    }
    this.layers.setSelection({ aircraft: a.aircraft || [], volume: a.details?.volume || null });
    const pos = (a.aircraft || []).map((x) => this.store.position(x)).filter(Boolean);
    if (pos.length) {
      const lon = pos.reduce((s, p) => s + p[0], 0) / pos.length;
      const lat = pos.reduce((s, p) => s + p[1], 0) / pos.length;
      this.layers.flyTo(lon, lat, 14);
    }
  }

  renderCard() {
    const a = this.selected && this.alerts.byId.get(this.selected);
    if (!a) {
      this.cardEl.hidden = true;
      this.cardEl.replaceChildren();
      return;
    }
    const d = a.details || {};
    const row = (k, v) => el("tr", {}, el("th", {}, t(k)), el("td", {}, v));
    const rows = [
      row("alert.kind", t(`kind.${a.kind}`)),
      row("alert.severity", t(`sev.${a.severity}`)),
      row("alert.state", t(`astate.${a.state || "ongoing"}`)),
      row("alert.first_seen", fmtClock(a.first_seen)),
      row("alert.last_seen", fmtClock(a.last_seen || a.first_seen)),
    ];
    if (a.kind === "conflict") {
      const cats = (d.categories || []).map((c) => t(`sepcat.${c}`)).join(" / ");
      if (cats) rows.push(row("alert.categories", cats));
      if (d.d_cpa_m !== undefined) rows.push(row("alert.cpa_label", `${Math.round(d.d_cpa_m)} ${t("unit.m")}`));
    }
    if (d.volume) rows.push(row("alert.volume_label", this.volumeName(d.volume)));
    if (d.reason) rows.push(row("alert.reason", t(`reason.${d.reason}`)));
    if (d.plan) rows.push(row("alert.plan", d.plan));
    if (a.acknowledged_by) rows.push(row("alerts.acked", `${a.acknowledged_by} ${fmtClock(a.acknowledged_at)}`));
    const ids = (a.aircraft || []).map((x) => el("a", { href: "#", class: "ac-link", "data-id": x, onclick: (ev) => {
      ev.preventDefault();
      this.onSelectAircraft(x);
    } }, x));
    const head = el("h3", {}, t(`kind.${a.kind}`), " ");
    ids.forEach((n, k) => head.append(k ? " ↔ " : "", n));
    // the buttons are made once and kept: the card is refreshed every second, and a button rebuilt under the
    // pointer would lose a click that lands during the refresh
    if (!this.cardParts || !this.cardEl.contains(this.cardParts.body)) {
      const close = el("button", { class: "close", "data-i18n-title": "close", title: t("close"),
        onclick: () => this.select(null) }, "×");
      const replay = el("button", { class: "replay", "data-i18n": "alerts.replay", onclick: () => {
        const sel = this.selected && this.alerts.byId.get(this.selected);
        if (sel) this.onReplay(sel);
      } }, t("alerts.replay"));
      const body = el("div", { class: "alert-card-body" });
      this.cardParts = { body };
      this.cardEl.replaceChildren(close, body, replay);
    }
    this.cardParts.body.replaceChildren(head, el("table", {}, ...rows), el("div", { class: "alert-detail" }, this.detailText(a)));
    this.cardEl.hidden = false;
    this.cardEl.dataset.alert = a.id;
  }

  async acknowledge(ids, button) {
    if (!ids.length) return;
    button.disabled = true;
    try {
      const out = await Promise.all(ids.map((id) => this.api(`/alerts/${encodeURIComponent(id)}/ack`,
        { method: "POST" }).catch(() => null)));
      this.alerts.applyDiff({ updated: out.filter(Boolean) });
      this.flash.stop();
      this.render(true);
    } finally {
      button.disabled = false;
    }
  }
}

