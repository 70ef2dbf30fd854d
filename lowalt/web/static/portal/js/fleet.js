// Fleet: register an aircraft (POST /aircraft), list the organisation's aircraft (GET /aircraft) and
// which of them are flying now (GET /tracks: an operator sees only its own aircraft).

import { api } from "./api.js";
import { $, el, resetList } from "./dom.js";
import { code, fillSelect, t } from "./i18n.js";

export class Fleet {
  constructor({ onChange, report }) {
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
    const [aircraft, tracks] = await Promise.all([api("/aircraft"), api("/tracks").catch(() => ({ features: [] }))]);
    this.aircraft = aircraft;
    this.flying = new Set((tracks.features || []).map((f) => f.properties && (f.properties.id || f.id)));
    this.render();
    this.onChange(this.aircraft);
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
