// The map panel of the party views (issue #19): one component for every party. It draws what the party's
// own answers carry and nothing more: the airspace base layers of the live map (shared module
// /static/js/airspace-map.js), the constraints in force as GET /coordination/constraints returns them to
// this role (a military activation a party may not read is drawn as reserved airspace, with no title or
// purpose, because the answer has none), the police's counter-UAS cases (last positions, predicted path,
// nearby sensitive sites, the state as the marker's colour) and the live alerts of the party's scoped
// /ws/live feed at the aircraft positions of that same feed (parties may not read GET /tracks).

import { AIRSPACE_SOURCES, EMPTY, addContextAndBasemap, airspaceLayers, createMap, fetchAirspace,
  setAirspaceLanguage } from "/static/js/airspace-map.js";
import { setBasemapLanguage } from "/static/js/basemap.js";
import { makeProjector, projectGeoJSON } from "/static/js/gcj02.js";
import { SEVERITY_COLOURS } from "/static/js/layers.js";
import { AlertStore, TrackStore } from "/static/js/state.js";
import { Feed, makeApi } from "/static/js/transport.js";

export const CASE_COLOURS = { assigned: "#f08c00", intercepting: "#e03131", resolved: "#1e9e4a" };
const AUTHORITY_COLOURS = { military: "#5f3dc4", atc: "#1971c2", local: "#c2255c" };
const RESERVED_COLOUR = "#495057";
const PARTY_SOURCES = ["party-constraints", "case-sites", "case-track", "case-path", "case-marker", "party-alerts"];
const SEES_PURPOSE = new Set(["military", "admin"]);  // lowalt.coordination.rules.sees_purpose
const FEED_ROLES = new Set(["centre", "admin", "viewer", "police", "military", "atc"]);  // who /ws/live admits

const feature = (geometry, properties) => ({ type: "Feature", geometry, properties });
const line = (pts) => ({ type: "LineString", coordinates: pts.map((p) => [p.lon, p.lat]) });

export class PartyMap {
  /**
   * @param {HTMLElement} container the map's box (visible when this is called: MapLibre sizes its canvas)
   * @param {{role: string, token: string, t: (key: string) => string, lang: () => string}} opts
   */
  constructor(container, { role, token, t, lang }) {
    this.container = container;
    this.role = role;
    this.token = token;
    this.t = t;
    this.lang = lang;
    this.api = makeApi(() => token);
    this.raw = { volumes: EMPTY, points: EMPTY };
    this.constraints = [];
    this.cases = [];
    this.store = new TrackStore(256, 2, 60000);
    this.alerts = new AlertStore();
  }

  async init() {
    const cfg = await fetch("/web/config").then((r) => r.json());
    this.proj = makeProjector(cfg.basemap_crs);
    this.identity = cfg.basemap_crs !== "gcj02";
    const map = (this.map = createMap(this.container, cfg, this.proj));
    await new Promise((resolve) => map.once("load", resolve));
    const name = this.name();
    this.basemapReady = addContextAndBasemap(map, cfg, this.lang());
    for (const s of [...AIRSPACE_SOURCES, ...PARTY_SOURCES]) map.addSource(s, { type: "geojson", data: EMPTY });
    for (const layer of airspaceLayers(name)) map.addLayer(layer);
    for (const layer of this.layers()) map.addLayer(layer);
    fetch("/web/context.geojson").then((r) => r.json()).then((fc) => this.setData("context", fc)).catch(() => {});
    this.setConstraints(this.constraints);  // what the tables' poll brought while the map was loading
    await this.loadAirspace();
    setInterval(() => this.loadAirspace().catch(() => {}), 60000);  // restrictions start and end with time
    if (FEED_ROLES.has(this.role)) this.subscribe();
    this.ready = true;
  }

  name() {
    return this.lang() === "en" ? "name_en" : "name_zh";
  }

  layers() {
    const authority = ["match", ["get", "authority"], ...Object.entries(AUTHORITY_COLOURS).flat(), "#c2255c"];
    const colour = ["case", ["get", "reserved"], RESERVED_COLOUR, authority];
    const caseColour = ["match", ["get", "state"], ...Object.entries(CASE_COLOURS).flat(), "#f08c00"];
    const label = (size, colourExpr) => ({
      layout: { "text-field": ["get", "label"], "text-size": size, "text-font": ["Noto Sans Regular"],
        "text-anchor": "left", "text-offset": [1.1, 0], "text-optional": true },
      paint: { "text-color": colourExpr, "text-halo-color": "#fff", "text-halo-width": 1.4 } });
    return [
      { id: "party-constraints-fill", type: "fill", source: "party-constraints",
        paint: { "fill-color": colour, "fill-opacity": ["case", ["get", "upcoming"], 0.06, 0.2] } },
      { id: "party-constraints-line", type: "line", source: "party-constraints", filter: ["!", ["get", "upcoming"]],
        paint: { "line-color": colour, "line-width": 2 } },
      // not yet started: dashed (line-dasharray takes no data expression)
      { id: "party-constraints-line-upcoming", type: "line", source: "party-constraints", filter: ["get", "upcoming"],
        paint: { "line-color": colour, "line-width": 2, "line-dasharray": [3, 2] } },
      { id: "party-constraints-label", type: "symbol", source: "party-constraints",
        layout: { "text-field": ["get", "label"], "text-size": 12, "text-font": ["Noto Sans Regular"] },
        paint: { "text-color": colour, "text-halo-color": "#fff", "text-halo-width": 1.4 } },
      { id: "case-sites-fill", type: "fill", source: "case-sites", filter: ["==", ["geometry-type"], "Polygon"],
        paint: { "fill-color": "#fab005", "fill-opacity": 0.25 } },
      { id: "case-sites-line", type: "line", source: "case-sites", filter: ["==", ["geometry-type"], "Polygon"],
        paint: { "line-color": "#e67700", "line-width": 2 } },
      { id: "case-sites-point", type: "circle", source: "case-sites", filter: ["==", ["geometry-type"], "Point"],
        paint: { "circle-radius": 6, "circle-color": "#fab005", "circle-stroke-color": "#e67700",
          "circle-stroke-width": 2 } },
      { id: "case-sites-label", type: "symbol", source: "case-sites", ...label(11, "#e67700") },
      { id: "case-track", type: "line", source: "case-track",
        paint: { "line-color": caseColour, "line-width": 3 } },
      { id: "case-path", type: "line", source: "case-path",
        paint: { "line-color": caseColour, "line-width": 2.5, "line-dasharray": [2, 2] } },
      { id: "case-marker", type: "circle", source: "case-marker",
        paint: { "circle-radius": 8, "circle-color": caseColour, "circle-stroke-color": "#fff",
          "circle-stroke-width": 2 } },
      { id: "case-marker-label", type: "symbol", source: "case-marker", ...label(12, caseColour) },
      { id: "party-alerts", type: "circle", source: "party-alerts",
        paint: { "circle-radius": 11, "circle-color": "rgba(0,0,0,0)", "circle-stroke-width": 3,
          "circle-stroke-color": ["match", ["get", "severity"], ...Object.entries(SEVERITY_COLOURS).flat(),
            "#fab005"] } },
      { id: "party-alerts-dot", type: "circle", source: "party-alerts",
        paint: { "circle-radius": 3.5, "circle-color": "#212529" } },
      { id: "party-alerts-label", type: "symbol", source: "party-alerts", ...label(11, "#212529") },
    ];
  }

  setData(source, fc) {
    if (this.map?.getSource(source)) this.map.getSource(source).setData(projectGeoJSON(fc, this.proj, this.identity));
  }

  async loadAirspace() {
    const got = await fetchAirspace(this.api);
    this.raw = got;
    for (const s of AIRSPACE_SOURCES) this.setData(s, s === "restrictions" ? this.withoutConstraints(got[s]) : got[s]);
    this.drawCases();  // the sites' shapes come from the volumes and points
  }

  /** A constraint is also published as an airspace restriction (id = its ref): draw it once, as the party may. */
  withoutConstraints(fc) {
    const refs = new Set(this.constraints.map((c) => c.ref));
    return { ...fc, features: (fc?.features || []).filter((f) => !refs.has(f.properties?.id ?? f.id)) };
  }

  /** The constraints as GET /coordination/constraints answered this role: those not cancelled nor over. */
  setConstraints(list) {
    this.constraints = list;
    const now = Date.now();
    const feats = list.filter((c) => c.status !== "cancelled" && Date.parse(c.end) > now).map((c) => {
      const reserved = c.kind === "military_activation" && !SEES_PURPOSE.has(this.role);
      return feature(c.geometry, { ref: c.ref, authority: c.authority, reserved, upcoming: Date.parse(c.start) > now,
        label: reserved ? this.t("reserved")
          : `${this.t(`authority.${c.authority}`)}${this.lang() === "zh" ? "：" : ": "}${c.title}` });
    });
    this.setData("party-constraints", { type: "FeatureCollection", features: feats });
    if (this.raw.restrictions) this.setData("restrictions", this.withoutConstraints(this.raw.restrictions));
  }

  /** The site's shape: a published volume (polygon) or point, looked up by the id the case names. */
  siteGeometry(id) {
    for (const src of ["volumes", "points"]) {
      const f = this.raw[src]?.features?.find((x) => (x.properties?.id ?? x.id) === id);
      if (f) return f.geometry;
    }
    return null;
  }

  setCases(list) {
    this.cases = list;
    this.drawCases();
  }

  drawCases() {
    const track = [], path = [], marker = [], sites = [];
    const nameKey = this.name();
    for (const k of this.cases) {
      const last = k.facts.last_positions;
      const props = { case: k.id, state: k.state, aircraft: k.aircraft_id };
      if (last.length >= 2) track.push(feature(line(last), props));
      const open = k.state !== "resolved";  // a resolved case keeps its track and marker, not where it was going
      const pred = [...last.slice(-1), ...k.facts.predicted_path];
      if (open && pred.length >= 2) path.push(feature(line(pred), props));
      if (last.length) {
        const p = last.at(-1);
        marker.push(feature({ type: "Point", coordinates: [p.lon, p.lat] },
          { ...props, label: `${k.aircraft_id} · ${this.t(`state.${k.state}`)}` }));
      }
      for (const s of open ? k.facts.nearby_sites : []) {
        const g = this.siteGeometry(s.id);
        if (g) sites.push(feature(g, { case: k.id, site: s.id, label: s[nameKey] || s.name_zh }));
      }
    }
    const fc = (features) => ({ type: "FeatureCollection", features });
    this.setData("case-track", fc(track));
    this.setData("case-path", fc(path));
    this.setData("case-marker", fc(marker));
    this.setData("case-sites", fc(sites));
  }

  /** Fly to a case: its last position, or its first predicted point. */
  flyToCase(id) {
    const k = this.cases.find((c) => c.id === id);
    const p = k && (k.facts.last_positions.at(-1) || k.facts.predicted_path[0]);
    if (!p || !this.map) return;
    this.map.flyTo({ center: this.proj(p.lon, p.lat), zoom: Math.max(this.map.getZoom(), 13), speed: 1.8 });
  }

  /** Fit the map to a constraint's area (as drawn: the shape this role was answered). */
  flyToConstraint(ref) {
    const c = this.constraints.find((x) => x.ref === ref);
    if (!c || !this.map) return;
    const positions = (x) => (typeof x[0] === "number" ? [x] : x.flatMap(positions));
    const xy = positions(c.geometry.coordinates).map(([lon, lat]) => this.proj(lon, lat));
    if (!xy.length) return;
    const xs = xy.map((p) => p[0]), ys = xy.map((p) => p[1]);
    this.map.fitBounds([[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]],
      { padding: 60, maxZoom: 13, speed: 1.8 });
  }

  /** The party's scoped live feed: positions of every track, the alerts this party may receive. */
  subscribe() {
    this.feed = new Feed("/ws/live", this.token, {
      onMessage: (msg) => {
        if (msg.type === "tracks") {
          this.store.applyRows(msg.tracks);
          if (msg.lost?.length) this.store.markLost(msg.lost, Date.now());
        } else if (msg.type === "snapshot") {
          this.store.replaceAll(msg.tracks);
          this.alerts.replaceAll(msg.alerts);
        } else if (msg.type === "alerts") {
          this.alerts.applyDiff(msg);
        } else return;
        this.alertsDirty = true;
      },
    });
    this.feed.connect();
    setInterval(() => {  // once a second at most: the markers follow the aircraft
      this.store.sweep(Date.now());
      if (this.alertsDirty && !document.hidden) this.drawAlerts();
    }, 1000);
  }

  drawAlerts() {
    this.alertsDirty = false;
    const feats = [];
    for (const a of this.alerts.sorted()) {
      for (const id of a.aircraft || []) {
        const pos = this.store.position(id);
        if (pos) {
          feats.push(feature({ type: "Point", coordinates: pos },
            { alert: a.id, aircraft: id, kind: a.kind, severity: a.severity, label: `${id} · ${this.t(`alert.${a.kind}`)}` }));
        }
      }
    }
    this.setData("party-alerts", { type: "FeatureCollection", features: feats });
  }

  /** Labels follow the page's language (the airspace's own names and this panel's catalogue strings). */
  setLanguage() {
    if (!this.ready) return;
    const lang = this.lang();
    setBasemapLanguage(this.map, lang);
    setAirspaceLanguage(this.map, this.name());
    this.setConstraints(this.constraints);
    this.drawCases();
    this.alertsDirty = true;
  }
}
