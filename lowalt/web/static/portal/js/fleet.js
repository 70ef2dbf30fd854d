// Fleet: register an aircraft (POST /aircraft), edit one (PATCH /aircraft/{id}: category, registration
// number, device binding to one of the organisation's device users), list the organisation's aircraft
// (GET /aircraft) and which of them are flying now (GET /tracks every few seconds while the page is visible: an operator
// sees only its own aircraft), drawn on the map.

import { api } from "./api.js";
import { $, el, resetList } from "./dom.js";
import { code, fillSelect, t } from "./i18n.js";

/** The PATCH body for an edit form's values against the aircraft as listed (only what changed). */
export function editBody(a, { category, registration, device, unbind }) {
  const body = {};
  if (category && category !== a.category) body.category = category;
  const reg = registration.trim();
  if (reg !== (a.registration || "")) body.registration = reg || null;
  if (unbind) body.device = null;
  else if (device.trim()) body.device = device.trim();
  return body;
}

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
      const acts = el("div", "actions");
      const edit = el("button", "act-edit", t("fleet.edit"));
      edit.type = "button";
      edit.onclick = () => this.openEditor(li, a);
      acts.append(edit);
      li.append(head, meta, acts);
      ul.append(li);
    }
  }

  /** An inline form on the aircraft's card: category, registration number, device (bind / unbind). */
  openEditor(li, a) {
    if (li.querySelector("form.edit")) return;
    const form = el("form", "edit grid");
    const field = (key, input) => {
      const label = el("label");
      label.append(el("span", "", t(key)), input);
      form.append(label);
      return input;
    };
    const cat = field("fleet.category", el("select", "e-category"));
    fillSelect(cat, "category");
    cat.value = a.category;
    const reg = field("fleet.registration", el("input", "e-registration"));
    reg.value = a.registration || "";
    reg.maxLength = 64;
    const dev = field("fleet.device", el("input", "e-device"));
    dev.placeholder = t(a.device_user_id ? "fleet.device_change" : "fleet.device_ph");
    dev.maxLength = 120;
    let unbind = null;
    if (a.device_user_id) {
      unbind = el("input", "e-unbind");
      unbind.type = "checkbox";
      const l = el("label", "check");
      l.append(unbind, el("span", "", t("fleet.unbind")));
      form.append(l);
    }
    const save = el("button", "primary e-save", t("fleet.save"));
    save.type = "submit";
    const cancel = el("button", "e-cancel", t("fleet.cancel"));
    cancel.type = "button";
    cancel.onclick = () => form.remove();
    form.append(save, cancel);
    form.onsubmit = async (ev) => {
      ev.preventDefault();
      const body = editBody(a, { category: cat.value, registration: reg.value, device: dev.value,
        unbind: unbind && unbind.checked });
      if (!Object.keys(body).length) return form.remove();
      try {
        await api(`/aircraft/${encodeURIComponent(a.id)}`, { method: "PATCH", body });
        this.report($("fleet-msg"), t("fleet.saved", { id: a.id }), "ok");
        await this.load();
      } catch (e) {
        this.report($("fleet-msg"), e, "error");
      }
    };
    li.append(form);
  }
}
