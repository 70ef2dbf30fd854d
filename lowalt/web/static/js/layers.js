// MapLibre sources and layers. The aircraft themselves are drawn by the WebGL layer (tracks-gl.js), updated on
// each feed message's arrival. For labels and queries, dirty track rows become one
// GeoJSONSource.updateData({add, remove}) per animation frame, never more than one in flight per source (the
// next frame picks up whatever arrived meanwhile), nothing while the page is hidden. Trails are bounded
// LineStrings refreshed every 2 s; alert rings and conflict lines once a second (500 at most). Static layers
// (airspace) use setData.

import { STATUS } from "./state.js";
import { projectGeoJSON } from "./gcj02.js";
import { Terrain, withBands } from "./terrain.js";
import { setBasemapLanguage } from "./basemap.js";
import { EMPTY, addContextAndBasemap, airspaceLayers, setAirspaceLanguage } from "./airspace-map.js";
import { TracksGL } from "./tracks-gl.js";

export const STATUS_COLOURS = {
  conforming: "#1e9e4a",
  deviating: "#f08c00",
  unauthorised: "#e03131",
  atc: "#0c8599",
  noncoop: "#7b2ff7",
  lost: "#868e96",
  unknown: "#1c7ed6",
};
export const SEVERITY_COLOURS = { alarm: "#e03131", warning: "#f08c00", caution: "#fab005" };
const MAX_DRAWN_ALERTS = 500;
const ARROW_ZOOM = 9;
const TRAIL_PERIOD_MS = 2000;
const GEOJSON_PERIOD_MS = 1000; // with more than GEOJSON_SLOW_ABOVE aircraft: the GeoJSON track source (labels,
const GEOJSON_SLOW_ABOVE = 2000; // picking, rings) is updated at most once a second; positions are drawn by tracks-gl
// ... and then carries only the aircraft in view, when they are at most VIEW_MAX (none when more): labels and
// trails of thousands of aircraft at once are unreadable, and re-tiling them (MapLibre's worker) and placing
// their symbols (main thread) was most of the page's script work at 10,000 aircraft; clicks and hover then
// hit-test the WebGL layer's arrays (pick)
const VIEW_MAX = 2000;
const NO_IDS = new Set();

export const GROUPS = {
  basemap: ["basemap"],
  volumes: ["volumes-fill", "volumes-line", "volumes-line-inactive", "volumes-label"],
  points: ["points-circle", "points-label"],
  routes: ["routes-band", "routes-line", "routes-line-inactive", "routes-label"],
  restrictions: ["restrictions-fill", "restrictions-line", "restrictions-label"],
  tracks: ["tracks-gl", "tracks", "tracks-dot", "alert-rings", "conflict-lines", "conflict-labels"],
  trails: ["trails"],
  labels: ["tracks-label"],
};

/** Latencies (ms) in a fixed ring: bounded however long the page runs. */
export class Perf {
  constructor(cap = 20000, leaf = 0) {
    this.buf = new Float64Array(cap);
    this.n = 0;
    this.total = 0;
    this.flushes = 0;
    this.rows = 0;
    this.worker = leaf ? null : new Perf(Math.min(cap, 4096), 1);
    this.drawn = leaf ? null : new Perf(cap, 1); // receipt -> drawn (the source update is this ring)
    // the message's "t" (built on the server, epoch) -> source update, on the wall clock: also counts the wait
    // before onmessage runs (a busy main thread delays the receipt clock itself)
    this.fromServer = leaf ? null : new Perf(cap, 1);
  }

  record(ms) {
    this.buf[this.n % this.buf.length] = ms;
    this.n++;
    this.total++;
  }

  reset() {
    this.n = 0;
    this.flushes = 0;
    this.rows = 0;
    if (this.worker) this.worker.reset();
    if (this.drawn) this.drawn.reset();
    if (this.fromServer) this.fromServer.reset();
    if (this.geojson) this.geojson.reset();
  }

  stats() {
    const k = Math.min(this.n, this.buf.length);
    const a = Array.from(this.buf.subarray(0, k)).sort((x, y) => x - y);
    const q = (p) => (k ? a[Math.min(k - 1, Math.floor(p * (k - 1) + 0.5))] : NaN);
    return { n: k, total: this.total, p50: q(0.5), p95: q(0.95), p99: q(0.99), max: k ? a[k - 1] : NaN,
      flushes: this.flushes, rows: this.rows };
  }
}

/** An SDF arrow (pointing north) for icon-rotate by heading, coloured per feature with icon-color. */
function arrowImage(size = 48) {
  const poly = [[0.5, 0.06], [0.86, 0.9], [0.5, 0.7], [0.14, 0.9]].map(([x, y]) => [x * size, y * size]);
  const data = new Uint8Array(size * size * 4);
  const inside = (x, y) => {
    let c = false;
    for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
      const [xi, yi] = poly[i];
      const [xj, yj] = poly[j];
      if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) c = !c;
    }
    return c;
  };
  const segDist = (px, py, [ax, ay], [bx, by]) => {
    const dx = bx - ax;
    const dy = by - ay;
    const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
    return Math.hypot(px - ax - t * dx, py - ay - t * dy);
  };
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const px = x + 0.5;
      const py = y + 0.5;
      let d = Infinity;
      for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) d = Math.min(d, segDist(px, py, poly[j], poly[i]));
      const signed = inside(px, py) ? -d : d;
      // TinySDF convention (as MapLibre's shaders expect): edge at 192, 8 px of falloff
      const v = Math.max(0, Math.min(255, Math.round(191.25 - 31.875 * signed)));
      data.set([255, 255, 255, v], (y * size + x) * 4);
    }
  }
  return { width: size, height: size, data };
}

export { renderGlyphsLocally } from "./airspace-map.js";

export class MapLayers {
  /**
   * opts.thinAbove / opts.viewMax: GEOJSON_SLOW_ABOVE and VIEW_MAX (tests set them low: ?thin_above=&view_max=);
   * opts.denseMax: dots instead of arrows above this many aircraft in view (VIEW_MAX; the bench: ?dense_max=).
   */
  constructor(map, store, alerts, proj, identity, perf,
    { thinAbove = GEOJSON_SLOW_ABOVE, viewMax = VIEW_MAX, denseMax = viewMax } = {}) {
    this.thinAbove = thinAbove;
    this.viewMax = viewMax;
    this.denseMax = denseMax;
    this.map = map;
    this.store = store;
    this.alerts = alerts;
    this.proj = proj;
    this.identity = identity;
    this.perf = perf; // receipt -> tracks-gl data updated; perf.drawn: -> drawn; perf.geojson: -> GeoJSON source
    perf.geojson = perf.geojson || new Perf(20000, 1);
    this.geoPerf = perf.geojson;
    this.geojsonAt = -Infinity;
    this.pendingRecv = [];
    this.inFlight = null;
    this.needsFull = true;
    this.scheduled = false;
    this.trailsDirty = new Set();
    this.trailsRemoved = new Set();
    this.trailsAt = 0;
    this.trailTimer = null;
    this.geoIds = new Set(); // with more than GEOJSON_SLOW_ABOVE aircraft: the ids in the GeoJSON source
    this.trailIds = new Set(); // ... and in the trails source
    this.wantedTrails = null;
    this.viewChanged = false;
    this.thinActive = false; // the sources are thinned (set in frame(); a change rebuilds both)
    this.trailsReset = false;
    this.alertsVersion = -1;
    this.alertsAt = 0;
    this.name = "name_zh";
    this.base = {};
    this.alt = [0, 3000];
    this.raw = {};
    this.selection = null;
    this.terrain = new Terrain(null);
    this.datum = "amsl";
  }

  /** The feature of a volume or restriction by id (as the API sent it), or null. */
  volumeFeature(id) {
    for (const src of ["restrictions", "volumes"]) {
      const f = this.raw[src]?.features?.find((x) => x.properties?.id === id);
      if (f) return f;
    }
    return null;
  }

  /** Highlight an alert's aircraft (ringed, a pair joined) and its volume; null clears. Follows the aircraft. */
  setSelection(sel) {
    this.selection = sel;
    this._drawSelection();
  }

  _drawSelection() {
    const sel = this.selection;
    const feats = [];
    if (sel) {
      if (sel.volume) {
        const v = this.volumeFeature(sel.volume);
        if (v) feats.push({ type: "Feature", geometry: v.geometry, properties: { id: sel.volume } });
      }
      const pos = (sel.aircraft || []).map((id) => this.store.position(id)).filter(Boolean);
      for (const p of pos) feats.push({ type: "Feature", geometry: { type: "Point", coordinates: p }, properties: {} });
      if (pos.length === 2) feats.push({ type: "Feature", geometry: { type: "LineString", coordinates: pos }, properties: {} });
    }
    this.map.getSource("selected").setData(projectGeoJSON({ type: "FeatureCollection", features: feats }, this.proj,
      this.identity));
  }

  init(cfg) {
    const map = this.map;
    this.terrain = new Terrain(cfg.terrain);
    map.addImage("arrow", arrowImage(), { sdf: true });
    if (cfg.basemap_url) {
      map.addSource("basemap", { type: "raster", tiles: [cfg.basemap_url], tileSize: 256,
        attribution: cfg.basemap_attribution || "" });
      map.addLayer({ id: "basemap", type: "raster", source: "basemap" });
    }
    // PMTiles basemap (built-in and/or LOWALT_BASEMAP_PMTILES) between the land fill and the overlays
    this.basemapReady = addContextAndBasemap(map, cfg, this.lang || "zh").then((ids) => {
      GROUPS.basemap.push(...ids);
      return ids;
    });
    for (const s of ["volumes", "points", "routes", "restrictions", "plan", "trails", "conflicts", "alerted",
      "selected", "replay"]) {
      map.addSource(s, { type: "geojson", data: EMPTY });
    }
    // small tile buffer: a point near a tile edge is copied into fewer neighbours (less worker time)
    map.addSource("tracks", { type: "geojson", data: EMPTY, promoteId: "id", buffer: 16, maxzoom: 14 });
    map.addSource("trails-src", { type: "geojson", data: EMPTY, promoteId: "id" });

    for (const layer of airspaceLayers(this.name)) this._add(layer);

    map.addLayer({ id: "plan-fill", type: "fill", source: "plan", filter: ["==", ["geometry-type"], "Polygon"],
      paint: { "fill-color": "#15aabf", "fill-opacity": 0.2 } });
    map.addLayer({ id: "plan-line", type: "line", source: "plan",
      paint: { "line-color": "#0b7285", "line-width": 3, "line-dasharray": [2, 1] } });

    // the selected alert or aircraft: its volume outlined, its aircraft ringed, a pair joined
    map.addLayer({ id: "selected-fill", type: "fill", source: "selected", filter: ["==", ["geometry-type"], "Polygon"],
      paint: { "fill-color": "#f59f00", "fill-opacity": 0.18 } });
    map.addLayer({ id: "selected-line", type: "line", source: "selected",
      paint: { "line-color": "#f59f00", "line-width": 3.5 } });
    map.addLayer({ id: "replay-area", type: "line", source: "replay", filter: ["==", ["geometry-type"], "Polygon"],
      paint: { "line-color": "#5f3dc4", "line-width": 2, "line-dasharray": [3, 2] } });
    map.addLayer({ id: "replay-line", type: "line", source: "replay", filter: ["==", ["geometry-type"], "LineString"],
      paint: { "line-color": ["coalesce", ["get", "colour"], "#5f3dc4"], "line-width": 2.5, "line-opacity": 0.8 } });

    const stColour = ["match", ["get", "st"], ...Object.entries(STATUS_COLOURS).flat(), "#1c7ed6"];
    const coasting = ["case", ["==", ["get", "co"], 1], 0.4, 1]; // a coasting track is drawn faded
    this._add({ id: "trails", type: "line", source: "trails-src", minzoom: 8,
      paint: { "line-color": stColour, "line-width": 1.2, "line-opacity": 0.55 } });
    this._add({ id: "alert-rings", type: "circle", source: "alerted",
      paint: { "circle-radius": 13, "circle-color": "rgba(0,0,0,0)",
        "circle-stroke-color": ["match", ["get", "severity"], ...Object.entries(SEVERITY_COLOURS).flat(), "#fab005"],
        "circle-stroke-width": 2.5 } });
    this._add({ id: "conflict-lines", type: "line", source: "conflicts",
      paint: { "line-color": ["match", ["get", "severity"], ...Object.entries(SEVERITY_COLOURS).flat(), "#fab005"],
        "line-width": 2.5 } });
    // below ARROW_ZOOM: plain dots (cheap to tile and draw with thousands in view); above: arrows by heading
    this._add({ id: "tracks-dot", type: "circle", source: "tracks", maxzoom: ARROW_ZOOM,
      paint: { "circle-color": stColour, "circle-radius": ["interpolate", ["linear"], ["zoom"], 6, 1.5, 9, 3],
        "circle-stroke-color": "#ffffff", "circle-stroke-width": 0.5, "circle-opacity": 0, "circle-stroke-opacity": 0 } });
    this._add({ id: "tracks", type: "symbol", source: "tracks", minzoom: ARROW_ZOOM,
      layout: { "icon-image": "arrow", "icon-size": ["interpolate", ["linear"], ["zoom"], ARROW_ZOOM, 0.32, 13, 0.5],
        "icon-rotate": ["get", "hdg"], "icon-rotation-alignment": "map", "icon-allow-overlap": true,
        "icon-ignore-placement": true },
      paint: { "icon-color": stColour, "icon-halo-color": "#ffffff", "icon-halo-width": 1, "icon-opacity": 0 } });
    // tracks and tracks-dot stay for picking and queries (transparent); the aircraft are drawn by tracks-gl
    this.gl = new TracksGL(this.store, this.perf, { colours: STATUS.map((k) => STATUS_COLOURS[k] || "#1c7ed6"),
      arrowZoom: ARROW_ZOOM, proj: this.proj, identity: this.identity, keep: (i) => this._inBand(i),
      denseMax: this.denseMax });
    map.addLayer(this.gl);
    map.addLayer({ id: "selected-ring", type: "circle", source: "selected", filter: ["==", ["geometry-type"], "Point"],
      paint: { "circle-radius": 17, "circle-color": "rgba(0,0,0,0)", "circle-stroke-color": "#f59f00",
        "circle-stroke-width": 3.5 } });
    map.addLayer({ id: "replay-dot", type: "circle", source: "replay", filter: ["==", ["geometry-type"], "Point"],
      paint: { "circle-radius": 7, "circle-color": ["coalesce", ["get", "colour"], "#5f3dc4"],
        "circle-stroke-color": "#fff", "circle-stroke-width": 2 } });
    map.addLayer({ id: "replay-label", type: "symbol", source: "replay", filter: ["==", ["geometry-type"], "Point"],
      layout: { "text-field": ["get", "lbl"], "text-size": 11, "text-anchor": "left", "text-offset": [1.2, 0],
        "text-font": ["Noto Sans Regular"], "text-allow-overlap": true },
      paint: { "text-color": "#5f3dc4", "text-halo-color": "#fff", "text-halo-width": 1.5 } });
    this._add({ id: "tracks-label", type: "symbol", source: "tracks", minzoom: 11,
      layout: { "text-field": ["get", "lbl"], "text-size": 10, "text-anchor": "left", "text-offset": [1.2, 0],
        "text-font": ["Noto Sans Regular"], "text-optional": true },
      paint: { "text-color": "#212529", "text-halo-color": "#fff", "text-halo-width": 1.2 } });
    this._add({ id: "conflict-labels", type: "symbol", source: "conflicts", minzoom: 10,
      layout: { "symbol-placement": "line-center", "text-field": ["get", "lbl"], "text-size": 11,
        "text-font": ["Noto Sans Regular"], "text-allow-overlap": true },
      paint: { "text-color": "#c92a2a", "text-halo-color": "#fff", "text-halo-width": 1.5 } });

    map.getSource("tracks").on("data", (e) => {
      if (e.sourceDataType === "content") this._landed();
    });
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden) this.schedule();
    });
    map.on("moveend", () => {
      if (!this.thinned) return;
      this.viewChanged = true; // other aircraft in view: their features and trails
      this.schedule();
    });
  }

  _add(layer) {
    if (layer.filter) this.base[layer.id] = layer.filter;
    this.map.addLayer(layer);
  }

  setLanguage(lang) {
    this.lang = lang;
    this.name = lang === "en" ? "name_en" : "name_zh";
    setBasemapLanguage(this.map, lang);
    setAirspaceLanguage(this.map, this.name);
  }

  setGroupVisible(group, on) {
    for (const id of GROUPS[group] || []) {
      if (this.map.getLayer(id)) this.map.setLayoutProperty(id, "visibility", on ? "visible" : "none");
    }
  }

  /**
   * Show airspace (volumes, routes, restrictions) whose band overlaps [lo, hi] and tracks inside it, all in one
   * datum: "amsl" (altitude) or "agl" (height over the terrain grid). Bands filed in the other datum are
   * converted with the lowest and highest ground under them (so a band is kept if any part may overlap).
   */
  setAltitudeRange(lo, hi, datum = this.datum) {
    this.alt = [lo, hi];
    this.datum = datum;
    const d = datum === "agl" ? "agl" : "amsl";
    const band = ["all", ["<", ["coalesce", ["get", `lo_${d}`], -1e9], hi],
      [">", ["coalesce", ["get", `hi_${d}`], 1e9], lo]];
    for (const id of [...GROUPS.volumes, ...GROUPS.routes, ...GROUPS.restrictions]) {
      const base = this.base[id];
      this.map.setFilter(id, base ? ["all", base, band] : band);
    }
    const key = d === "agl" ? "agl" : "alt";
    const inBand = ["all", [">=", ["get", key], lo], ["<=", ["get", key], hi]];
    if (this.gl) this.gl.invalidate();
    for (const id of ["tracks", "tracks-dot", "tracks-label"]) {
      const base = this.base[id];
      this.map.setFilter(id, base ? ["all", base, inBand] : inBand);
    }
  }

  /** Whether track slot i is inside the altitude filter (the GL layer's filter; the same rule as the layers'). */
  _inBand(i) {
    if (!this.alt) return true;
    const s = this.store;
    const v = this.datum === "agl" ? Math.round(s.alt[i] - this.terrain.at(s.lon[i], s.lat[i])) : Math.round(s.alt[i]);
    return v >= this.alt[0] && v <= this.alt[1];
  }

  setStatic(source, fc) {
    this.raw[source] = fc;
    if (["volumes", "routes", "restrictions"].includes(source)) fc = withBands(fc, this.terrain);
    this.map.getSource(source).setData(projectGeoJSON(fc || EMPTY, this.proj, this.identity));
  }

  // -- live tracks -----------------------------------------------------------------------

  /** A feed message was applied to the store at tRecv (performance.now()); draw it on the next frame. */
  noteMessage(tRecv, full = false, tSent = undefined) {
    if (this.gl) this.gl.note(tRecv, tSent);
    this.pendingRecv.push(tRecv);
    if (full) this.needsFull = true;
    this.schedule();
  }

  schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      this.frame();
    });
  }

  _feature(i) {
    const s = this.store;
    const id = s.ids[i];
    const alt = Math.round(s.alt[i]);
    const gs = Math.round(s.gs[i]);
    return {
      type: "Feature",
      geometry: { type: "Point", coordinates: this.proj(s.lon[i], s.lat[i]) },
      properties: { id, st: STATUS[s.st[i]], co: s.co[i], hdg: s.hdg[i], alt, gs,
        agl: Math.round(s.alt[i] - this.terrain.at(s.lon[i], s.lat[i])),
        lbl: `${id}\n${alt} m AMSL  ${gs} m/s` },
    };
  }

  frame() {
    if (document.hidden) return; // resumes on visibilitychange; the store keeps absorbing the feed
    // the drawn aircraft were updated on each message's arrival; a removal (sweep) moves slots: rebuilt here
    if (this.gl) this.gl.sync();
    if (this.inFlight) {
      this.schedule();
      return;
    }
    const now = performance.now();
    const wait = this.thinned ? this.geojsonAt + GEOJSON_PERIOD_MS - now : 0;
    if (wait > 0) {
      if (!this.geojsonTimer) {
        this.geojsonTimer = setTimeout(() => {
          this.geojsonTimer = null;
          this.schedule();
        }, wait);
      }
      return;
    }
    this.geojsonAt = now;
    if (this.thinned !== this.thinActive) {
      // crossing GEOJSON_SLOW_ABOVE: both sources are rebuilt whole, for the new rule
      this.thinActive = this.thinned;
      this.needsFull = true;
      this.trailsReset = true;
      this.geoIds = new Set();
      this.trailIds = new Set();
      this.wantedTrails = this.thinActive ? NO_IDS : null;
    }
    const { dirty, removed } = this.store.takeChanges();
    for (const id of dirty) this.trailsDirty.add(id);
    for (const id of removed) {
      this.trailsDirty.delete(id);
      this.trailsRemoved.add(id);
    }
    // alert rings and conflict lines follow the aircraft at most once a second (alerts change at 1 Hz)
    if (this.alerts.version !== this.alertsVersion || (dirty.size && now - this.alertsAt > 1000)) {
      this._drawAlerts(now);
    }
    if (now - this.trailsAt > TRAIL_PERIOD_MS && (this.trailsDirty.size || this.trailsRemoved.size || this.trailsReset)) {
      this._drawTrails(now);
    } else if (this.trailsDirty.size && !this.trailTimer) {
      this.trailTimer = setTimeout(() => {
        this.trailTimer = null;
        this.schedule();
      }, TRAIL_PERIOD_MS);
    }
    if (!dirty.size && !removed.size && !this.needsFull && !this.viewChanged) {
      this.pendingRecv.length = 0;
      return;
    }
    const src = this.map.getSource("tracks");
    const s = this.store;
    this.inFlight = this.pendingRecv;
    this.pendingRecv = [];
    this.sentAt = performance.now();
    if (this.thinActive) {
      this._thinTracks(src, dirty);
    } else if (this.needsFull) {
      this.needsFull = false;
      const features = new Array(s.n);
      for (let i = 0; i < s.n; i++) features[i] = this._feature(i);
      src.setData({ type: "FeatureCollection", features });
      this.geoPerf.rows += s.n;
    } else {
      const add = [];
      for (const id of dirty) {
        const i = s.slot.get(id);
        if (i !== undefined) add.push(this._feature(i));
      }
      src.updateData({ add, remove: [...removed] });
      this.geoPerf.rows += add.length;
    }
    this.geoPerf.flushes++;
  }

  _landed() {
    const batch = this.inFlight;
    if (!batch) return;
    const t = performance.now();
    for (const t0 of batch) this.geoPerf.record(t - t0);
    this.perf.worker.record(t - this.sentAt); // updateData -> source updated (worker side + messaging)
    this.inFlight = null;
    if (this.store.dirty.size || this.store.removed.size || this.needsFull) this.schedule();
  }

  /** More than GEOJSON_SLOW_ABOVE aircraft: the track sources carry only those in view (when few enough). */
  get thinned() {
    return this.store.n > this.thinAbove;
  }

  /** The ids of the aircraft in the map's view, if at most VIEW_MAX (else none); all of them when not thinned. */
  _wanted() {
    const s = this.store;
    const out = new Set();
    if (!this.thinned) {
      for (let i = 0; i < s.n; i++) out.add(s.ids[i]);
      return out;
    }
    const b = this.map.getBounds();
    const [w, e, so, n] = [b.getWest(), b.getEast(), b.getSouth(), b.getNorth()];
    for (let i = 0; i < s.n; i++) {
      const [x, y] = this.identity ? [s.lon[i], s.lat[i]] : this.proj(s.lon[i], s.lat[i]);
      if (x < w || x > e || y < so || y > n) continue;
      out.add(s.ids[i]);
      if (out.size > this.viewMax) return NO_IDS;
    }
    return out;
  }

  /**
   * The GeoJSON track source as a diff to the wanted set (thinned, or the first update after thinning ended):
   * features in and out of view, and those of the wanted aircraft that moved.
   */
  _thinTracks(src, dirty) {
    const want = this._wanted();
    const s = this.store;
    const add = [];
    const remove = [];
    for (const id of this.geoIds) if (!want.has(id)) remove.push(id);
    for (const id of want) {
      if (this.needsFull || dirty.has(id) || !this.geoIds.has(id)) add.push(this._feature(s.slot.get(id)));
    }
    this.viewChanged = false;
    this.geoIds = want;
    this.wantedTrails = want;
    if (this.needsFull) src.setData({ type: "FeatureCollection", features: add });
    else src.updateData({ add, remove });
    this.needsFull = false;
    this.geoPerf.rows += add.length;
  }

  /** The aircraft nearest to a screen point (within radius px), or null: hit-tested on the WebGL layer's arrays. */
  pick(point, radius = 12) {
    return this.gl ? this.gl.pick(point, radius) : null;
  }

  _drawTrails(now) {
    this.trailsAt = now;
    const s = this.store;
    const add = [];
    const remove = [...this.trailsRemoved];
    // thinned: only the trails of the aircraft in the GeoJSON source (those in view, when few enough)
    const want = this.thinActive ? this.wantedTrails || NO_IDS : null;
    const reset = this.trailsReset;
    let todo = this.trailsDirty;
    if (reset) todo = want ? [...want] : s.ids.slice(0, s.n);
    else if (want) todo = [...want].filter((id) => this.trailsDirty.has(id) || !this.trailIds.has(id));
    if (want) {
      for (const id of this.trailIds) if (!want.has(id)) remove.push(id);
      this.trailIds = want;
    }
    this.trailsReset = false;
    for (const id of todo) {
      const i = s.slot.get(id);
      if (i === undefined) continue;
      if (s.trailCount[i] < 2) continue;
      add.push({ type: "Feature", geometry: { type: "LineString", coordinates: s.trailOf(i, this.proj) },
        properties: { id, st: STATUS[s.st[i]] } });
    }
    this.trailsDirty.clear();
    this.trailsRemoved.clear();
    if (reset) this.map.getSource("trails-src").setData({ type: "FeatureCollection", features: add });
    else this.map.getSource("trails-src").updateData({ add, remove });
  }

  _drawAlerts(now) {
    if (this.selection) this._drawSelection();
    this.alertsVersion = this.alerts.version;
    this.alertsAt = now;
    const lines = [];
    const rings = [];
    const tnow = Date.now() / 1000;
    // the most severe MAX_DRAWN_ALERTS only: drawing cost stays bounded in a pathological picture
    for (const a of this.alerts.sorted().slice(0, MAX_DRAWN_ALERTS)) {
      const pos = (a.aircraft || []).map((id) => this.store.position(id));
      for (const p of pos) {
        if (p) rings.push({ type: "Feature", geometry: { type: "Point", coordinates: this.proj(p[0], p[1]) },
          properties: { id: a.id, severity: a.severity } });
      }
      if (a.kind === "conflict" && pos.length === 2 && pos[0] && pos[1]) {
        const tin = Math.max(0, (a.details?.t_in ?? 0) - (tnow - (a.seenAt || tnow)));
        lines.push({ type: "Feature",
          geometry: { type: "LineString", coordinates: [this.proj(...pos[0]), this.proj(...pos[1])] },
          properties: { id: a.id, severity: a.severity, lbl: tin > 0 ? `${Math.round(tin)} s` : "LoS" } });
      }
    }
    this.map.getSource("conflicts").setData({ type: "FeatureCollection", features: lines });
    this.map.getSource("alerted").setData({ type: "FeatureCollection", features: rings });
  }

  flyTo(lon, lat, zoom = 13) {
    this.map.flyTo({ center: this.proj(lon, lat), zoom: Math.max(this.map.getZoom(), zoom), speed: 1.6 });
  }
}
