// Announced weather warnings and temporary restrictions that touch the organisation's approved or
// active plans, as notifications before anything is withdrawn (the server withdraws a plan only when
// a warning applies to its category, e.g. wind above its limit, and says so over /ws/plans; this
// tells the operator of the rest). Each offers "after it ends" as a one-click refile. Overlap is
// judged on the plan's bounding box against the area's (a warning without an area covers the whole
// service area) and on the time windows: a hint to look, not a decision (the server decides on refiling).

import { api, qs } from "./api.js";
import { bbox } from "./draw.js";
import { codePair, localTime } from "./i18n.js";

const overlapsBox = (a, b) => a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3];
const overlapsTime = (s1, e1, s2, e2) => new Date(s1) < new Date(e2) && new Date(s2) < new Date(e1);

/** The same plan moved to start at `after` (rounded up to 5 minutes), as a time alternative. */
export function afterAlternative(plan, after, what) {
  const step = 5 * 60000;
  const start = new Date(Math.ceil(new Date(after).getTime() / step) * step);
  const end = new Date(start.getTime() + (new Date(plan.end) - new Date(plan.start)));
  const when = `${localTime(start.toISOString())}–${localTime(end.toISOString(), { date: false })}`;
  return { kind: "time", start: start.toISOString(), end: end.toISOString(),
    message_zh: `改在${what[0]}结束后：${when}（北京时间）`, message_en: `after the ${what[1]} ends: ${when} (Beijing time)` };
}

/** Which (source, plan) pairs overlap: sources are {id, kind, start, end, area|null, label: [zh, en]}. */
export function affected(plans, sources) {
  const out = [];
  for (const p of plans) {
    const pb = bbox(p.geometry);
    for (const s of sources) {
      if (!overlapsTime(p.start, p.end, s.start, s.end)) continue;
      if (s.area && !overlapsBox(pb, bbox(s.area))) continue;
      out.push({ plan: p, source: s });
    }
  }
  return out;
}

export class Announcements {
  constructor({ notices }) {
    this.notices = notices;
    this.seen = new Set();
  }

  async sources() {
    const [warnings, restrictions] = await Promise.all([api("/weather/warnings"),
      api(`/airspace/restrictions${qs({ all: "true" })}`)]);
    return [
      ...warnings.map((w) => {
        const [zh, en] = codePair("weather", w.kind);
        return { id: `w:${w.id}`, kind: "warning", start: w.start, end: w.end, area: w.area,
          label: [`${zh}预警`, `${en} warning`] };
      }),
      ...restrictions.features.map((f) => {
        const [zh, en] = codePair("restriction", f.properties.reason);
        return { id: `r:${f.properties.id}`, kind: "restriction", start: f.properties.start, end: f.properties.end,
          area: f.geometry, label: [`临时管制（${zh}）`, `temporary restriction (${en})`] };
      }),
    ];
  }

  /** Look now: a notice for each new (warning or restriction, own approved/active plan) overlap. */
  async check() {
    let plans;
    let sources;
    try {
      [plans, sources] = await Promise.all([
        Promise.all(["approved", "active"].map((s) => api(`/plans${qs({ state: s, limit: 200 })}`))).then((x) => x.flat()),
        this.sources()]);
    } catch {
      return;
    }
    for (const { plan, source } of affected(plans, sources)) {
      const key = `${source.id}|${plan.id}`;
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      const span = `${localTime(source.start)}–${localTime(source.end)}`;
      const details = {
        message_zh: `${source.label[0]}（${span}，北京时间）与此计划的区域和时段重叠；计划仍有效，请留意或改期`,
        message_en: `A ${source.label[1]} (${span} Beijing time) overlaps this plan's area and window; the plan stands for now: watch it, or move it`,
        alternatives: [afterAlternative(plan, source.end, [source.kind === "warning" ? "预警" : "管制", source.kind])],
      };
      await this.notices.add({ type: "plan_announced", plan_id: plan.id, to_state: plan.state, details }, plan);
    }
  }

  watch(everyMs = 30000) {
    setInterval(() => document.visibilityState === "visible" && this.check(), everyMs);
  }
}
