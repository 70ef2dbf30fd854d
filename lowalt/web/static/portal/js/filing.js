// File a plan: the form (aircraft, mission, band with reference, Beijing-time window), the airspace the
// drawn footprint touches, POST /plans, and the decision: verdict, pathway, reasons with articles,
// and each alternative as a one-click refile. A referred plan updates live (main.js feeds /ws/plans).

import { api } from "./api.js";
import { lookUp, renderTouches, samples } from "./airspace.js";
import { $, el } from "./dom.js";
import { circlePolygon } from "./draw.js";
import { bandText, code, currentLang, fillSelect, localTime, message, t } from "./i18n.js";
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
  constructor({ map, fleet, report, onFiled, terrain }) {
    this.map = map;
    this.terrain = terrain; // the map's terrain grid (/web/config): the ground under the area, roughly
    this.fleet = fleet;
    this.report = report;
    this.onFiled = onFiled;
    this.plan = null;
    this.body = null;
    this.note = null; // [key, {vars}] of a line shown over the decision, translated when drawn
    this.lookupSeq = 0;
    this.routes = [];
    this.points = [];
    this.published = null; // {kind: "route" | "point", feature}: filed with its corridor id / as take-off point
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

  /** The published routes and take-off points (GeoJSON features from /airspace/routes and /points). */
  setPublished(routes, points) {
    this.routes = routes.features;
    this.points = points.features;
    this.renderPublished();
    $("f-published").onchange = () => this.usePublished($("f-published").value);
  }

  renderPublished() {
    const sel = $("f-published");
    const keep = sel.value;
    const name = (p) => (currentLang() === "en" ? p.name_en || p.name_zh : p.name_zh || p.name_en) || p.id;
    sel.textContent = "";
    sel.append(new Option(t("file.published_none"), ""));
    for (const [key, list, kind] of [["file.routes", this.routes, "route"], ["file.points", this.points, "point"]]) {
      const g = document.createElement("optgroup");
      g.label = t(key);
      for (const f of list) g.append(new Option(name(f.properties), `${kind}:${f.properties.id}`));
      sel.append(g);
    }
    sel.value = keep;
    const pub = this.published;
    if (!pub) return ($("published-hint").textContent = "");
    const p = pub.feature.properties;
    const hours = p.schedule || p.opening_hours;
    const w = hours && hours.weekly && hours.weekly[0];
    const vars = { name: name(p), hours: w ? t("file.pub_hours", { h: `${w.start}–${w.end}` }) : "",
      cats: (p.allowed_categories || []).map((c) => code("category", c)).join(currentLang() === "en" ? ", " : "、") };
    $("published-hint").textContent = pub.kind === "route"
      ? t("file.pub_route", { ...vars, w: Math.round(p.half_width_m * 2),
        band: bandText({ value_m: p.floor_m, reference: p.floor_ref }, { value_m: p.ceiling_m, reference: p.ceiling_ref }) })
      : t("file.pub_point", { ...vars, r: Number($("radius").value), n: p.capacity_per_15min ?? "—" });
  }

  /** Use a published route (its line, half-width and band; filed with its corridor id) or take-off point
   * (a circle of the radius given around it, taking off and landing there); "" goes back to drawing. */
  usePublished(value) {
    const [kind, id] = value.split(/:(.*)/s);
    const feature = (kind === "route" ? this.routes : this.points).find((f) => f.properties.id === id);
    if (!feature) return this.clearPublished();
    const p = feature.properties;
    if (kind === "route") {
      this.map.halfWidth = p.half_width_m;
      $("half-width").value = String(p.half_width_m);
      $("f-floor").value = String(p.floor_m);
      $("f-ceiling").value = String(p.ceiling_m);
      $("f-ref").value = p.ceiling_ref;
      this.published = { kind, feature };
      this.map.setFootprint(feature.geometry, "route");
    } else {
      this.published = { kind, feature };
      this.map.setFootprint(circlePolygon(feature.geometry.coordinates, Number($("radius").value)), "polygon");
    }
    $("radius-row").hidden = kind !== "point";
    $("width-row").hidden = kind !== "route";
    this.map.fit(this.map.footprint);
    this.renderPublished();
  }

  clearPublished() {
    this.published = null;
    $("f-published").value = "";
    this.renderPublished();
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
      renderTouches(el, { ...result, ground: this.groundUnder(fp) });
      el.dataset.state = "ready";
    } catch (e) {
      if (seq === this.lookupSeq) this.report(el, e, "error");
    }
  }

  /** [lowest, highest] ground (m AMSL) under the footprint from the terrain grid, and the band over it
   * as AMSL when it is given as AGL (a hint: the server decides on its finer terrain model). */
  groundUnder(fp) {
    if (!this.terrain || !this.terrain.available) return null;
    const hs = samples(fp, fp.type === "LineString" ? this.map.halfWidth / 111000 : 0).map(([x, y]) => this.terrain.at(x, y));
    const lo = Math.min(...hs);
    const hi = Math.max(...hs);
    const b = this.band();
    const agl = b.ceiling.reference === "AGL";
    return { lo, hi, amsl: agl ? [b.floor.value_m + lo, b.ceiling.value_m + hi] : null };
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
    const pub = this.published;
    if (pub && pub.kind === "route") body.corridor_id = pub.feature.properties.id;
    if (pub && pub.kind === "point") body.takeoff = body.landing = { type: "Point", coordinates: pub.feature.geometry.coordinates };
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
    if (body.half_width_m) this.map.setHalfWidth(body.half_width_m);
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
