// Own alerts in My flights: GET /alerts (the tenancy model: an operator sees the alerts that involve at
// least one of its aircraft; the other party's id stays visible, it is what to avoid), polled while
// the page is visible. Kinds and severities are labelled, never shown as codes.

import { api } from "./api.js";
import { $, el, resetList } from "./dom.js";
import { code, localTime, t } from "./i18n.js";

export class OwnAlerts {
  constructor({ fleet }) {
    this.fleet = fleet;
    this.alerts = [];
  }

  async load() {
    try {
      this.alerts = await api("/alerts");
    } catch {
      return;
    }
    const rank = { alarm: 0, warning: 1, caution: 2 };
    this.alerts.sort((a, b) => (rank[a.severity] ?? 9) - (rank[b.severity] ?? 9) || a.first_seen - b.first_seen);
    this.render();
  }

  render() {
    const ul = $("alert-list");
    if (!resetList(ul, this.alerts, t("alerts.none"))) return;
    const mine = new Set(this.fleet.aircraft.map((a) => a.id));
    for (const a of this.alerts) {
      const li = el("li", `card alert sev-${a.severity}`);
      li.dataset.id = a.id || a.alert_id || "";
      const head = el("div", "row");
      head.append(el("b", "", code("alertkind", a.kind)), el("span", `badge sev-${a.severity}`, code("severity", a.severity)));
      const who = (a.aircraft || []).map((id) => (mine.has(id) ? id : t("alerts.other", { id }))).join(" · ");
      const since = typeof a.first_seen === "number" ? new Date(a.first_seen * 1000).toISOString() : a.first_seen;
      li.append(head, el("small", "", who), el("small", "", t("alerts.since", { t: localTime(since, { seconds: true }) })));
      ul.append(li);
    }
  }

  watch(everyMs = 3000) {
    setInterval(() => document.visibilityState === "visible" && this.load(), everyMs);
  }
}
