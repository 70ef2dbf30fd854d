// Which airspace a footprint touches, before filing: the server's /airspace/* (filtered by the
// footprint's bounding box, at the flight's start) refined here by sampling the footprint (its
// vertices and a grid inside it) against each volume, plus /airspace/query at the centre
// (verdict for the category and ceiling, terrain height).

import { api, qs } from "./api.js";
import { bandText, code, currentLang, localTime, t } from "./i18n.js";
import { bbox, positions } from "./draw.js";

function inRing(p, ring) {
  let c = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > p[1] !== yj > p[1] && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) c = !c;
  }
  return c;
}

function inPolygon(p, coords) {
  return inRing(p, coords[0]) && !coords.slice(1).some((hole) => inRing(p, hole));
}

function contains(geometry, p) {
  if (geometry.type === "Polygon") return inPolygon(p, geometry.coordinates);
  if (geometry.type === "MultiPolygon") return geometry.coordinates.some((c) => inPolygon(p, c));
  return false;
}

/** Sample points of a footprint: its vertices, points along its edges, and a 12x12 grid inside. */
export function samples(footprint, halfWidthDeg = 0) {
  const pts = [];
  const line = footprint.type === "LineString" ? footprint.coordinates : footprint.coordinates[0];
  for (let i = 0; i < line.length - 1; i++) {
    for (let k = 0; k < 10; k++) {
      const f = k / 10;
      pts.push([line[i][0] + f * (line[i + 1][0] - line[i][0]), line[i][1] + f * (line[i + 1][1] - line[i][1])]);
    }
  }
  pts.push(line[line.length - 1]);
  if (footprint.type === "Polygon") {
    const [w, s, e, n] = bbox(footprint);
    for (let i = 0; i <= 12; i++) {
      for (let j = 0; j <= 12; j++) {
        const p = [w + ((e - w) * i) / 12, s + ((n - s) * j) / 12];
        if (inPolygon(p, footprint.coordinates)) pts.push(p);
      }
    }
  } else if (halfWidthDeg > 0) {
    const extra = [];
    for (const [x, y] of pts) extra.push([x + halfWidthDeg, y], [x - halfWidthDeg, y], [x, y + halfWidthDeg], [x, y - halfWidthDeg]);
    pts.push(...extra);
  }
  return pts;
}

/** Whether a volume (polygon) and the footprint overlap, judged on samples both ways. */
function touches(volume, footprint, pts) {
  if (pts.some((p) => contains(volume, p))) return true;
  return footprint.type === "Polygon" && positions(volume).some((p) => inPolygon(p, footprint.coordinates));
}

function near(pointGeom, footprint, pts, metres = 300) {
  const [px, py] = pointGeom.coordinates;
  const deg = metres / 111000;
  if (footprint.type === "Polygon" && inPolygon([px, py], footprint.coordinates)) return true;
  return pts.some(([x, y]) => Math.abs(x - px) < deg / Math.cos((py * Math.PI) / 180) && Math.abs(y - py) < deg);
}

function hoursText(schedule) {
  const w = schedule && schedule.weekly && schedule.weekly[0];
  return w ? `${w.start}–${w.end}` : "";
}

/**
 * What the footprint touches at `at`, for `category` up to `ceiling` ({value_m, reference}).
 * Returns {items: [{kind, title, detail, level}], centre: {...} | null}.
 */
export async function lookUp(footprint, { at, halfWidthM = 0, category, floor, ceiling }) {
  const b = bbox(footprint).map((v, i) => v + (i < 2 ? -0.005 : 0.005)).map((v) => v.toFixed(6)).join(",");
  const q = qs({ at, bbox: b });
  const [vols, routes, points, restrictions] = await Promise.all(
    ["volumes", "routes", "points", "restrictions"].map((k) => api(`/airspace/${k}${q}`)));
  const pts = samples(footprint, halfWidthM / 111000);
  let centre = null;
  if (category && ceiling) {
    const c = pts[Math.floor(pts.length / 2)];
    try {
      centre = await api(`/airspace/query${qs({ lon: c[0].toFixed(6), lat: c[1].toFixed(6), alt: ceiling.value_m,
        ref: ceiling.reference, category, at })}`);
    } catch {
      centre = null;
    }
  }
  // heights compared as AMSL with the ground at the centre (approximate: the server decides exactly)
  const ground = centre && Number.isFinite(centre.terrain_m) ? centre.terrain_m : 0;
  const amsl = (v, ref) => (ref === "AGL" ? v + ground : v);
  const overlaps = (p) => !floor || !ceiling || (amsl(p.floor_m, p.floor_ref) < amsl(ceiling.value_m, ceiling.reference)
    && amsl(floor.value_m, floor.reference) < amsl(p.ceiling_m, p.ceiling_ref));
  const items = [];
  const name = (p) => (currentLang() === "en" ? p.name_en || p.name_zh : p.name_zh || p.name_en) || "";
  for (const f of vols.features) {
    const p = f.properties;
    if (!overlaps(p) || !touches(f.geometry, footprint, pts)) continue;
    const band = bandText({ value_m: p.floor_m, reference: p.floor_ref }, { value_m: p.ceiling_m, reference: p.ceiling_ref });
    const cls = currentLang() === "en" ? `class ${p.class}` : `${p.class}类`;
    items.push({ kind: p.kind, level: p.active === false ? "inactive" : p.kind, title: name(p),
      detail: [code("vkind", p.kind), cls, band, p.active === false ? t("touch.inactive") : ""].filter(Boolean).join(" · ") });
  }
  for (const f of restrictions.features) {
    if (!touches(f.geometry, footprint, pts)) continue;
    const p = f.properties;
    items.push({ kind: "restriction", level: "no_fly", title: name(p) || t("touch.restriction"),
      detail: [t("touch.restriction"), localTime(p.start), "–", localTime(p.end)].join(" ") });
  }
  for (const f of routes.features) {
    const hit = f.geometry.coordinates.some((c) => near({ coordinates: c }, footprint, pts, (f.properties.half_width_m || 100) + 200));
    if (!hit) continue;
    const p = f.properties;
    items.push({ kind: "route", level: "route", title: name(p),
      detail: [t("touch.route"), hoursText(p.schedule) && t("touch.hours", { h: hoursText(p.schedule) })].filter(Boolean).join(" · ") });
  }
  for (const f of points.features) {
    if (!near(f.geometry, footprint, pts)) continue;
    const p = f.properties;
    const hours = hoursText(p.schedule || p.opening_hours);
    items.push({ kind: "point", level: "route", title: name(p),
      detail: [t("touch.point"), hours && t("touch.hours", { h: hours }),
        p.capacity_per_15min && t("touch.capacity", { n: p.capacity_per_15min })].filter(Boolean).join(" · ") });
  }
  return { items, centre };
}

const ORDER = { no_fly: 0, restricted: 1, restriction: 1, controlled: 2, route: 3, point: 4, open: 5 };

export function renderTouches(el, result) {
  el.textContent = "";
  const ul = document.createElement("ul");
  const items = [...result.items].sort((a, b) => (ORDER[a.kind] ?? 9) - (ORDER[b.kind] ?? 9));
  for (const it of items) {
    const li = document.createElement("li");
    li.className = `touch level-${it.level}`;
    li.dataset.kind = it.kind;
    const b = document.createElement("b");
    b.textContent = it.title;
    const s = document.createElement("small");
    s.textContent = it.detail;
    li.append(b, s);
    ul.append(li);
  }
  el.append(ul);
  if (result.ground) {
    const g = result.ground;
    const p = document.createElement("p");
    p.className = "hint ground";
    p.textContent = t("touch.ground", { lo: Math.round(g.lo), hi: Math.round(g.hi) })
      + (g.amsl ? t("touch.ground_amsl", { lo: Math.round(g.amsl[0]), hi: Math.round(g.amsl[1]) }) : "");
    el.append(p);
  }
  if (result.centre) {
    const p = document.createElement("p");
    p.className = `hint verdict-${result.centre.verdict}`;
    p.textContent = t("touch.centre", { verdict: t(`query.${result.centre.verdict}`) });
    el.append(p);
    if (result.centre.terrain_m !== null && result.centre.terrain_m !== undefined) {
      const q = document.createElement("p");
      q.className = "hint";
      q.textContent = t("touch.terrain", { m: Math.round(result.centre.terrain_m) });
      el.append(q);
    }
  }
}
