// File a plan: the form (aircraft, mission, band with reference, Beijing-time window), the airspace the
// drawn footprint touches, POST /plans, and the decision: verdict, pathway, reasons with articles,
// and each alternative as a one-click refile. A referred plan updates live (main.js feeds /ws/plans).

import { api } from "./api.js";
import { lookUp, renderTouches } from "./airspace.js";
import { $, el } from "./dom.js";
import { code, currentLang, fillSelect, localTime, message, t } from "./i18n.js";
const pad = (n) => String(n).padStart(2, "0");

/** Today's date and the time in Beijing, as the inputs want them ("YYYY-MM-DD", "HH:MM"). */
export function beijingParts(date) {
  const p = Object.fromEntries(new Intl.DateTimeFormat("en-GB", { timeZone: "Asia/Shanghai", year: "numeric",
    month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
    .formatToParts(date).map((x) => [x.type, x.value]));
  return { date: `${p.year}-${p.month}-${p.day}`, time: `${p.hour}:${p.minute}` };
}

function nextDay(d) {
  const x = new Date(`${d}T00:00:00Z`);
  x.setUTCDate(x.getUTCDate() + 1);
  return x.toISOString().slice(0, 10);
}

/** The window from the inputs as ISO 8601 with +08:00 (an end not after the start is the next day). */
export function windowFromInputs(date, start, end) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || !/^\d{2}:\d{2}$/.test(start) || !/^\d{2}:\d{2}$/.test(end)) return null;
  return { start: `${date}T${start}:00+08:00`, end: `${end <= start ? nextDay(date) : date}T${end}:00+08:00` };
}

/** A filed body changed as an alternative suggests (time, band, detour, location). */
export function applyAlternative(body, alt) {
  const b = JSON.parse(JSON.stringify(body));
  for (const k of ["start", "end", "geometry", "takeoff", "landing", "half_width_m"]) if (alt[k] !== undefined) b[k] = alt[k];
  if (alt.floor) b.altitude.floor = alt.floor;
  if (alt.ceiling) b.altitude.ceiling = alt.ceiling;
  return b;
}

const uuid = () => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`);

export class Filing {
  constructor({ map, fleet, report, onFiled }) {
    this.map = map;
    this.fleet = fleet;
    this.report = report;
    this.onFiled = onFiled;
    this.plan = null;
    this.body = null;
    this.note = null; // [key, {vars}] of a line shown over the decision, translated when drawn
    this.lookupSeq = 0;
    fillSelect($("f-mission"), "mission");
    $("f-mission").value = "inspection";
    $("f-pilot").value = localStorage.getItem("lowalt.portal.pilot") || "";
    this.defaultWindow();
    for (const id of ["f-aircraft", "f-floor", "f-ceiling", "f-ref", "f-date", "f-start", "f-end"]) $(id).addEventListener("change", () => this.refreshTouches());
    $("f-submit").onclick = () => this.submit();
    map.onChange(() => this.refreshTouches());
  }

  defaultWindow() {
    const start = new Date(Math.ceil((Date.now() + 20 * 60000) / 300000) * 300000);
    const s = beijingParts(start);
    $("f-date").value = s.date;
    $("f-start").value = s.time;
    $("f-end").value = beijingParts(new Date(start.getTime() + 30 * 60000)).time;
  }

  setAircraft(list) {
    const sel = $("f-aircraft");
    const keep = sel.value;
    sel.textContent = "";
    for (const a of list) sel.append(new Option(`${a.id} · ${code("category", a.category)}`, a.id));
    if (keep && list.some((a) => a.id === keep)) sel.value = keep;
  }

  band() {
    const ref = $("f-ref").value;
    return { floor: { value_m: Number($("f-floor").value), reference: ref },
      ceiling: { value_m: Number($("f-ceiling").value), reference: ref } };
  }

  async refreshTouches() {
    const el = $("touches");
    const fp = this.map.footprint;
    $("footprint").textContent = this.map.describe();
    if (!fp) {
      el.textContent = t("touch.none");
      return;
    }
    const seq = ++this.lookupSeq;
    el.dataset.state = "loading";
    const w = windowFromInputs($("f-date").value, $("f-start").value, $("f-end").value);
    const aircraft = this.fleet.aircraft.find((a) => a.id === $("f-aircraft").value);
    try {
      const result = await lookUp(fp, { at: w ? new Date(w.start).toISOString() : undefined,
        halfWidthM: fp.type === "LineString" ? this.map.halfWidth : 0,
        category: aircraft && aircraft.category, ...this.band() });
      if (seq !== this.lookupSeq) return;
      renderTouches(el, result);
      el.dataset.state = "ready";
    } catch (e) {
      if (seq === this.lookupSeq) this.report(el, e, "error");
    }
  }

  /** The request body from the form, or a message key saying what is missing. */
  buildBody() {
    const fp = this.map.footprint;
    if (!fp) return "file.need_area";
    const aircraft = this.fleet.aircraft.find((a) => a.id === $("f-aircraft").value);
    if (!aircraft) return "file.need_aircraft";
    const pilot = $("f-pilot").value.trim();
    if (!pilot) return "file.need_pilot";
    const w = windowFromInputs($("f-date").value, $("f-start").value, $("f-end").value);
    if (!w) return "file.bad_window";
    const body = { aircraft_id: aircraft.id, category: aircraft.category, pilot, mission: $("f-mission").value,
      geometry: fp, altitude: this.band(), start: w.start, end: w.end };
    if (fp.type === "LineString") body.half_width_m = this.map.halfWidth;
    const lic = $("f-licence").value.trim();
    if (lic) body.licence_id = lic;
    return body;
  }

  async submit() {
    const body = this.buildBody();
    if (typeof body === "string") return this.report($("file-msg"), t(body), "error");
    localStorage.setItem("lowalt.portal.pilot", body.pilot);
    await this.file(body);
  }

  async file(body, note = null) {
    this.report($("file-msg"), t("file.sending"), "info");
    $("f-submit").disabled = true;
    try {
      const plan = await api("/plans", { method: "POST", body, headers: { "Idempotency-Key": uuid() } });
      this.body = body;
      this.note = note;
      this.report($("file-msg"), "", "info");
      this.show(plan);
      this.onFiled(plan);
    } catch (e) {
      this.report($("file-msg"), e, "error");
    } finally {
      $("f-submit").disabled = false;
    }
  }

  /** Refile a body (by default the last one filed) as the alternative suggests, and put the changes into
   * the form and map. */
  async refile(alt, from = this.body) {
    const body = applyAlternative(from, alt);
    this.map.preview(null);
    this.map.setFootprint(body.geometry);
    if (body.half_width_m) this.map.halfWidth = body.half_width_m;
    $("f-floor").value = body.altitude.floor.value_m;
    $("f-ceiling").value = body.altitude.ceiling.value_m;
    $("f-ref").value = body.altitude.ceiling.reference;
    const s = beijingParts(new Date(body.start));
    $("f-date").value = s.date;
    $("f-start").value = s.time;
    $("f-end").value = beijingParts(new Date(body.end)).time;
    await this.file(body, ["file.refiled", {}]);
  }

  /** A plan event from /ws/plans: re-read the plan shown if it is the one that changed. */
  async onEvent(ev) {
    if (!this.plan || ev.plan_id !== this.plan.id) return;
    const was = this.plan.state;
    const plan = await api(`/plans/${encodeURIComponent(this.plan.id)}`);
    if (was === "referred" && plan.state !== "referred") this.note = ["dec.updated", { state: plan.state }];
    this.show(plan);
  }

  rerender() {
    if (this.plan) this.show(this.plan);
  }

  show(plan) {
    this.plan = plan;
    const d = plan.decision || {};
    const box = $("decision");
    box.hidden = false;
    box.textContent = "";
    box.dataset.state = plan.state;
    box.dataset.planId = plan.id;
    box.append(el("h2", "", t("dec.title")));
    const head = el("div", `verdict verdict-${plan.state}`);
    head.append(el("b", "state", code("state", plan.state)));
    head.append(el("small", "", `${plan.aircraft_id} · ${localTime(plan.start)}–${localTime(plan.end, { date: false })}`));
    box.append(head);
    if (this.note) {
      const [key, vars] = this.note;
      box.append(el("p", "note", t(key, vars.state ? { state: code("state", vars.state) } : vars)));
    }
    if (d.pathway) box.append(el("p", "pathway", t("dec.pathway", { p: code("pathway", d.pathway) })));
    if (plan.decide_by || d.decide_by) box.append(el("p", "decide-by", t("dec.decide_by", { t: localTime(plan.decide_by || d.decide_by) })));
    if (plan.state === "referred") box.append(el("p", "waiting", t("dec.waiting")));
    const reasons = d.reasons || [];
    box.append(el("h3", "", t("dec.reasons")));
    const ul = el("ul", "reasons");
    if (!reasons.length) ul.append(el("li", "ok", t("dec.no_reasons")));
    for (const r of reasons) {
      const li = el("li", `reason outcome-${r.outcome}`);
      li.append(el("span", "", message(r)));
      const article = r.details && r.details.article;
      if (article) li.append(el("small", "article", t("dec.article", { a: article })));
      ul.append(li);
    }
    box.append(ul);
    const alts = d.alternatives || (d.withdrawn && d.withdrawn.alternatives) || [];
    if (alts.length && ["rejected", "referred", "withdrawn"].includes(plan.state)) {
      box.append(el("h3", "", t("dec.alternatives")));
      const al = el("ul", "alternatives");
      alts.forEach((a, i) => {
        const li = el("li", `alternative kind-${a.kind}`);
        li.append(el("b", "", code("alt", a.kind)), el("span", "", message(a)));
        const btn = el("button", "primary refile", t("dec.refile"));
        btn.type = "button";
        btn.dataset.index = String(i);
        btn.onclick = () => this.refile(a);
        li.onmouseenter = () => a.geometry && this.map.preview(a.geometry);
        li.append(btn);
        al.append(li);
      });
      box.append(al);
      const firstGeom = alts.find((a) => a.geometry);
      this.map.preview(firstGeom ? firstGeom.geometry : null);
      if (firstGeom) this.map.fitAll([plan.geometry, firstGeom.geometry]);
    } else {
      this.map.preview(null);
    }
    const others = (d.pathways || []).filter((p) => !p.applied);
    if (others.length) {
      const det = el("details", "pathways");
      det.append(el("summary", "", t("dec.pathways")));
      const pl = el("ul", "");
      const sep = currentLang() === "en" ? ": " : "：";
      for (const p of others) pl.append(el("li", "", `${code("pathway", p.pathway)}${sep}${message(p)}`));
      det.append(pl);
      box.append(det);
    }
    box.scrollIntoView({ block: "nearest" });
  }
}
