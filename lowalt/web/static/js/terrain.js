// The terrain grid from /web/config (metres AMSL, row 0 south): AGL <-> AMSL on the page. Bilinear at a
// point; the lowest and highest ground under a feature's bounding box for airspace bands.

export class Terrain {
  constructor(grid) {
    this.g = grid || null;
  }

  get available() {
    return Boolean(this.g);
  }

  _v(i, j) {
    const g = this.g;
    i = Math.max(0, Math.min(g.nx - 1, i));
    j = Math.max(0, Math.min(g.ny - 1, j));
    const v = g.values[j * g.nx + i];
    return v === null ? 0 : v;
  }

  /** Ground height (m AMSL) at a point; 0 without a grid. */
  at(lon, lat) {
    const g = this.g;
    if (!g) return 0;
    const fx = (lon - g.lon0) / g.step;
    const fy = (lat - g.lat0) / g.step;
    const i = Math.floor(fx);
    const j = Math.floor(fy);
    const tx = Math.min(1, Math.max(0, fx - i));
    const ty = Math.min(1, Math.max(0, fy - j));
    const a = this._v(i, j) * (1 - tx) + this._v(i + 1, j) * tx;
    const b = this._v(i, j + 1) * (1 - tx) + this._v(i + 1, j + 1) * tx;
    return a * (1 - ty) + b * ty;
  }

  /** [lowest, highest] ground (m AMSL) in a lon/lat box (one cell of margin). */
  range(w, s, e, n) {
    const g = this.g;
    if (!g) return [0, 0];
    const i0 = Math.floor((w - g.lon0) / g.step) - 1;
    const i1 = Math.ceil((e - g.lon0) / g.step) + 1;
    const j0 = Math.floor((s - g.lat0) / g.step) - 1;
    const j1 = Math.ceil((n - g.lat0) / g.step) + 1;
    let lo = Infinity;
    let hi = -Infinity;
    for (let j = j0; j <= j1; j++) {
      for (let i = i0; i <= i1; i++) {
        const v = this._v(i, j);
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    return [lo, hi];
  }
}

function bbox(geom) {
  let w = Infinity;
  let s = Infinity;
  let e = -Infinity;
  let n = -Infinity;
  const walk = (c) => {
    if (typeof c[0] === "number") {
      if (c[0] < w) w = c[0];
      if (c[0] > e) e = c[0];
      if (c[1] < s) s = c[1];
      if (c[1] > n) n = c[1];
    } else for (const x of c) walk(x);
  };
  walk(geom.coordinates);
  return [w, s, e, n];
}

/**
 * Add each feature's band in both datums, widened by the terrain under it (an AGL limit over hills spans
 * several AMSL heights): lo_amsl/hi_amsl and lo_agl/hi_agl, in metres.
 */
export function withBands(fc, terrain) {
  if (!fc || !fc.features) return fc;
  const features = fc.features.map((f) => {
    const p = f.properties || {};
    if (p.floor_m === undefined || p.ceiling_m === undefined || !f.geometry) return f;
    const [tlo, thi] = terrain.range(...bbox(f.geometry));
    const fAgl = (p.floor_ref || "AMSL") === "AGL";
    const cAgl = (p.ceiling_ref || "AMSL") === "AGL";
    const props = { ...p,
      lo_amsl: fAgl ? p.floor_m + tlo : p.floor_m, hi_amsl: cAgl ? p.ceiling_m + thi : p.ceiling_m,
      lo_agl: fAgl ? p.floor_m : p.floor_m - thi, hi_agl: cAgl ? p.ceiling_m : p.ceiling_m - tlo };
    return { ...f, properties: props };
  });
  return { ...fc, features };
}
