// Pilots and licences: the organisation's register (GET/POST/DELETE /pilots). Filing checks a plan's
// pilot against it (the licence named is the pilot's, covers the category, valid on the flight date,
// expiry day inclusive), so the filing form offers the registered pilots to pick from. The identity
// number is sent once and only ever shown masked (the server masks it).

import { api } from "./api.js";
import { $, el, resetList } from "./dom.js";
import { code, fillSelect, t } from "./i18n.js";
import { beijingParts } from "./filing.js";

/** Whether a licence expiring on `expiry` (YYYY-MM-DD) is valid on `day` (inclusive). */
export const validOn = (expiry, day) => day <= expiry;

export class Pilots {
  constructor({ report, onChange }) {
    this.report = report;
    this.onChange = onChange;
    this.pilots = [];
    fillSelect($("pl-class"), "licence", { none: t("pilots.no_licence") });
    $("pilot-form").onsubmit = (ev) => {
      ev.preventDefault();
      this.register();
    };
  }

  async register() {
    const body = { name: $("pl-name").value.trim(), id_number: $("pl-id").value.trim() };
    const number = $("pl-licence").value.trim();
    if (number || $("pl-class").value || $("pl-expiry").value) {
      Object.assign(body, { licence_number: number || null, licence_class: $("pl-class").value || null,
        licence_expiry: $("pl-expiry").value || null });
    }
    try {
      await api("/pilots", { method: "POST", body });
      this.report($("pilot-msg"), t("pilots.added", { name: body.name }), "ok");
      $("pilot-form").reset();
      await this.load();
    } catch (e) {
      this.report($("pilot-msg"), e, "error");
    }
  }

  async remove(p) {
    try {
      await api(`/pilots/${p.id}`, { method: "DELETE" });
      await this.load();
    } catch (e) {
      this.report($("pilot-msg"), e, "error");
    }
  }

  async load() {
    this.pilots = await api("/pilots");
    this.render();
    this.onChange(this.pilots);
  }

  render() {
    fillSelect($("pl-class"), "licence", { none: t("pilots.no_licence") });
    const ul = $("pilot-list");
    if (!resetList(ul, this.pilots, t("pilots.none"))) return;
    const today = beijingParts(new Date()).date;
    for (const p of this.pilots) {
      const li = el("li", "card pilot");
      li.dataset.id = String(p.id);
      const head = el("div", "row");
      const valid = p.licence_expiry && validOn(p.licence_expiry, today);
      head.append(el("b", "", p.name), el("span", `badge ${!p.licence_number ? "idle" : valid ? "flying" : "expired"}`,
        t(!p.licence_number ? "pilots.unlicensed" : valid ? "pilots.valid" : "pilots.expired")));
      const lic = p.licence_number
        ? t("pilots.licence", { n: p.licence_number, c: code("licence", p.licence_class), d: p.licence_expiry })
        : t("pilots.no_licence");
      const acts = el("div", "actions");
      const del = el("button", "danger act-remove", t("pilots.remove"));
      del.type = "button";
      del.onclick = () => this.remove(p);
      acts.append(del);
      li.append(head, el("small", "", `${t("pilots.id")} ${p.id_number_masked}`), el("small", "licence", lic), acts);
      ul.append(li);
    }
  }
}

/** Fill the filing form's pilot picker from the register (hidden while the register is empty). */
export function fillPilotPicker(pilots) {
  const sel = $("f-pilot-pick");
  const keep = sel.value;
  sel.textContent = "";
  sel.append(new Option(t("file.pick_pilot"), ""));
  for (const p of pilots) {
    const label = p.licence_number ? `${p.name} · ${p.licence_number} · ${t("pilots.until", { d: p.licence_expiry })}` : p.name;
    sel.append(new Option(label, String(p.id)));
  }
  $("pilot-pick-row").hidden = pilots.length === 0;
  if (keep && pilots.some((p) => String(p.id) === keep)) sel.value = keep;
  sel.onchange = () => {
    const p = pilots.find((x) => String(x.id) === sel.value);
    $("f-pilot").value = p ? p.name : "";
    $("f-licence").value = p && p.licence_number ? p.licence_number : "";
  };
}
