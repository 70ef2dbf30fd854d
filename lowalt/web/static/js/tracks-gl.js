// The aircraft drawn straight from the track table with WebGL (a MapLibre custom layer): one instance per
// track-table slot (Web Mercator x/y, heading, status, alpha; alpha 0: outside the altitude filter, moved out of
// clip space by the vertex shader), drawn as rotated arrows (instanced triangles; dots below ARROW_ZOOM) in one
// draw call. Why: a GeoJSON source re-tiles every feature in MapLibre's worker on each update (hundreds of ms at
// 10,000 aircraft on a small machine); positions must not wait for that. The GeoJSON "tracks" source is still kept
// up to date, more slowly, for what needs features: labels, queryRenderedFeatures (its own icons are transparent).
//
// When the data changes: on a feed message's arrival (note(), right after the message's rows were applied to the
// track table; the Web Worker's transferred typed arrays are written into the track table and from there only
// the message's slots into this layer's vertex array: O(rows of the message), no wait for a frame). Drawing is
// batched by the map's animation frame: the vertex array is uploaded (once, however many messages arrived) and
// drawn in the next map render. A hidden page updates and draws nothing (the track table keeps absorbing the
// feed); on return the layer is rebuilt whole from the track table and drawn (catch-up).
//
// Two latencies are recorded, both from a message's receipt (performance.now() in the websocket's onmessage,
// before parsing; one clock): to the moment its positions are in the layer's vertex array (the map benchmark's
// headline, "feed message -> map source update"), and to the render of the map frame that uploads and draws them
// ("drawn": every message that arrived since the previous draw counts its own wait to that one draw).

// what both vertex shaders read: one aircraft's attributes, the view, the status colours
const VS_COMMON = `
attribute vec2 a_pos;
attribute float a_hdg;
attribute float a_st;
attribute float a_alpha;
uniform mat4 u_matrix;
uniform float u_size;
uniform float u_bearing;
uniform vec3 u_colours[6];
varying vec4 v_colour;
const vec4 OUTSIDE = vec4(2.0, 2.0, 2.0, 1.0); // beyond the clip volume: an aircraft outside the filter
vec3 statusColour() {
  int k = int(a_st + 0.5);
  vec3 c = u_colours[0];
  for (int i = 1; i < 6; i++) { if (i == k) c = u_colours[i]; }
  return c;
}`;

const VS = `${VS_COMMON}
varying vec2 v_cs;
void main() {
  if (a_alpha <= 0.0) { gl_Position = OUTSIDE; gl_PointSize = 0.0; v_colour = vec4(0.0); v_cs = vec2(1.0, 0.0); return; }
  gl_Position = u_matrix * vec4(a_pos, 0.0, 1.0);
  gl_PointSize = u_size;
  float rot = radians(a_hdg - u_bearing);
  v_cs = vec2(cos(rot), sin(rot)); // per aircraft, not per pixel (SwiftShader shades every pixel on the CPU)
  v_colour = vec4(statusColour(), a_alpha);
}`;

const FS = `
precision mediump float;
uniform float u_arrow;
varying vec2 v_cs;
varying vec4 v_colour;
float side(vec2 p, vec2 a, vec2 b) { return (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x); }
bool tri(vec2 p, vec2 a, vec2 b, vec2 c) {
  float d1 = side(p, a, b), d2 = side(p, b, c), d3 = side(p, c, a);
  return !((d1 < 0.0 || d2 < 0.0 || d3 < 0.0) && (d1 > 0.0 || d2 > 0.0 || d3 > 0.0));
}
void main() {
  vec2 p = gl_PointCoord * 2.0 - 1.0;
  p.y = -p.y;
  if (u_arrow < 0.5) {
    float d = length(p);
    if (d > 1.0) discard;
    vec3 c = d > 0.7 ? vec3(1.0) : v_colour.rgb;
    gl_FragColor = vec4(c * v_colour.a, v_colour.a);
    return;
  }
  float c = v_cs.x, s = v_cs.y;
  vec2 q = vec2(c * p.x - s * p.y, s * p.x + c * p.y);
  vec2 tip = vec2(0.0, 0.9), l = vec2(-0.7, -0.8), r = vec2(0.7, -0.8), notch = vec2(0.0, -0.4);
  // a white halo: the arrow grown by 15 %, then the arrow itself in the status colour
  bool inner = tri(q, tip, l, notch) || tri(q, tip, notch, r);
  bool halo = tri(q / 1.15, tip, l, notch) || tri(q / 1.15, tip, notch, r);
  if (!halo) discard;
  vec3 col = inner ? v_colour.rgb : vec3(1.0);
  gl_FragColor = vec4(col * v_colour.a, v_colour.a);
}`;

// Arrows as geometry (WebGL2, instanced): 12 vertices per aircraft, the halo's two triangles (the arrow grown by
// 15 %) then the arrow's two, in flat colours. The point sprite above shades every pixel of its square with four
// triangle tests; SwiftShader (no GPU) runs that on the CPU for ~4 M pixels a frame at 10,000 aircraft, while the
// triangles cover only the arrow's pixels with no per-pixel work. Dots (below ARROW_ZOOM) and WebGL1 keep the sprite.
const ARROW = [[0, 0.9], [-0.7, -0.8], [0, -0.4], [0, 0.9], [0, -0.4], [0.7, -0.8]];
const SHAPE = new Float32Array([...ARROW.flatMap(([x, y]) => [x * 1.15, y * 1.15, 0]), ...ARROW.flatMap(([x, y]) => [x, y, 1])]);

const ARROW_VS = `${VS_COMMON}
attribute vec3 a_shape;
uniform vec2 u_viewport;
void main() {
  if (a_alpha <= 0.0) { gl_Position = OUTSIDE; v_colour = vec4(0.0); return; }
  vec4 p = u_matrix * vec4(a_pos, 0.0, 1.0);
  float rot = radians(a_hdg - u_bearing);
  float c = cos(rot), s = sin(rot);
  // the sprite's rotation inverted: arrow space -> screen (y up), then u_size px across
  vec2 o = vec2(c * a_shape.x + s * a_shape.y, -s * a_shape.x + c * a_shape.y);
  gl_Position = p + vec4(o * u_size / u_viewport * p.w, 0.0, 0.0);
  v_colour = vec4(a_shape.z > 0.5 ? statusColour() : vec3(1.0), a_alpha);
}`;

const ARROW_FS = `
precision mediump float;
varying vec4 v_colour;
void main() { gl_FragColor = vec4(v_colour.rgb * v_colour.a, v_colour.a); }`;

const STRIDE = 5; // x, y, heading, status, alpha
const INSTANCE_ATTRS = [["a_pos", 2, 0], ["a_hdg", 1, 2], ["a_st", 1, 3], ["a_alpha", 1, 4]];

function link(gl, vs, fs) {
  const compile = (type, src) => {
    const sh = gl.createShader(type);
    gl.shaderSource(sh, src);
    gl.compileShader(sh);
    if (!gl.getShaderParameter(sh, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(sh));
    return sh;
  };
  const prog = gl.createProgram();
  gl.attachShader(prog, compile(gl.VERTEX_SHADER, vs));
  gl.attachShader(prog, compile(gl.FRAGMENT_SHADER, fs));
  gl.linkProgram(prog);
  if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(prog));
  return prog;
}

const locations = (gl, prog, attrs, unis) => [
  Object.fromEntries(attrs.map((a) => [a, gl.getAttribLocation(prog, a)])),
  Object.fromEntries(unis.map((u) => [u, gl.getUniformLocation(prog, u)]))];

function hexRgb(h) {
  const v = parseInt(h.slice(1), 16);
  return [(v >> 16) / 255, ((v >> 8) & 255) / 255, (v & 255) / 255];
}

/** Web Mercator [0, 1] x/y of lon/lat degrees (MapLibre's custom-layer coordinates). */
export function mercator(lon, lat) {
  const s = Math.sin((lat * Math.PI) / 180);
  return [(lon + 180) / 360, 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)];
}

export class TracksGL {
  /**
   * @param store the TrackStore
   * @param perf  a Perf ring: receipt -> the message's positions in the vertex array; perf.drawn: -> drawn
   * @param {object} opts colours (by status index), arrowZoom, proj (lon, lat) -> [lon, lat], keep(i) -> bool,
   *   denseMax: with more aircraft than this in view, dots instead of arrows
   */
  constructor(store, perf, { colours, arrowZoom, proj, identity = false, keep, denseMax = 2000 }) {
    this.id = "tracks-gl";
    this.type = "custom";
    this.renderingMode = "2d";
    this.store = store;
    this.perf = perf;
    this.drawnPerf = perf.drawn;
    this.colours = colours.flatMap(hexRgb);
    this.arrowZoom = arrowZoom;
    this.proj = proj;
    this.identity = identity; // proj is the identity (WGS-84 basemap): skipped per aircraft
    this.keep = keep;
    this.denseMax = denseMax;
    this.arrows = false; // the last frame drew arrows (not dots)
    this.undrawn = []; // receipt times of messages in the vertex array, not drawn yet (one draw takes them all)
    this.noted = 0; // messages handed to the layer (the bench checks that every one was measured)
    this.hiddenNoted = 0; // of which arrived while the page was hidden (nothing updated or drawn: not measured)
    this.offNoted = 0; // of which arrived while the layer was switched off (updated, never drawn: no "drawn" figure)
    this.data = new Float32Array(0); // STRIDE floats per track-table slot
    this.shown = new Uint8Array(0); // 1: slot inside the filter
    this.n = 0; // instances: the track table's slots
    this.count = 0; // aircraft drawn (inside the filter)
    this.epoch = -1; // the track table's layout (TrackStore.epoch) the vertex array was built for
    this.stale = true; // rebuild whole before the next draw (filter changed, the page was hidden, ...)
    this.uploadDue = true;
    this.updates = 0; // messages written into the vertex array
    this.rebuilds = 0; // whole rebuilds
    this.uploads = 0;
    this.draws = 0;
    document.addEventListener("visibilitychange", () => this.sync());
  }

  /**
   * A feed message's rows were just applied to the track table (its receipt at tRecv, performance.now(); its
   * server time tSent, epoch s): write the slots it touched into the vertex array now, and ask for a frame.
   */
  note(tRecv, tSent = undefined) {
    this.noted++;
    const slots = this.store.takeTouched();
    if (document.hidden) {
      this.hiddenNoted++; // nothing updated or drawn while hidden: rebuilt from the track table on return
      this.stale = true;
      return;
    }
    const rows = this._update(slots);
    const t = performance.now();
    this.perf.record(t - tRecv);
    if (typeof tSent === "number") this.perf.fromServer.record(performance.timeOrigin + t - tSent * 1000);
    this.perf.flushes++;
    this.perf.rows += rows;
    this.updates++;
    if (this._layerVisible()) this.undrawn.push(tRecv);
    else this.offNoted++;
    if (this.map) this.map.triggerRepaint();
  }

  /** Start counting afresh (the bench, after its warm-up): messages not yet drawn are forgotten. */
  resetCounts() {
    this.noted = 0;
    this.hiddenNoted = 0;
    this.offNoted = 0;
    this.undrawn.length = 0;
  }

  /** Something other than the feed changed what is drawn (the filter): rebuild now and draw. */
  invalidate() {
    this.stale = true;
    this.sync();
  }

  /**
   * Rebuild the vertex array whole if it is out of date (filter changed, the page was hidden while messages
   * arrived, the track table's slots moved: a removal or growth) and ask for a frame. Nothing while hidden.
   */
  sync() {
    if (document.hidden) return;
    if (!this.stale && this.epoch === this.store.epoch) return;
    this._rebuild();
    if (this.map) this.map.triggerRepaint();
  }

  /** Before each map frame: a removal (sweep) may have moved slots since the last message. */
  prerender() {
    this.sync();
  }

  /** The aircraft's Web Mercator position as the layer holds it (tests: the catch-up after a hidden spell). */
  positionOf(id) {
    const i = this.store.slot.get(id);
    return i === undefined || i >= this.n ? null : [this.data[i * STRIDE], this.data[i * STRIDE + 1]];
  }

  /**
   * The id of the drawn aircraft nearest to a screen point (within radius px), or null: clicks and hover when the
   * GeoJSON source does not hold them all. The vertex array's Mercator x/y are compared with the box around the
   * point first; only the few inside are projected to pixels.
   */
  pick(point, radius = 12) {
    const m = this.map;
    if (!m) return null;
    this.sync();
    let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
    for (const [dx, dy] of [[-1, -1], [1, -1], [-1, 1], [1, 1]]) {
      const c = m.unproject([point.x + dx * radius, point.y + dy * radius]);
      const [x, y] = mercator(c.lng, c.lat);
      [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
    }
    const d = this.data;
    let best = null;
    let bd = radius * radius;
    for (let i = 0; i < this.n; i++) {
      const k = i * STRIDE;
      if (!this.shown[i] || d[k] < x0 || d[k] > x1 || d[k + 1] < y0 || d[k + 1] > y1) continue;
      const p = m.project(this.identity ? [this.store.lon[i], this.store.lat[i]]
        : this.proj(this.store.lon[i], this.store.lat[i]));
      const dd = (p.x - point.x) ** 2 + (p.y - point.y) ** 2;
      if (dd <= bd) {
        bd = dd;
        best = this.store.ids[i];
      }
    }
    return best;
  }

  /**
   * Whether more than denseMax drawn aircraft are inside the map's view: then they are drawn as dots. Thousands
   * of overlapping arrows are unreadable (labels and trails go at the same count), and their 12 vertices and
   * ~20 x 20 px each were most of SwiftShader's work per frame at 10,000 aircraft (docs/benchmarks/map.md).
   * A box test on the vertex array, stopped at denseMax + 1.
   */
  _crowded() {
    if (this.count <= this.denseMax) return false;
    const b = this.map.getBounds();
    const [x0, y1] = mercator(b.getWest(), b.getSouth());
    const [x1, y0] = mercator(b.getEast(), b.getNorth());
    const d = this.data;
    let c = 0;
    for (let i = 0; i < this.n; i++) {
      const k = i * STRIDE;
      if (this.shown[i] && d[k] >= x0 && d[k] <= x1 && d[k + 1] >= y0 && d[k + 1] <= y1 && ++c > this.denseMax) {
        return true;
      }
    }
    return false;
  }

  _layerVisible() {
    return !this.map || this.map.getLayoutProperty(this.id, "visibility") !== "none";
  }

  /** Write the touched slots (null: all) into the vertex array; the number of rows written. */
  _update(slots) {
    const s = this.store;
    if (slots === null || this.stale || this.epoch !== s.epoch || this.data.length < s.n * STRIDE) {
      this._rebuild();
      return s.n;
    }
    for (let k = 0; k < slots.length; k++) this._write(slots[k]);
    this.n = s.n; // aircraft new to the table were appended, and are among the slots
    this.uploadDue = true;
    return slots.length;
  }

  _rebuild() {
    const s = this.store;
    if (this.data.length < s.cap * STRIDE) {
      this.data = new Float32Array(s.cap * STRIDE);
      this.shown = new Uint8Array(s.cap);
    } else {
      this.shown.fill(0);
    }
    this.count = 0;
    for (let i = 0; i < s.n; i++) this._write(i);
    this.n = s.n;
    this.epoch = s.epoch;
    this.stale = false;
    this.uploadDue = true;
    this.rebuilds++;
  }

  /** Slot i of the track table into the vertex array (Web Mercator as mercator(), inlined: no array per aircraft). */
  _write(i) {
    const s = this.store;
    const d = this.data;
    const k = i * STRIDE;
    let x = s.lon[i];
    let y = s.lat[i];
    if (!this.identity) [x, y] = this.proj(x, y);
    const sn = Math.sin((y * Math.PI) / 180);
    d[k] = (x + 180) / 360;
    d[k + 1] = 0.5 - Math.log((1 + sn) / (1 - sn)) / (4 * Math.PI);
    d[k + 2] = s.hdg[i];
    d[k + 3] = s.st[i];
    const on = this.keep(i) ? 1 : 0;
    d[k + 4] = on ? (s.co[i] ? 0.4 : 1) : 0;
    this.count += on - this.shown[i];
    this.shown[i] = on;
  }

  onAdd(map, gl) {
    this.map = map;
    this.prog = link(gl, VS, FS);
    [this.loc, this.uni] = locations(gl, this.prog, ["a_pos", "a_hdg", "a_st", "a_alpha"],
      ["u_matrix", "u_size", "u_bearing", "u_colours", "u_arrow"]);
    this.buffer = gl.createBuffer();
    if (typeof WebGL2RenderingContext !== "undefined" && gl instanceof WebGL2RenderingContext) {
      this.arrowProg = link(gl, ARROW_VS, ARROW_FS);
      [this.arrowLoc, this.arrowUni] = locations(gl, this.arrowProg, ["a_shape", "a_pos", "a_hdg", "a_st", "a_alpha"],
        ["u_matrix", "u_size", "u_bearing", "u_viewport", "u_colours"]);
      this.shape = gl.createBuffer();
      gl.bindBuffer(gl.ARRAY_BUFFER, this.shape);
      gl.bufferData(gl.ARRAY_BUFFER, SHAPE, gl.STATIC_DRAW);
      this.vao = gl.createVertexArray(); // its own: instancing divisors must not leak into MapLibre's arrays
    }
    this.uploadDue = true;
  }

  onRemove(map, gl) {
    gl.deleteBuffer(this.buffer);
    gl.deleteProgram(this.prog);
    if (this.arrowProg) {
      gl.deleteBuffer(this.shape);
      gl.deleteProgram(this.arrowProg);
      gl.deleteVertexArray(this.vao);
    }
  }

  /** Arrows as instanced triangles (WebGL2). */
  _drawArrows(gl, matrix, size) {
    const L = this.arrowLoc;
    gl.bindVertexArray(this.vao);
    gl.useProgram(this.arrowProg);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.shape);
    gl.enableVertexAttribArray(L.a_shape);
    gl.vertexAttribPointer(L.a_shape, 3, gl.FLOAT, false, 12, 0);
    gl.vertexAttribDivisor(L.a_shape, 0);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buffer);
    for (const [name, n, off] of INSTANCE_ATTRS) {
      gl.enableVertexAttribArray(L[name]);
      gl.vertexAttribPointer(L[name], n, gl.FLOAT, false, STRIDE * 4, off * 4);
      gl.vertexAttribDivisor(L[name], 1);
    }
    const U = this.arrowUni;
    gl.uniformMatrix4fv(U.u_matrix, false, matrix);
    gl.uniform1f(U.u_size, size);
    gl.uniform1f(U.u_bearing, this.map.getBearing());
    gl.uniform2f(U.u_viewport, gl.drawingBufferWidth, gl.drawingBufferHeight);
    gl.uniform3fv(U.u_colours, this.colours);
    gl.disable(gl.CULL_FACE);
    gl.enable(gl.BLEND);
    gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
    gl.drawArraysInstanced(gl.TRIANGLES, 0, SHAPE.length / 3, this.n);
    gl.bindVertexArray(null);
  }

  /** One map frame: the vertex array uploaded if it changed (once, whatever number of messages), one draw call. */
  render(gl, matrix) {
    if (document.hidden) return; // no draw work while hidden (sync() rebuilds and asks for a frame on return)
    if (this.uploadDue) {
      this.uploadDue = false;
      gl.bindBuffer(gl.ARRAY_BUFFER, this.buffer);
      gl.bufferData(gl.ARRAY_BUFFER, this.data.subarray(0, this.n * STRIDE), gl.DYNAMIC_DRAW);
      this.uploads++;
    }
    if (this.undrawn.length) {
      const t = performance.now();
      for (const t0 of this.undrawn) this.drawnPerf.record(t - t0);
      this.undrawn.length = 0;
      this.drawnPerf.flushes++;
    }
    if (!this.count) return;
    this.draws++;
    const zoom = this.map.getZoom();
    const arrow = zoom >= this.arrowZoom && !this._crowded();
    this.arrows = arrow;
    const dpr = window.devicePixelRatio || 1;
    // the symbol layer's sizes: arrows 48 px x 0.32..0.5 (zoom 9..13); dots 1.5..3 px radius (zoom 6..9)
    const size = arrow ? 48 * Math.min(0.5, 0.32 + ((zoom - this.arrowZoom) / 4) * 0.18) * 1.15
      : 2 * Math.max(1.5, Math.min(3, 1.5 + ((zoom - 6) / 3) * 1.5)) + 1;
    if (arrow && this.arrowProg) {
      this._drawArrows(gl, matrix, size * dpr);
      return;
    }
    gl.useProgram(this.prog);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buffer);
    for (const [name, n, off] of INSTANCE_ATTRS) {
      gl.enableVertexAttribArray(this.loc[name]);
      gl.vertexAttribPointer(this.loc[name], n, gl.FLOAT, false, STRIDE * 4, off * 4);
    }
    gl.uniformMatrix4fv(this.uni.u_matrix, false, matrix);
    gl.uniform1f(this.uni.u_size, size * dpr);
    gl.uniform1f(this.uni.u_bearing, this.map.getBearing());
    gl.uniform3fv(this.uni.u_colours, this.colours);
    gl.uniform1f(this.uni.u_arrow, arrow ? 1 : 0);
    gl.enable(gl.BLEND);
    gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
    gl.drawArrays(gl.POINTS, 0, this.n);
    for (const name of Object.keys(this.loc)) gl.disableVertexAttribArray(this.loc[name]);
  }
}
