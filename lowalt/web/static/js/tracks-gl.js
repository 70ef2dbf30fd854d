// The aircraft drawn straight from the track table with WebGL (a MapLibre custom layer): one vertex per
// aircraft (Web Mercator x/y, heading, status, coasting), re-uploaded whole in the frame after a feed message
// (10,000 aircraft: 200 KB, well under a millisecond), drawn as rotated arrows (dots below ARROW_ZOOM) by a
// point-sprite shader. Why: the GeoJSON source re-tiles every feature in MapLibre's worker on each update
// (hundreds of ms at 10,000 aircraft on a small machine); positions must not wait for that. The GeoJSON
// "tracks" source is still kept up to date, more slowly, for what needs features: picking, labels,
// queryRenderedFeatures (its own icons are drawn transparent).
//
// Two latencies are recorded here, both from a message's receipt (performance.now() in the websocket's onmessage,
// before parsing): to the update of the layer's data (the vertex array rebuilt from the track table at the start
// of the first map frame after the message, in its animation frame: the map benchmark's headline, "feed message
// -> map source update"), and to the render of that frame, which draws it ("drawn"). Messages that arrive
// within one animation frame are coalesced into one update; each counts its own latency to the update that
// applied it.

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
vec3 statusColour() {
  int k = int(a_st + 0.5);
  vec3 c = u_colours[0];
  for (int i = 1; i < 6; i++) { if (i == k) c = u_colours[i]; }
  return c;
}`;

const VS = `${VS_COMMON}
varying vec2 v_cs;
void main() {
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
   * @param perf  a Perf ring: receipt -> drawn latencies
   * @param {object} opts colours (by status index), arrowZoom, proj (lon, lat) -> [lon, lat], keep(i) -> bool
   */
  constructor(store, perf, { colours, arrowZoom, proj, identity = false, keep }) {
    this.id = "tracks-gl";
    this.type = "custom";
    this.renderingMode = "2d";
    this.store = store;
    this.perf = perf; // receipt -> layer data updated
    this.drawnPerf = perf.drawn; // receipt -> drawn
    this.colours = colours.flatMap(hexRgb);
    this.arrowZoom = arrowZoom;
    this.proj = proj;
    this.identity = identity; // proj is the identity (WGS-84 basemap): skipped per aircraft
    this.keep = keep;
    this.pending = []; // receipt times of messages not in the layer's data yet
    this.pendingSent = []; // their server times (epoch ms), where the message had one
    this.undrawn = []; // receipt times of messages in the data, not drawn yet
    this.noted = 0; // messages handed to the layer (the bench checks that every one was measured)
    this.hiddenNoted = 0; // of which arrived while the page was hidden (nothing drawn: not measured)
    this.dirty = true;
    this.uploadDue = true;
    this.count = 0;
    this.data = new Float32Array(0);
    this.updates = 0;
    this.uploads = 0;
  }

  /** A feed message was applied to the track table at tRecv: the next map frame updates the data and draws it. */
  note(tRecv, tSent = undefined) {
    this.noted++;
    if (document.hidden) {
      this.hiddenNoted++; // a hidden page updates and draws nothing: no latency to measure
    } else {
      this.pending.push(tRecv);
      if (typeof tSent === "number") this.pendingSent.push(tSent * 1000);
    }
    this.dirty = true;
    if (this.map) this.map.triggerRepaint();
  }

  /** Start counting afresh (the bench, after its warm-up): messages not yet measured are forgotten. */
  resetCounts() {
    this.noted = 0;
    this.hiddenNoted = 0;
    this.pending.length = 0;
    this.pendingSent.length = 0;
    this.undrawn.length = 0;
  }

  /** Something other than the feed changed what is drawn (filter, visibility): rebuild now. */
  invalidate() {
    this.dirty = true;
    this.update();
  }

  /**
   * Rebuild the vertex data from the track table if anything changed: at the start of each map frame
   * (prerender, in the animation frame: all messages since the last frame in one update, drawn in that same
   * frame) or from MapLayers.frame; the GL upload happens in the frame's render.
   */
  prerender() {
    this.update(false);
  }

  update(repaint = true) {
    if (!this.dirty) return;
    this.dirty = false;
    this._rebuild();
    this.updates++;
    this.uploadDue = true;
    if (this.pending.length) {
      const t = performance.now();
      for (const t0 of this.pending) {
        this.perf.record(t - t0);
        this.undrawn.push(t0);
      }
      this.pending.length = 0;
      const wall = performance.timeOrigin + t; // the same clock as the server's on this machine
      for (const t0 of this.pendingSent) this.perf.fromServer.record(wall - t0);
      this.pendingSent.length = 0;
      this.perf.flushes++;
      this.perf.rows += this.count;
    }
    if (repaint && this.map) this.map.triggerRepaint(); // not from prerender: that frame draws it already
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
    gl.drawArraysInstanced(gl.TRIANGLES, 0, SHAPE.length / 3, this.count);
    gl.bindVertexArray(null);
  }

  _rebuild() {
    const s = this.store;
    if (this.data.length < s.n * STRIDE) this.data = new Float32Array(Math.max(1024, s.cap) * STRIDE);
    const d = this.data;
    const { lon, lat, hdg, st, co } = s;
    const proj = this.identity ? null : this.proj;
    let k = 0;
    for (let i = 0; i < s.n; i++) {
      if (!this.keep(i)) continue;
      let x = lon[i];
      let y = lat[i];
      if (proj) [x, y] = proj(x, y);
      // Web Mercator, as mercator() (inlined: no array per aircraft)
      const sn = Math.sin((y * Math.PI) / 180);
      d[k] = (x + 180) / 360;
      d[k + 1] = 0.5 - Math.log((1 + sn) / (1 - sn)) / (4 * Math.PI);
      d[k + 2] = hdg[i];
      d[k + 3] = st[i];
      d[k + 4] = co[i] ? 0.4 : 1;
      k += STRIDE;
    }
    this.count = k / STRIDE;
  }

  render(gl, matrix) {
    if (this.uploadDue) {
      this.uploadDue = false;
      gl.bindBuffer(gl.ARRAY_BUFFER, this.buffer);
      gl.bufferData(gl.ARRAY_BUFFER, this.data.subarray(0, this.count * STRIDE), gl.DYNAMIC_DRAW);
      this.uploads++;
    }
    if (this.undrawn.length) {
      const t = performance.now();
      for (const t0 of this.undrawn) this.drawnPerf.record(t - t0);
      this.undrawn.length = 0;
      this.drawnPerf.flushes++;
    }
    if (!this.count) return;
    const zoom = this.map.getZoom();
    const arrow = zoom >= this.arrowZoom;
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
    gl.drawArrays(gl.POINTS, 0, this.count);
    for (const name of Object.keys(this.loc)) gl.disableVertexAttribArray(this.loc[name]);
  }
}
