// The airspace map shared by the live map (main.js, layers.js) and the party views (/static/coordination/):
// one MapLibre map set up the same way (offline glyphs, CJK drawn with the local fonts), the same airspace
// layers (land context, PMTiles basemap, volumes, restrictions, routes, points) fed by the same four
// /airspace/* reads. Shared so that a party sees the airspace exactly as the centre's map draws it.

/* global maplibregl */

import { addPmtilesBasemap } from "./basemap.js";

export const EMPTY = { type: "FeatureCollection", features: [] };
export const AIRSPACE_SOURCES = ["volumes", "points", "routes", "restrictions"];
const CJK_FONTS = "'Noto Sans CJK SC', 'Noto Sans SC', 'PingFang SC', 'Microsoft YaHei', sans-serif";

/** Render every glyph with the browser's fonts (TinySDF) so no glyph PBFs are ever fetched (offline). */
export function renderGlyphsLocally(map) {
  const patch = () => {
    const gm = map.style && map.style.glyphManager;
    if (gm && !gm.__lowaltLocal) {
      gm._doesCharSupportLocalGlyph = () => true;
      gm.__lowaltLocal = true;
    }
  };
  patch();
  map.on("styledata", patch);
}

/** A map on an empty style centred where /web/config says, with navigation and scale controls. */
export function createMap(container, cfg, proj) {
  const map = new maplibregl.Map({
    container,
    style: { version: 8, glyphs: "/static/glyphs/{fontstack}/{range}.pbf", sources: {},
      layers: [{ id: "background", type: "background", paint: { "background-color": "#e9edf1" } }] },
    center: proj(cfg.centre[0], cfg.centre[1]),
    zoom: cfg.zoom,
    localIdeographFontFamily: CJK_FONTS,
    attributionControl: { compact: true },
    fadeDuration: 0,
  });
  renderGlyphsLocally(map);
  map.addControl(new maplibregl.NavigationControl(), "top-left");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
  return map;
}

/**
 * The land context (fill and outline) and, between them, the PMTiles basemap (built-in and/or
 * LOWALT_BASEMAP_PMTILES). Resolves to the basemap's layer ids (none when there is no basemap).
 */
export function addContextAndBasemap(map, cfg, lang) {
  map.addSource("context", { type: "geojson", data: EMPTY });
  map.addLayer({ id: "context-fill", type: "fill", source: "context", paint: { "fill-color": "#f8f9f4" } });
  map.addLayer({ id: "context-line", type: "line", source: "context",
    paint: { "line-color": "#adb5bd", "line-width": 1.5 } });
  return addPmtilesBasemap(map, cfg, "context-line", lang || "zh").catch((e) => {
    console.warn("basemap", e);
    return [];
  });
}

/** The label of a route: its name and its band ("name  0–120 m AGL"). */
export function routeLabel(name) {
  const fr = ["coalesce", ["get", "floor_ref"], "AMSL"];
  const cr = ["coalesce", ["get", "ceiling_ref"], "AMSL"];
  return ["concat", ["get", name], "  ", ["to-string", ["get", "floor_m"]],
    ["case", ["==", fr, cr], "", ["concat", " ", fr]], "–", ["to-string", ["get", "ceiling_m"]], " m ", cr];
}

/**
 * The airspace layers in drawing order (volumes, restrictions, routes, points) on the sources of
 * AIRSPACE_SOURCES; `name` is the label property ("name_zh" or "name_en").
 */
export function airspaceLayers(name) {
  const kindColour = ["match", ["get", "kind"], "no_fly", "#c92a2a", "restricted", "#e8590c",
    "controlled", "#1971c2", "corridor", "#2b8a3e",
    ["match", ["get", "class"], "W", "#66a80f", "G", "#868e96", "E", "#9c36b5", "#495057"]];
  const active = ["coalesce", ["get", "active"], true];
  const routeColour = ["match", ["get", "kind"], "tourism", "#ae3ec9", "logistics", "#0c8599",
    "emergency", "#e03131", "#364fc7"];
  return [
    { id: "volumes-fill", type: "fill", source: "volumes",
      paint: { "fill-color": kindColour,
        "fill-opacity": ["case", ["==", ["get", "kind"], "open"], 0, active, 0.22, 0.05] } },
    { id: "volumes-line", type: "line", source: "volumes", filter: ["==", active, true],
      paint: { "line-color": kindColour, "line-width": 1.5 } },
    { id: "volumes-line-inactive", type: "line", source: "volumes", filter: ["==", active, false],
      paint: { "line-color": kindColour, "line-width": 1.2, "line-dasharray": [3, 3], "line-opacity": 0.7 } },
    { id: "volumes-label", type: "symbol", source: "volumes", minzoom: 9,
      filter: ["!=", ["get", "kind"], "open"],
      layout: { "text-field": ["get", name], "text-size": 11, "text-font": ["Noto Sans Regular"] },
      paint: { "text-color": kindColour, "text-halo-color": "#fff", "text-halo-width": 1.2 } },

    { id: "restrictions-fill", type: "fill", source: "restrictions",
      paint: { "fill-color": "#c2255c", "fill-opacity": ["case", active, 0.3, 0.08] } },
    { id: "restrictions-line", type: "line", source: "restrictions",
      paint: { "line-color": "#c2255c", "line-width": 2 } },
    { id: "restrictions-label", type: "symbol", source: "restrictions",
      layout: { "text-field": ["get", name], "text-size": 12, "text-font": ["Noto Sans Regular"] },
      paint: { "text-color": "#a61e4d", "text-halo-color": "#fff", "text-halo-width": 1.2 } },

    { id: "routes-band", type: "line", source: "routes", filter: ["==", active, true],
      paint: { "line-color": routeColour, "line-opacity": 0.15,
        // corridor width on screen: half_width_m * 2 metres at the current zoom (approximate at 29.3 N)
        "line-width": ["interpolate", ["exponential", 2], ["zoom"],
          8, ["*", ["get", "half_width_m"], 2 / 267], 16, ["*", ["get", "half_width_m"], 2 / 1.04]] } },
    { id: "routes-line", type: "line", source: "routes", filter: ["==", active, true],
      paint: { "line-color": routeColour, "line-width": 2 } },
    { id: "routes-line-inactive", type: "line", source: "routes", filter: ["==", active, false],
      paint: { "line-color": routeColour, "line-width": 1.5, "line-dasharray": [2, 2], "line-opacity": 0.6 } },
    { id: "routes-label", type: "symbol", source: "routes", minzoom: 9,
      layout: { "symbol-placement": "line", "text-field": routeLabel(name), "text-size": 11,
        "text-font": ["Noto Sans Regular"] },
      paint: { "text-color": routeColour, "text-halo-color": "#fff", "text-halo-width": 1.2 } },

    { id: "points-circle", type: "circle", source: "points",
      paint: { "circle-radius": 4, "circle-color": "#fff", "circle-stroke-color": "#343a40",
        "circle-stroke-width": 1.5 } },
    { id: "points-label", type: "symbol", source: "points", minzoom: 10,
      layout: { "text-field": ["get", name], "text-size": 10, "text-offset": [0, 1.1],
        "text-font": ["Noto Sans Regular"] },
      paint: { "text-color": "#343a40", "text-halo-color": "#fff", "text-halo-width": 1 } },
  ];
}

/** Switches the airspace labels between name_zh and name_en. */
export function setAirspaceLanguage(map, name) {
  for (const id of ["volumes-label", "restrictions-label", "points-label"]) {
    if (map.getLayer(id)) map.setLayoutProperty(id, "text-field", ["get", name]);
  }
  if (map.getLayer("routes-label")) map.setLayoutProperty("routes-label", "text-field", routeLabel(name));
}

/** The four airspace reads as of `at` (a Date; now when omitted): {volumes, points, routes, restrictions}. */
export async function fetchAirspace(api, at) {
  const q = at ? `?at=${encodeURIComponent(at.toISOString())}` : "";
  const got = await Promise.all(AIRSPACE_SOURCES.map((s) => api(`/airspace/${s}${q}`)));
  return Object.fromEntries(AIRSPACE_SOURCES.map((s, k) => [s, got[k]]));
}
