// Fleet: register an aircraft (POST /aircraft), list the organisation's aircraft (GET /aircraft) and
// which of them are flying now (GET /tracks every few seconds while the page is visible: an operator
// sees only its own aircraft), drawn on the map.

import { api } from "./api.js";
import { $, el, resetList } from "./dom.js";
import { code, fillSelect, t } from "./i18n.js";

export class Fleet {
  constructor({ onChange, report, map }) {
    this.map = map;
    this.aircraft = [];
    this.flying = new Set();
    this.onChange = onChange;
    this.report = report;
    fillSelect($("ac-category"), "category");
    $("ac-category").value = "light_uav";
    $("fleet-form").onsubmit = (ev) => {
      ev.preventDefault();
      this.register();
    };
  }

  async register() {
    const body = { id: $("ac-id").value.trim(), category: $("ac-category").value };
    const reg = $("ac-registration").value.trim();
    const dev = $("ac-device").value.trim();
    if (reg) body.registration = reg;
    if (dev) body.device = dev;
    try {
      await api("/aircraft", { method: "POST", body });
      this.report($("fleet-msg"), t("fleet.added", { id: body.id }), "ok");
      $("fleet-form").reset();
      $("ac-category").value = body.category;
      await this.load();
    } catch (e) {
      this.report($("fleet-msg"), e, "error");
    }
  }

  async load() {
    this.aircraft = await api("/aircraft");
    await this.poll();
    this.render();
    this.onChange(this.aircraft);
  }

  /** Own aircraft flying now: on the map, and the list's badges when that changes. */
  async poll() {
    let tracks;
    try {
      tracks = await api("/tracks");
    } catch {
      return;
    }
    const flying = new Set(tracks.features.map((f) => f.properties.id));
    this.map.setTracks(tracks);
    const changed = flying.size !== this.flying.size || [...flying].some((id) => !this.flying.has(id));
    this.flying = flying;
    if (changed) this.render();
  }

  watch(everyMs = 3000) {
    setInterval(() => document.visibilityState === "visible" && this.poll(), everyMs);
  }

  render() {
    const ul = $("fleet-list");
    if (!resetList(ul, this.aircraft, t("fleet.none"))) return;
    for (const a of this.aircraft) {
      const li = el("li", "card aircraft");
      li.dataset.id = a.id;
      const flying = this.flying.has(a.id);
      const head = el("div", "row");
      head.append(el("b", "", a.id), el("span", `badge ${flying ? "flying" : "idle"}`,
        t(flying ? "fleet.flying" : "fleet.on_ground")));
      const meta = el("small", "", [code("category", a.category), a.registration || t("fleet.no_reg"),
        a.device_user_id ? t("fleet.bound") : ""].filter(Boolean).join(" · "));
      li.append(head, meta);
      ul.append(li);
    }
  }
}
