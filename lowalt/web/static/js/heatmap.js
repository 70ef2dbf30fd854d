// The occupancy heat map on the live map (issue #20): the analytics cells measure (/analytics/cells: mean
// aircraft in each 1 km cell over the last hour) as a MapLibre heatmap layer under the tracks, toggled by the
// centre. Off by default; while on it is refreshed once a minute (the server rolls the live hour up by the
// minute, so the request reads at most a minute or two of raw history).

const SOURCE = "occupancy";
const LAYER = "occupancy-heat";
const WINDOW_MS = 3600 * 1000;
const REFRESH_MS = 60 * 1000;
const EMPTY = { type: "FeatureCollection", features: [] };

/** Cells as GeoJSON points at their centres (display datum), weighted by occupancy over the window's largest. */
export function cellsToGeoJSON(cells, proj) {
  const top = Math.max(0, ...cells.map((c) => c.occupancy));
  return {
    type: "FeatureCollection",
    features: cells.filter((c) => c.occupancy > 0).map((c) => ({
      type: "Feature",
      geometry: { type: "Point", coordinates: proj(c.lon, c.lat) },
      properties: { cx: c.cx, cy: c.cy, occupancy: c.occupancy, weight: top > 0 ? c.occupancy / top : 0 },
    })),
  };
}

export class OccupancyHeatmap {
  constructor(map, api, proj) {
    this.map = map;
    this.api = api;
    this.proj = proj;
    this.timer = null;
    this.window = null;
    this.features = 0;
    this.error = null;
    map.addSource(SOURCE, { type: "geojson", data: EMPTY });
    map.addLayer({
      id: LAYER, type: "heatmap", source: SOURCE, layout: { visibility: "none" },
      paint: {
        "heatmap-weight": ["get", "weight"],
        // about a 1 km cell's size on screen at each zoom (a pixel is ~76 m at z11, ~9.5 m at z14 here)
        "heatmap-radius": ["interpolate", ["exponential", 2], ["zoom"], 9, 4, 12, 26, 15, 200],
        "heatmap-intensity": ["interpolate", ["linear"], ["zoom"], 9, 0.6, 14, 1.2],
        "heatmap-opacity": 0.7,
        "heatmap-color": ["interpolate", ["linear"], ["heatmap-density"], 0, "rgba(255,255,178,0)",
          0.2, "#fecc5c", 0.5, "#fd8d3c", 0.8, "#f03b20", 1, "#bd0026"],
      },
    }, map.getLayer("trails") ? "trails" : undefined);
  }

  /** Wire the checkbox: shown to the centre only (the measure rates where everyone flies). */
  bind(box, allowed) {
    box.closest("label").hidden = !allowed;
    box.onchange = () => this.setVisible(box.checked);
  }

  setVisible(on) {
    this.map.setLayoutProperty(LAYER, "visibility", on ? "visible" : "none");
    clearInterval(this.timer);
    this.timer = null;
    if (!on) return;
    this.refresh();
    this.timer = setInterval(() => this.refresh(), REFRESH_MS);
  }

  async refresh() {
    const to = new Date();
    const from = new Date(to.getTime() - WINDOW_MS);
    const q = `from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}`;
    try {
      const res = await this.api(`/analytics/cells?${q}`);
      const fc = cellsToGeoJSON(res.cells, this.proj);
      this.map.getSource(SOURCE).setData(fc);
      this.window = { from: from.toISOString(), to: to.toISOString() };
      this.features = fc.features.length;
      this.error = null;
    } catch (err) {
      this.error = err.status || err.message; // the map goes on; the next refresh tries again
    }
  }
}
