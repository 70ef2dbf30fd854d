// The portal's map (MapLibre, offline): airspace for context, and drawing an operating area
// (polygon, circle) or a route by clicking on the map. No drawing library: a sketch is a list of
// clicked [lon, lat] points; a circle becomes a 64-sided polygon (the API takes Polygon/LineString).

import { t } from "./i18n.js";

const EMPTY = { type: "FeatureCollection", features: [] };
const KIND_COLOURS = ["match", ["get", "kind"], "no_fly", "#e03131", "restricted", "#f76707",
  "controlled", "#1c7ed6", "#40c057"];
const R_EARTH = 6371008.8;

/** [lon, lat] -> local metres around a reference latitude (equirectangular: fine at area scale). */
function toXY([lon, lat], lat0) {
  const k = (Math.PI / 180) * R_EARTH;
  return [lon * k * Math.cos((lat0 * Math.PI) / 180), lat * k];
}

export function circlePolygon([lon, lat], radius, n = 64) {
  const dLat = (radius / R_EARTH) * (180 / Math.PI);
  const dLon = dLat / Math.cos((lat * Math.PI) / 180);
  const ring = [];
  for (let i = 0; i < n; i++) {
    const a = (2 * Math.PI * i) / n;
    ring.push([+(lon + dLon * Math.cos(a)).toFixed(7), +(lat + dLat * Math.sin(a)).toFixed(7)]);
  }
  ring.push(ring[0]);
  return { type: "Polygon", coordinates: [ring] };
}

export function areaKm2(polygon) {
  const ring = polygon.coordinates[0];
  const lat0 = ring[0][1];
  let s = 0;
  for (let i = 0; i < ring.length - 1; i++) {
    const [x1, y1] = toXY(ring[i], lat0);
    const [x2, y2] = toXY(ring[i + 1], lat0);
    s += x1 * y2 - x2 * y1;
  }
  return Math.abs(s) / 2 / 1e6;
}

export function lengthKm(line) {
  let s = 0;
  for (let i = 0; i < line.coordinates.length - 1; i++) {
    const lat0 = line.coordinates[i][1];
    const [x1, y1] = toXY(line.coordinates[i], lat0);
    const [x2, y2] = toXY(line.coordinates[i + 1], lat0);
    s += Math.hypot(x2 - x1, y2 - y1);
  }
  return s / 1000;
}

/** Every position of a geometry (Polygon rings, LineString, Point). */
export function positions(g) {
  if (g.type === "Point") return [g.coordinates];
  if (g.type === "LineString") return g.coordinates;
  if (g.type === "Polygon") return g.coordinates.flat();
  if (g.type === "MultiPolygon") return g.coordinates.flat(2);
  return [];
}

export function bbox(g) {
  const pts = positions(g);
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}

export class PortalMap {
  constructor(container, cfg) {
    this.map = new maplibregl.Map({
      container,
      style: { version: 8, sources: {}, layers: [{ id: "background", type: "background", paint: { "background-color": "#eef1f4" } }] },
      center: cfg.centre, zoom: cfg.zoom, attributionControl: false, fadeDuration: 0,
    });
    this.map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
    this.map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
    this.mode = null;
    this.sketch = [];
    this.footprint = null;
    this.radius = 300;
    this.halfWidth = 50;
    this.listeners = [];
    this.loaded = new Promise((resolve) => this.map.once("load", resolve));
  }

  async init(airspace) {
    await this.loaded;
    const m = this.map;
    const src = (id, data) => m.addSource(id, { type: "geojson", data: data || EMPTY });
    src("context", await fetch("/web/context.geojson").then((r) => r.json()));
    src("volumes", airspace.volumes);
    src("routes", airspace.routes);
    src("points", airspace.points);
    src("restrictions", airspace.restrictions);
    for (const id of ["footprint", "sketch", "preview", "shown", "tracks", "replay"]) src(id);
    m.addLayer({ id: "context-line", type: "line", source: "context", paint: { "line-color": "#868e96", "line-dasharray": [3, 2] } });
    m.addLayer({ id: "volumes-fill", type: "fill", source: "volumes", filter: ["!=", ["get", "kind"], "open"],
      paint: { "fill-color": KIND_COLOURS, "fill-opacity": 0.12 } });
    m.addLayer({ id: "volumes-line", type: "line", source: "volumes", filter: ["!=", ["get", "kind"], "open"],
      paint: { "line-color": KIND_COLOURS, "line-width": 1 } });
    m.addLayer({ id: "restrictions-fill", type: "fill", source: "restrictions", paint: { "fill-color": "#c2255c", "fill-opacity": 0.2 } });
    m.addLayer({ id: "routes-line", type: "line", source: "routes", paint: { "line-color": "#7048e8", "line-width": 2, "line-opacity": 0.6 } });
    m.addLayer({ id: "points-circle", type: "circle", source: "points",
      paint: { "circle-radius": 4, "circle-color": "#7048e8", "circle-stroke-color": "#fff", "circle-stroke-width": 1 } });
    m.addLayer({ id: "shown-fill", type: "fill", source: "shown", filter: ["==", ["geometry-type"], "Polygon"],
      paint: { "fill-color": "#364fc7", "fill-opacity": 0.15 } });
    m.addLayer({ id: "shown-line", type: "line", source: "shown", paint: { "line-color": "#364fc7", "line-width": 2 } });
    m.addLayer({ id: "footprint-fill", type: "fill", source: "footprint", filter: ["==", ["geometry-type"], "Polygon"],
      paint: { "fill-color": "#0b7285", "fill-opacity": 0.25 } });
    m.addLayer({ id: "footprint-corridor", type: "line", source: "footprint", filter: ["==", ["geometry-type"], "LineString"],
      layout: { "line-cap": "round", "line-join": "round" }, paint: { "line-color": "#0b7285", "line-opacity": 0.2 } });
    m.addLayer({ id: "footprint-line", type: "line", source: "footprint", paint: { "line-color": "#0b7285", "line-width": 2.5 } });
    m.addLayer({ id: "preview-line", type: "line", source: "preview",
      paint: { "line-color": "#2b8a3e", "line-width": 2.5, "line-dasharray": [2, 1.5] } });
    m.addLayer({ id: "sketch-line", type: "line", source: "sketch", paint: { "line-color": "#e8590c", "line-width": 2 } });
    m.addLayer({ id: "sketch-points", type: "circle", source: "sketch", filter: ["==", ["geometry-type"], "Point"],
      paint: { "circle-radius": 5, "circle-color": "#e8590c", "circle-stroke-color": "#fff", "circle-stroke-width": 1.5 } });
    m.addLayer({ id: "tracks", type: "circle", source: "tracks",
      paint: { "circle-radius": 6, "circle-color": "#1e9e4a", "circle-stroke-color": "#fff", "circle-stroke-width": 2 } });
    m.addLayer({ id: "replay", type: "circle", source: "replay",
      paint: { "circle-radius": 7, "circle-color": "#e8590c", "circle-stroke-color": "#fff", "circle-stroke-width": 2 } });
    m.on("click", (e) => this.click([+e.lngLat.lng.toFixed(7), +e.lngLat.lat.toFixed(7)]));
    m.on("dblclick", (e) => {
      if (this.mode === "polygon" || this.mode === "route") {
        e.preventDefault();
        this.finish();
      }
    });
  }

  onChange(fn) {
    this.listeners.push(fn);
  }

  start(mode) {
    this.mode = mode;
    this.sketch = [];
    this.map.doubleClickZoom[mode === "circle" ? "enable" : "disable"]();
    this.map.getCanvas().style.cursor = "crosshair";
    this.renderSketch();
  }

  click(p) {
    if (!this.mode) return;
    if (this.mode === "circle") {
      this.sketch = [p];
      this.setFootprint(circlePolygon(p, this.radius), "circle");
      return;
    }
    this.sketch.push(p);
    this.renderSketch();
  }

  /** Finish a polygon (>= 3 points) or a route (>= 2); returns whether a footprint resulted. */
  finish() {
    const pts = this.sketch;
    if (this.mode === "polygon" && pts.length >= 3) {
      this.setFootprint({ type: "Polygon", coordinates: [[...pts, pts[0]]] }, "polygon");
    } else if (this.mode === "route" && pts.length >= 2) {
      this.setFootprint({ type: "LineString", coordinates: pts }, "route");
    } else {
      return false;
    }
    return true;
  }

  setRadius(r) {
    this.radius = r;
    if (this.shape === "circle" && this.sketch.length === 1) this.setFootprint(circlePolygon(this.sketch[0], r), "circle");
  }

  setHalfWidth(w) {
    this.halfWidth = w;
    this.drawWidth();
    this.emit();
  }

  /** A route's corridor drawn at its full width (2 x half-width metres at every zoom, at the route's latitude). */
  drawWidth() {
    const g = this.footprint;
    if (!g || g.type !== "LineString") return;
    const mPerPx0 = 156543.03 * Math.cos((g.coordinates[0][1] * Math.PI) / 180); // metres per pixel at zoom 0
    const px = (z) => (2 * this.halfWidth) / (mPerPx0 / 2 ** z);
    this.map.setPaintProperty("footprint-corridor", "line-width", ["interpolate", ["exponential", 2], ["zoom"], 0, px(0), 22, px(22)]);
  }

  /** Set the footprint from outside (a refiled alternative) or from the sketch. */
  setFootprint(geometry, shape = geometry && geometry.type === "LineString" ? "route" : "polygon") {
    this.footprint = geometry;
    this.shape = geometry ? shape : null;
    if (shape !== "circle") this.sketch = [];
    this.mode = shape === "circle" ? "circle" : null;
    this.map.getCanvas().style.cursor = this.mode ? "crosshair" : "";
    this.map.doubleClickZoom.enable();
    this.map.getSource("footprint").setData(geometry ? { type: "Feature", geometry, properties: {} } : EMPTY);
    this.drawWidth();
    this.renderSketch();
    this.emit();
  }

  clear() {
    this.mode = null;
    this.setFootprint(null, null);
    this.preview(null);
  }

  emit() {
    for (const fn of this.listeners) fn(this.footprint);
  }

  renderSketch() {
    const pts = this.mode === "circle" ? [] : this.sketch;
    const feats = pts.map((p) => ({ type: "Feature", geometry: { type: "Point", coordinates: p }, properties: {} }));
    if (pts.length >= 2) feats.push({ type: "Feature", geometry: { type: "LineString", coordinates: pts }, properties: {} });
    this.map.getSource("sketch").setData({ type: "FeatureCollection", features: feats });
  }

  /** The organisation's aircraft flying now (GET /tracks, GeoJSON points). */
  setTracks(fc) {
    this.map.getSource("tracks").setData(fc);
  }

  /** The replayed aircraft's position ([lon, lat]) on its flown track; null clears it. */
  setReplay(position) {
    this.map.getSource("replay").setData(position
      ? { type: "Feature", geometry: { type: "Point", coordinates: position }, properties: {} } : EMPTY);
  }

  /** A suggested geometry, dashed (an alternative's detour or new location); null clears it. */
  preview(geometry) {
    this.map.getSource("preview").setData(geometry ? { type: "Feature", geometry, properties: {} } : EMPTY);
  }

  /** Show one plan's geometry and fit the view to it. */
  show(geometry) {
    this.map.getSource("shown").setData(geometry ? { type: "Feature", geometry, properties: {} } : EMPTY);
    if (geometry) this.fit(geometry);
  }

  fit(geometry) {
    const [w, s, e, n] = bbox(geometry);
    this.map.fitBounds([[w, s], [e, n]], { padding: 60, maxZoom: 14, duration: 0 });
  }

  /** Fit the view to several geometries (a refused footprint and its suggested alternative). */
  fitAll(geometries) {
    const boxes = geometries.filter(Boolean).map(bbox);
    const w = Math.min(...boxes.map((b) => b[0]));
    const s = Math.min(...boxes.map((b) => b[1]));
    const e = Math.max(...boxes.map((b) => b[2]));
    const n = Math.max(...boxes.map((b) => b[3]));
    this.map.fitBounds([[w, s], [e, n]], { padding: 40, maxZoom: 14, duration: 0 });
  }

  describe() {
    const g = this.footprint;
    if (!g) return t("draw.none");
    if (g.type === "LineString") {
      return t("draw.length", { km: lengthKm(g).toFixed(2), w: Math.round(this.halfWidth * 2) });
    }
    return t("draw.area", { km2: areaKm2(g).toFixed(3) });
  }
}
