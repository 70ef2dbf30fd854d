// The offline basemap: PMTiles archives read with MapLibre's pmtiles:// protocol (HTTP range requests to the
// server's static files; nothing leaves the network). Built in: the service area (lowalt/web/basemap.py:
// places, the ZSJD runway, a hillshade of the terrain model). Plugged in (LOWALT_BASEMAP_PMTILES): any
// archive, drawn by what its header says: raster tiles as a raster layer, a Protomaps basemap extract with
// the bundled @protomaps/basemaps style, any other vector archive with a plain style built from its
// metadata's vector_layers.

/* global pmtiles, basemaps, maplibregl */

let protocol = null;

function register() {
  if (!protocol) {
    protocol = new pmtiles.Protocol();
    maplibregl.addProtocol("pmtiles", protocol.tile);
  }
  return protocol;
}

const absolute = (path) => `pmtiles://${location.origin}${path}`;
const PROTOMAPS_LAYERS = ["earth", "water", "roads"];

/** The built-in layers (ids start with "bm-"): hillshade under the overlays, runway and places above it. */
function builtinLayers(name) {
  return [
    { id: "bm-hillshade", type: "raster", source: "bm-hillshade", paint: { "raster-opacity": 0.55 } },
    { id: "bm-runway", type: "line", source: "bm-vector", "source-layer": "runway",
      paint: { "line-color": "#495057", "line-width": ["interpolate", ["exponential", 2], ["zoom"], 9, 2, 14, 24] } },
    { id: "bm-places", type: "circle", source: "bm-vector", "source-layer": "places",
      paint: { "circle-radius": ["match", ["get", "kind"], ["town", "city_centre", "destination"], 4, 3],
        "circle-color": ["match", ["get", "kind"], "hospital", "#e03131", "terrain_peak", "#8d6e63", "#343a40"],
        "circle-stroke-color": "#fff", "circle-stroke-width": 1 } },
    { id: "bm-places-label", type: "symbol", source: "bm-vector", "source-layer": "places",
      layout: { "text-field": ["get", name], "text-size": ["match", ["get", "kind"], ["town", "city_centre"], 13, 11],
        "text-font": ["Noto Sans Regular"], "text-anchor": "top", "text-offset": [0, 0.6], "text-optional": true },
      paint: { "text-color": "#212529", "text-halo-color": "#fff", "text-halo-width": 1.4 } },
  ];
}

/** A plain style for any vector archive: fills, lines and points of each layer its metadata names. */
function genericLayers(source, md, name) {
  const out = [];
  for (const vl of (md && md.vector_layers) || []) {
    const base = { source, "source-layer": vl.id };
    out.push({ ...base, id: `bm-x-${vl.id}-fill`, type: "fill", filter: ["==", ["geometry-type"], "Polygon"],
      paint: { "fill-color": "#dee2e6", "fill-opacity": 0.5, "fill-outline-color": "#adb5bd" } });
    out.push({ ...base, id: `bm-x-${vl.id}-line`, type: "line", filter: ["==", ["geometry-type"], "LineString"],
      paint: { "line-color": "#868e96", "line-width": 1 } });
    out.push({ ...base, id: `bm-x-${vl.id}-label`, type: "symbol", filter: ["==", ["geometry-type"], "Point"],
      layout: { "text-field": ["coalesce", ["get", name], ["get", "name"], ""], "text-size": 11,
        "text-font": ["Noto Sans Regular"], "text-optional": true },
      paint: { "text-color": "#495057", "text-halo-color": "#fff", "text-halo-width": 1.2 } });
  }
  return out;
}

/**
 * Adds the configured archive (if any) and the built-in one under the overlay layer `beforeId`.
 * Returns the ids of the layers added (the "basemap" layer group). `cfg.basemap_pmtiles` comes from /web/config.
 */
export async function addPmtilesBasemap(map, cfg, beforeId, lang) {
  const conf = cfg.basemap_pmtiles;
  if (!conf || typeof pmtiles === "undefined") return [];
  const proto = register();
  const name = lang === "en" ? "name_en" : "name_zh";
  const added = [];
  const add = (layer) => {
    map.addLayer(layer, beforeId);
    added.push(layer.id);
  };
  if (conf.custom) {
    const url = absolute(conf.custom);
    const archive = new pmtiles.PMTiles(url.slice("pmtiles://".length));
    proto.add(archive);
    const header = await archive.getHeader();
    const md = await archive.getMetadata().catch(() => ({}));
    const attribution = (md && md.attribution) || "";
    if (header.tileType !== pmtiles.TileType.Mvt) {
      map.addSource("bm-custom", { type: "raster", url, tileSize: 256, attribution });
      add({ id: "bm-custom", type: "raster", source: "bm-custom" });
    } else {
      map.addSource("bm-custom", { type: "vector", url, attribution });
      const names = new Set(((md && md.vector_layers) || []).map((l) => l.id));
      const style = PROTOMAPS_LAYERS.every((l) => names.has(l)) && typeof basemaps !== "undefined"
        ? basemaps.layers("bm-custom", basemaps.namedFlavor("light"), { lang: lang === "en" ? "en" : "zh-Hans" })
        : genericLayers("bm-custom", md, name);
      for (const layer of style) add({ ...layer, id: `bm-p-${layer.id}` });
    }
  }
  if (conf.builtin && cfg.basemap_crs !== "gcj02") { // the built-in archive is WGS84, as the overlays are
    map.addSource("bm-vector", { type: "vector", url: absolute(conf.builtin),
      attribution: "lowalt airspace_data (illustrative)" });
    map.addSource("bm-hillshade", { type: "raster", url: absolute(conf.hillshade), tileSize: 256 });
    for (const layer of builtinLayers(name)) add(layer);
  }
  return added;
}

/** Switches the built-in labels between name_zh and name_en. */
export function setBasemapLanguage(map, lang) {
  if (map.getLayer("bm-places-label")) {
    map.setLayoutProperty("bm-places-label", "text-field", ["get", lang === "en" ? "name_en" : "name_zh"]);
  }
}
