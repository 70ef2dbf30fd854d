// WGS84 -> GCJ-02 for basemaps drawn in GCJ-02 (AMap/Tencent style). A port of lowalt/geo/gcj02.py
// (the public approximation as in eviltransform/coordtransform); the test suite checks this against
// the Python reference. Geometry stays WGS84 everywhere else: convert only at the rendering edge.

const A = 6378245.0;
const EE = 0.00669342162296594323;

export function inChina(lon, lat) {
  return lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271;
}

export function wgs84ToGcj02(lon, lat) {
  if (!inChina(lon, lat)) return [lon, lat];
  const x = lon - 105.0;
  const y = lat - 35.0;
  const pi = Math.PI;
  const common = ((20.0 * Math.sin(6.0 * x * pi) + 20.0 * Math.sin(2.0 * x * pi)) * 2.0) / 3.0;
  let dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  dlat += common;
  dlat += ((20.0 * Math.sin(y * pi) + 40.0 * Math.sin((y / 3.0) * pi)) * 2.0) / 3.0;
  dlat += ((160.0 * Math.sin((y / 12.0) * pi) + 320.0 * Math.sin((y * pi) / 30.0)) * 2.0) / 3.0;
  let dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  dlon += common;
  dlon += ((20.0 * Math.sin(x * pi) + 40.0 * Math.sin((x / 3.0) * pi)) * 2.0) / 3.0;
  dlon += ((150.0 * Math.sin((x / 12.0) * pi) + 300.0 * Math.sin((x / 30.0) * pi)) * 2.0) / 3.0;
  const radlat = (lat / 180.0) * pi;
  const magic = 1.0 - EE * Math.sin(radlat) ** 2;
  const sqrtmagic = Math.sqrt(magic);
  dlat = (dlat * 180.0) / (((A * (1.0 - EE)) / (magic * sqrtmagic)) * pi);
  dlon = (dlon * 180.0) / ((A / sqrtmagic) * Math.cos(radlat) * pi);
  return [lon + dlon, lat + dlat];
}

/** A projector (lon, lat) -> [lon, lat] for overlays drawn over a basemap in ``crs``. */
export function makeProjector(crs) {
  return crs === "gcj02" ? wgs84ToGcj02 : (lon, lat) => [lon, lat];
}

function mapCoords(coords, proj) {
  if (typeof coords[0] === "number") {
    const p = proj(coords[0], coords[1]);
    return coords.length > 2 ? [p[0], p[1], ...coords.slice(2)] : p;
  }
  return coords.map((c) => mapCoords(c, proj));
}

function mapGeometry(g, proj) {
  if (!g) return g;
  if (g.type === "GeometryCollection") return { ...g, geometries: g.geometries.map((x) => mapGeometry(x, proj)) };
  return { ...g, coordinates: mapCoords(g.coordinates, proj) };
}

/** Convert a GeoJSON Feature/FeatureCollection/Geometry (copy). Identity projectors return the input. */
export function projectGeoJSON(obj, proj, identity = false) {
  if (identity || !obj) return obj;
  if (obj.type === "FeatureCollection") return { ...obj, features: obj.features.map((f) => projectGeoJSON(f, proj)) };
  if (obj.type === "Feature") return { ...obj, geometry: mapGeometry(obj.geometry, proj) };
  return mapGeometry(obj, proj);
}
