// Notifications: what /ws/plans says about the organisation's plans after filing — withdrawn (a
// weather warning, a restriction, an emergency flight), suspended back to the centre, at risk, or an
// advisory over a flight in progress — each with its message and, when offered, the alternatives as
// one-click refiles (the plan as filed, changed as the alternative suggests). announce.js adds notices
// of its own (warnings and restrictions only announced) through add().

import { api } from "./api.js";
import { $, el } from "./dom.js";
import { code, currentLang, message, t } from "./i18n.js";

const NOTIFY = new Set(["plan_at_risk", "plan_advisory"]);

/** The POST /plans body that files this plan again as it was filed. */
export function planToBody(p) {
  const b = { aircraft_id: p.aircraft_id, category: p.category, pilot: p.pilot, mission: p.mission,
    geometry: p.geometry, altitude: p.altitude, start: p.start, end: p.end, takeoff: p.takeoff, landing: p.landing };
  if (p.geometry.type === "LineString") b.half_width_m = p.half_width_m;
  if (p.licence_id) b.licence_id = p.licence_id;
  if (p.flags && p.flags.length) b.flags = p.flags;
  if (p.corridor_id) b.corridor_id = p.corridor_id;
  if (p.urgent) b.urgent = true;
  return b;
}

export class Notices {
  constructor({ refile }) {
    this.refile = refile;
    this.items = [];
  }

  /** Whether an event is news to the operator (not the echo of its own filing or action). */
  static wanted(ev) {
    if (NOTIFY.has(ev.type)) return true;
    return ev.type === "plan_state" && (ev.to_state === "withdrawn" || (ev.from_state === "approved" && ev.to_state === "referred"));
  }

  async onEvent(ev) {
    if (!Notices.wanted(ev)) return;
    let plan = null;
    try {
      plan = await api(`/plans/${encodeURIComponent(ev.plan_id)}`);
    } catch {
      plan = null;
    }
    this.items.unshift({ ev, plan });
    this.render();
  }

  /** A notice made here (an announced warning or restriction), with the plan it concerns. */
  add(ev, plan) {
    this.items.unshift({ ev, plan });
    this.render();
  }

  render() {
    const box = $("notices");
    box.textContent = "";
    box.hidden = !this.items.length;
    this.items.forEach(({ ev, plan }, n) => {
      const d = ev.details || {};
      const li = el("li", `notice type-${ev.type}`);
      li.dataset.planId = ev.plan_id;
      const head = el("div", "row");
      head.append(el("b", "", plan ? `${plan.aircraft_id} · ${code("mission", plan.mission)}` : t("notice.plan")),
        el("span", `badge state-${ev.to_state}`, code("state", ev.to_state)));
      li.append(head, el("span", "", d.message_zh || d.message_en ? message(d) : t(`notice.${ev.type}`)));
      for (const [i, alt] of (plan ? d.alternatives || [] : []).entries()) {
        const row = el("div", "alternative");
        row.append(el("small", "", `${code("alt", alt.kind)}${currentLang() === "en" ? ": " : "："}${message(alt)}`));
        const b = el("button", "primary refile", t("dec.refile"));
        b.type = "button";
        b.dataset.index = String(i);
        b.onclick = async () => {
          this.items.splice(n, 1);
          this.render();
          await this.refile(planToBody(plan), alt);
        };
        row.append(b);
        li.append(row);
      }
      const close = el("button", "dismiss", t("notice.dismiss"));
      close.type = "button";
      close.onclick = () => {
        this.items.splice(n, 1);
        this.render();
      };
      li.append(close);
      box.append(li);
    });
  }
}
