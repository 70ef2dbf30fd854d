// Client-side state: the track table (struct of typed arrays, id -> slot, swap-remove, bounded trails)
// and the active alerts. Applying a feed message only touches the rows it carries and marks them dirty;
// the layers module turns dirty rows into map source diffs once per animation frame.

export const STATUS = ["unknown", "conforming", "deviating", "unauthorised", "noncoop", "lost", "atc"];
const STATUS_CODE = Object.fromEntries(STATUS.map((s, k) => [s, k]));
export const LOST = STATUS_CODE.lost;
export const SOURCES = ["telemetry", "adsb", "rid", "noncoop"];
const SOURCE_CODE = Object.fromEntries(SOURCES.map((s, k) => [s, k]));
const NONCOOP_SOURCE = SOURCE_CODE.noncoop;
const F64_COLUMNS = ["lon", "lat", "alt", "hdg", "gs", "vs", "tr"];

/**
 * Turn a feed message's track columns into typed arrays in place (the worker does this off the main thread):
 * numbers as Float64Array, ``co``/``gnd`` as Uint8Array, ``st``/``src`` as Uint8Array codes of STATUS /
 * SOURCES (``coded`` set). Returns the buffers, for postMessage to transfer instead of copy.
 */
export function codeColumns(cols) {
  const transfer = [];
  const put = (k, a) => {
    cols[k] = a;
    transfer.push(a.buffer);
  };
  for (const k of F64_COLUMNS) if (Array.isArray(cols[k])) put(k, Float64Array.from(cols[k]));
  for (const k of ["co", "gnd"]) if (Array.isArray(cols[k])) put(k, Uint8Array.from(cols[k]));
  if (Array.isArray(cols.st) && Array.isArray(cols.src)) {
    put("st", Uint8Array.from(cols.st, (v) => STATUS_CODE[v] ?? 0));
    put("src", Uint8Array.from(cols.src, (v) => SOURCE_CODE[v] ?? 0));
    cols.coded = true;
  }
  return transfer;
}

export class TrackStore {
  /**
   * @param {number} capacity initial rows (grows by doubling)
   * @param {number} trailLen positions kept per aircraft for its trail (fixed: memory is bounded)
   * @param {number} keepLostMs how long a lost track stays drawn (grey) before it is removed
   */
  constructor(capacity = 1024, trailLen = 12, keepLostMs = 60000) {
    this.trailLen = trailLen;
    this.keepLostMs = keepLostMs;
    this.n = 0;
    this.ids = [];
    this.slot = new Map();
    this.dirty = new Set();
    this.removed = new Set();
    this.epoch = 0; // bumped whenever rows move between slots (a removal, growth): slot-indexed copies rebuild
    this.nTouched = 0;
    this.touchedAll = false;
    this._alloc(capacity);
  }

  _alloc(cap) {
    const old = this.cap ? this : null;
    this.cap = cap;
    this.epoch++;
    // the slots written since the last takeTouched() (the WebGL layer copies only those)
    this.touched = new Int32Array(cap * 2);
    this.touchedAll = true;
    const f64 = (name) => {
      const a = new Float64Array(cap);
      if (old) a.set(old[name].subarray(0, this.n));
      return a;
    };
    const f32 = (name) => {
      const a = new Float32Array(cap);
      if (old) a.set(old[name].subarray(0, this.n));
      return a;
    };
    this.lon = f64("lon");
    this.lat = f64("lat");
    this.tr = f64("tr");
    this.lostAt = f64("lostAt");
    this.alt = f32("alt");
    this.hdg = f32("hdg");
    this.gs = f32("gs");
    this.vs = f32("vs");
    const st = new Uint8Array(cap);
    const coop = new Uint8Array(cap);
    const co = new Uint8Array(cap);
    const src = new Uint8Array(cap);
    const trail = new Float64Array(cap * this.trailLen * 2);
    const head = new Uint16Array(cap);
    const count = new Uint16Array(cap);
    if (old) {
      st.set(old.st.subarray(0, this.n));
      coop.set(old.coop.subarray(0, this.n));
      co.set(old.co.subarray(0, this.n));
      src.set(old.src.subarray(0, this.n));
      trail.set(old.trail.subarray(0, this.n * this.trailLen * 2));
      head.set(old.trailHead.subarray(0, this.n));
      count.set(old.trailCount.subarray(0, this.n));
    }
    this.st = st;
    this.coop = coop;
    this.src = src; // index into SOURCES
    this.co = co; // 1: coasting (no report for a few seconds: drawn where last reported, faded)
    this.trail = trail;
    this.trailHead = head;
    this.trailCount = count;
  }

  get size() {
    return this.n;
  }

  /** Apply columnar rows from the feed (``tracks`` of a snapshot or a diff). */
  applyRows(rows) {
    const { ids, lon, lat, alt, hdg, gs, vs, tr, co } = rows;
    // status and source as codes: the worker's (codeColumns), or looked up here for a frame parsed on this thread
    const st = rows.coded ? rows.st : Uint8Array.from(rows.st, (v) => STATUS_CODE[v] ?? 0);
    const src = rows.coded ? rows.src : Uint8Array.from(rows.src, (v) => SOURCE_CODE[v] ?? 0);
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k];
      let i = this.slot.get(id);
      if (i === undefined) {
        if (this.n === this.cap) this._alloc(this.cap * 2);
        i = this.n++;
        this.slot.set(id, i);
        this.ids[i] = id;
        this.trailHead[i] = 0;
        this.trailCount[i] = 0;
        this.removed.delete(id);
      }
      const moved = this.trailCount[i] === 0 || this.lon[i] !== lon[k] || this.lat[i] !== lat[k];
      this.lon[i] = lon[k];
      this.lat[i] = lat[k];
      this.alt[i] = alt[k];
      this.hdg[i] = hdg[k];
      this.gs[i] = gs[k];
      this.vs[i] = vs[k];
      this.tr[i] = tr[k];
      this.coop[i] = src[k] === NONCOOP_SOURCE ? 0 : 1;
      this.src[i] = src[k];
      this.st[i] = st[k];
      this.co[i] = co ? co[k] : 0;
      this.lostAt[i] = 0;
      this._touch(i);
      if (moved) this._pushTrail(i, lon[k], lat[k]);
      this.dirty.add(id);
    }
  }

  _touch(i) {
    if (this.nTouched < this.touched.length) this.touched[this.nTouched++] = i;
    else this.touchedAll = true;
  }

  /**
   * The slots written since the last call (a view, valid until the next write), or null when they cannot be
   * told (too many, or rows moved between slots): then every slot is to be read again.
   */
  takeTouched() {
    const out = this.touchedAll ? null : this.touched.subarray(0, this.nTouched);
    this.nTouched = 0;
    this.touchedAll = false;
    return out;
  }

  _pushTrail(i, lon, lat) {
    const L = this.trailLen;
    const base = i * L * 2;
    const h = this.trailHead[i];
    this.trail[base + h * 2] = lon;
    this.trail[base + h * 2 + 1] = lat;
    this.trailHead[i] = (h + 1) % L;
    if (this.trailCount[i] < L) this.trailCount[i]++;
  }

  /** Trail of row i, oldest first, as [[lon, lat], ...] through ``proj``. */
  trailOf(i, proj) {
    const L = this.trailLen;
    const c = this.trailCount[i];
    const base = i * L * 2;
    const out = new Array(c);
    let h = (this.trailHead[i] - c + L) % L;
    for (let k = 0; k < c; k++) {
      out[k] = proj(this.trail[base + h * 2], this.trail[base + h * 2 + 1]);
      h = (h + 1) % L;
    }
    return out;
  }

  /** A full snapshot: rows not in it are removed. */
  replaceAll(rows) {
    const keep = new Set(rows.ids);
    for (const id of this.ids.slice(0, this.n)) if (!keep.has(id)) this.remove(id);
    this.applyRows(rows);
  }

  markLost(ids, now) {
    for (const id of ids) {
      const i = this.slot.get(id);
      if (i === undefined) continue;
      this.st[i] = LOST;
      this.lostAt[i] = now;
      this._touch(i);
      this.dirty.add(id);
    }
  }

  /** Drop tracks lost longer than keepLostMs ago (keeps memory bounded over hours). */
  sweep(now) {
    for (let i = this.n - 1; i >= 0; i--) {
      if (this.lostAt[i] && now - this.lostAt[i] > this.keepLostMs) this.remove(this.ids[i]);
    }
  }

  remove(id) {
    const i = this.slot.get(id);
    if (i === undefined) return;
    const last = this.n - 1;
    if (i !== last) {
      const lid = this.ids[last];
      for (const a of [this.lon, this.lat, this.tr, this.lostAt, this.alt, this.hdg, this.gs, this.vs, this.st,
        this.coop, this.co, this.src, this.trailHead, this.trailCount]) a[i] = a[last];
      const L2 = this.trailLen * 2;
      this.trail.copyWithin(i * L2, last * L2, last * L2 + L2);
      this.ids[i] = lid;
      this.slot.set(lid, i);
    }
    this.ids.length = last;
    this.epoch++;
    this.touchedAll = true;
    this.slot.delete(id);
    this.n = last;
    this.dirty.delete(id);
    this.removed.add(id);
  }

  /** Take and clear the dirty and removed sets. */
  takeChanges() {
    const dirty = this.dirty;
    const removed = this.removed;
    this.dirty = new Set();
    this.removed = new Set();
    return { dirty, removed };
  }

  position(id) {
    const i = this.slot.get(id);
    return i === undefined ? null : [this.lon[i], this.lat[i]];
  }
}

const SEVERITY_RANK = { alarm: 0, warning: 1, caution: 2 };

export class AlertStore {
  constructor() {
    this.byId = new Map();
    this.version = 0;
  }

  replaceAll(list) {
    this.byId.clear();
    for (const a of list || []) this.byId.set(a.id, { ...a, seenAt: Date.now() / 1000 });
    this.version++;
  }

  applyDiff(msg) {
    const now = Date.now() / 1000;
    for (const a of [...(msg.new || []), ...(msg.updated || [])]) this.byId.set(a.id, { ...a, seenAt: now });
    for (const id of msg.cleared || []) this.byId.delete(id);
    this.version++;
  }

  /** Sorted by severity (alarm first), then first seen (oldest first), then id: a stable order (kept per version). */
  sorted() {
    if (this._sorted && this._sortedVersion === this.version) return this._sorted;
    this._sortedVersion = this.version;
    this._sorted = [...this.byId.values()].sort((a, b) => {
      const s = (SEVERITY_RANK[a.severity] ?? 9) - (SEVERITY_RANK[b.severity] ?? 9);
      if (s) return s;
      const f = (a.first_seen || 0) - (b.first_seen || 0);
      if (f) return f;
      return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    });
    return this._sorted;
  }

  conflicts() {
    const out = [];
    for (const a of this.byId.values()) if (a.kind === "conflict" && a.aircraft?.length === 2) out.push(a);
    return out;
  }
}
