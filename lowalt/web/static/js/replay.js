// Replay: one or more aircraft (comma-separated ids) over a time window, from PostGIS history
// (GET /tracks/{id}/history) at 1-60x, with the alerts of that window from the log (GET /alerts?log=true);
// or every aircraft inside an area (a rectangle drawn on the map, the current view, or typed) with the
// alerts of that window (GET /replay/area): each aircraft drawn where it was (interpolated between reports)
// with the path flown so far; the alerts active at the replay time are marked in the replay's alert list.

import { t } from "./i18n.js";
import { el, fmtClock, setText } from "./dom.js";

const COLOURS = ["#5f3dc4", "#d6336c", "#0c8599", "#e8590c"];
const epoch = (v) => (v === null || v === undefined ? null : typeof v === "number" ? v : Date.parse(v) / 1000);

function localInput(d) {
  // datetime-local value in the centre's zone (Asia/Shanghai, UTC+8, no DST)
  return new Date(d.getTime() + 8 * 3600000).toISOString().slice(0, 19);
}

function fromLocalInput(v) {
  return new Date(`${v}+08:00`);
}

export class Replay {
  constructor({ api, layers, proj }) {
    this.api = api;
    this.layers = layers;
    this.proj = proj;
    this.$ = (id) => document.getElementById(id);
    this.tracks = []; // [{id, t: Float64Array, lon, lat, alt}]
    this.alerts = [];
    this.seenActive = new Set();
    this.state = "idle"; // idle | loading | ready | playing | paused | ended | error
    this.t = 0;
    this.t0 = 0;
    this.t1 = 0;
    this.raf = null;
    const now = new Date();
    this.$("replay-from").value = localInput(new Date(now.getTime() - 15 * 60000));
    this.$("replay-to").value = localInput(now);
    this.$("replay-load").onclick = () => this.load();
    this.$("replay-view").onclick = () => {
      const b = this.layers.map.getBounds();
      this.setArea([b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]);
    };
    this.$("replay-pick").onclick = () => this.pickArea();
    this.$("replay-play").onclick = () => (this.state === "playing" ? this.pause() : this.play());
    this.$("replay-stop").onclick = () => this.stop();
    this.$("replay-seek").oninput = () => {
      this.t = this.t0 + (this.t1 - this.t0) * (Number(this.$("replay-seek").value) / 1000);
      this.draw();
    };
  }

  /** Fill the form for an aircraft (or a pair) and a window, e.g. from an alert. */
  prefill(ids, from, to) {
    this.$("replay-ids").value = ids.join(",");
    if (from) this.$("replay-from").value = localInput(from);
    if (to) this.$("replay-to").value = localInput(to);
  }

  /** Fill the area field (WGS84 degrees, 5 decimals: about 1 m) and outline it. */
  setArea(bbox) {
    this.$("replay-area").value = bbox.map((v) => v.toFixed(5)).join(",");
    this.area = bbox;
    this._drawArea(bbox);
  }

  _drawArea(b) {
    const ring = [[b[0], b[1]], [b[2], b[1]], [b[2], b[3]], [b[0], b[3]], [b[0], b[1]]];
    this.layers.setStatic("replay", { type: "FeatureCollection",
      features: [{ type: "Feature", geometry: { type: "Polygon", coordinates: [ring] }, properties: {} }] });
  }

  /** Drag a rectangle on the map (map panning is off meanwhile); it fills the area field. */
  pickArea() {
    const map = this.layers.map;
    const box = map.getCanvasContainer();
    map.dragPan.disable();
    this.$("map").classList.add("picking");
    this._status("replay.picking");
    let start = null;
    const done = () => {
      map.off("mousedown", down);
      map.off("mousemove", move);
      map.off("mouseup", up);
      map.dragPan.enable();
      this.$("map").classList.remove("picking");
      box.style.cursor = "";
    };
    const bboxOf = (a, b) => [Math.min(a.lng, b.lng), Math.min(a.lat, b.lat), Math.max(a.lng, b.lng), Math.max(a.lat, b.lat)];
    const down = (e) => {
      start = e.lngLat;
    };
    const move = (e) => {
      if (start) this._drawArea(bboxOf(start, e.lngLat));
    };
    const up = (e) => {
      if (!start) return;
      const b = bboxOf(start, e.lngLat);
      done();
      if (b[2] > b[0] && b[3] > b[1]) this.setArea(b);
      this.state = "idle";
      this._status("replay.idle");
    };
    map.on("mousedown", down);
    map.on("mousemove", move);
    map.on("mouseup", up);
  }

  _area() {
    const v = this.$("replay-area").value.trim();
    if (!v) return null;
    const b = v.split(/[,，\s]+/).map(Number);
    return b.length === 4 && b.every(Number.isFinite) && b[0] < b[2] && b[1] < b[3] ? b : undefined;
  }

  _status(key, vars) {
    this.$("replay-status").dataset.state = this.state;
    this.$("replay-status").dataset.i18n = key;
    setText(this.$("replay-status"), t(key, vars));
  }

  async load() {
    this.pause();
    const ids = this.$("replay-ids").value.split(/[,，\s]+/).map((x) => x.trim()).filter(Boolean);
    const from = fromLocalInput(this.$("replay-from").value);
    const to = fromLocalInput(this.$("replay-to").value);
    const area = this._area();
    if (area === undefined || (!ids.length && !area) || !(to > from)) {
      this.state = "error";
      this._status("replay.bad_input");
      return;
    }
    this.state = "loading";
    this._status("replay.loading");
    const q = `from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}`;
    this.truncated = false;
    try {
      if (area) await this._loadArea(area, q);
      else await this._loadIds(ids, q, from, to);
    } catch (err) {
      this.state = "error";
      this._status("replay.error", { msg: err.message });
      return;
    }
    this.area = area;
    if (!this.tracks.length) {
      this.state = "error";
      this._status("replay.empty");
      this.layers.setStatic("replay", null);
      return;
    }
    this.t0 = Math.min(...this.tracks.map((x) => x.t[0]));
    this.t1 = Math.max(...this.tracks.map((x) => x.t[x.t.length - 1]));
    this.t = this.t0;
    this.seenActive = new Set(); // alerts shown active during this replay (for the tests)
    this._alertList();
    this.state = "ready";
    if (this.truncated) this._status("replay.truncated");
    else this._status("replay.ready", { n: this.tracks.reduce((s, x) => s + x.t.length, 0), a: this.alerts.length });
    if (area) this.layers.map.fitBounds([[area[0], area[1]], [area[2], area[3]]], { padding: 40, duration: 0 });
    else this.layers.flyTo(this.tracks[0].lon[0], this.tracks[0].lat[0], 13);
    this.draw();
  }

  /** Every aircraft's reports inside the area, and the alerts of the window (one request). */
  async _loadArea(area, q) {
    const r = await this.api(`/replay/area?bbox=${area.join(",")}&${q}`);
    this.truncated = r.truncated;
    this.tracks = r.tracks.map((tr, k) => ({ id: tr.id, colour: COLOURS[k % COLOURS.length],
      t: tr.points.map((p) => p[0]), lon: tr.points.map((p) => p[1]), lat: tr.points.map((p) => p[2]),
      alt: tr.points.map((p) => p[3]) }));
    this.alerts = r.alerts;
  }

  async _loadIds(ids, q, from, to) {
    const [hist, log] = await Promise.all([
      Promise.all(ids.map((id) => this.api(`/tracks/${encodeURIComponent(id)}/history?${q}`))),
      this.api("/alerts?log=true").catch(() => [])]);
    this.tracks = [];
    hist.forEach((fc, k) => {
      const pts = fc.features.filter((f) => f.properties.kind === "report")
        .map((f) => [epoch(f.properties.t), ...f.geometry.coordinates]).sort((a, b) => a[0] - b[0]);
      if (pts.length) {
        this.tracks.push({ id: ids[k], colour: COLOURS[k % COLOURS.length], t: pts.map((p) => p[0]),
          lon: pts.map((p) => p[1]), lat: pts.map((p) => p[2]), alt: pts.map((p) => p[3]) });
      }
    });
    const f = from.getTime() / 1000;
    const e = to.getTime() / 1000;
    const mine = new Set(ids);
    this.alerts = (log || []).filter((a) => (a.aircraft || []).some((x) => mine.has(x))
      && epoch(a.first_seen) <= e && (epoch(a.cleared_at) ?? epoch(a.last_seen) ?? e) >= f)
      .sort((a, b) => epoch(a.first_seen) - epoch(b.first_seen));
  }

  _alertList() {
    const root = this.$("replay-alerts");
    this.alertRows = this.alerts.map((a) => el("li", { class: `alert sev-${a.severity} kind-${a.kind}`, "data-alert": a.id },
      el("div", { class: "alert-head" }, el("span", { class: "sev", "data-i18n": `sev.${a.severity}` }, t(`sev.${a.severity}`)),
        el("span", { class: "kind", "data-i18n": `kind.${a.kind}` }, t(`kind.${a.kind}`)), el("span", { class: "ids" }, (a.aircraft || []).join(" ↔ ")),
        el("span", { class: "since" }, fmtClock(epoch(a.first_seen))))));
    root.replaceChildren(...(this.alertRows.length ? this.alertRows
      : [el("li", { class: "empty", "data-i18n": "replay.no_alerts" }, t("replay.no_alerts"))]));
  }

  play() {
    if (!this.tracks.length) return;
    if (this.t >= this.t1) this.t = this.t0;
    this.state = "playing";
    this._status("replay.playing");
    setText(this.$("replay-play"), t("replay.pause"));
    let last = performance.now();
    const step = (now) => {
      if (this.state !== "playing") return;
      const speed = Number(this.$("replay-speed").value) || 1;
      this.t = Math.min(this.t1, this.t + ((now - last) / 1000) * speed);
      last = now;
      this.draw();
      if (this.t >= this.t1) {
        this.state = "ended";
        this._status("replay.ended");
        setText(this.$("replay-play"), t("replay.play"));
        return;
      }
      this.raf = requestAnimationFrame(step);
    };
    this.raf = requestAnimationFrame(step);
  }

  pause() {
    if (this.state !== "playing") return;
    cancelAnimationFrame(this.raf);
    this.state = "paused";
    this._status("replay.paused");
    setText(this.$("replay-play"), t("replay.play"));
  }

  stop() {
    cancelAnimationFrame(this.raf);
    this.state = "idle";
    this.tracks = [];
    this.alerts = [];
    this.area = null;
    this._status("replay.idle");
    setText(this.$("replay-play"), t("replay.play"));
    setText(this.$("replay-clock"), "");
    this.$("replay-alerts").replaceChildren();
    this.layers.setStatic("replay", null);
  }

  /** Positions at the replay time (interpolated), the paths so far, the alerts active then. */
  draw() {
    const feats = [];
    const T = this.t;
    for (const tr of this.tracks) {
      let k = 0;
      while (k + 1 < tr.t.length && tr.t[k + 1] <= T) k++;
      if (T < tr.t[0]) continue;
      const path = [];
      for (let j = 0; j <= k; j++) path.push([tr.lon[j], tr.lat[j]]);
      let lon = tr.lon[k];
      let lat = tr.lat[k];
      let alt = tr.alt[k];
      if (k + 1 < tr.t.length) {
        const f = (T - tr.t[k]) / (tr.t[k + 1] - tr.t[k] || 1);
        lon += (tr.lon[k + 1] - lon) * f;
        lat += (tr.lat[k + 1] - lat) * f;
        alt += (tr.alt[k + 1] - alt) * f;
      }
      path.push([lon, lat]);
      if (path.length >= 2) {
        feats.push({ type: "Feature", geometry: { type: "LineString", coordinates: path },
          properties: { id: tr.id, colour: tr.colour } });
      }
      feats.push({ type: "Feature", geometry: { type: "Point", coordinates: [lon, lat] },
        properties: { id: tr.id, colour: tr.colour, lbl: `${tr.id}  ${Math.round(alt)} m AMSL` } });
    }
    if (this.area) {
      const b = this.area;
      feats.push({ type: "Feature", geometry: { type: "Polygon", coordinates: [[[b[0], b[1]], [b[2], b[1]], [b[2], b[3]],
        [b[0], b[3]], [b[0], b[1]]]] }, properties: {} });
    }
    this.layers.setStatic("replay", { type: "FeatureCollection", features: feats });
    setText(this.$("replay-clock"), fmtClock(T));
    this.$("replay-seek").value = String(Math.round(((T - this.t0) / Math.max(1e-9, this.t1 - this.t0)) * 1000));
    this.alerts.forEach((a, k) => {
      const on = epoch(a.first_seen) <= T && T <= (epoch(a.cleared_at) ?? Infinity);
      this.alertRows[k]?.classList.toggle("active", on);
      if (on) this.seenActive.add(a.id);
    });
  }
}
