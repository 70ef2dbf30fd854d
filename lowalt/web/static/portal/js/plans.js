// My flights: the organisation's plans (GET /plans with state and date filters), activate / complete /
// cancel, show on the map, export one plan as GeoJSON (a Feature with the plan's properties).

import { api, qs } from "./api.js";
import { $, el, resetList } from "./dom.js";
import { bandText, code, fillSelect, localTime, t } from "./i18n.js";
const ACTIONS = { approved: ["activate", "cancel"], referred: ["cancel"], active: ["complete", "cancel"] };

/** A plan as a GeoJSON Feature (RFC 7946): its footprint with what was filed and decided. */
export function planFeature(plan) {
  const { geometry, decision, ...props } = plan;
  return { type: "Feature", id: plan.id, geometry,
    properties: { ...props, verdict: decision && decision.verdict, pathway: decision && decision.pathway,
      reasons: ((decision && decision.reasons) || []).map((r) => ({ code: r.code, message_zh: r.message_zh, message_en: r.message_en })) } };
}

export class Plans {
  constructor({ map, report }) {
    this.map = map;
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
    const blob = new Blob([JSON.stringify(planFeature(plan), null, 1)], { type: "application/geo+json" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `plan-${plan.aircraft_id}-${plan.id.slice(0, 8)}.geojson`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
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
      li.append(row, meta, acts);
      ul.append(li);
    }
  }
}
