// Party views of issue #19 (docs/coordination.md): what military, ATC, police and the centre each see and do.
// Chinese first; every code the API returns is shown through the catalogue below, never raw.

import { PartyMap } from "./party-map.js";

const T = {
  zh: {
    title: "军地民协同", token: "访问令牌", signin: "登录", constraints: "空域限制", approvals: "待审批计划",
    plans: "进入本部门空域的计划", cases: "反制处置案件", tracks: "可疑航迹（未经批准 / 非合作）",
    "t.alt": "高度（米，海拔）", handover: "移交公安",
    "f.title": "名称", "f.purpose": "目的（仅本部门可见）", "f.bbox": "范围（西,南,东,北）", "f.ceiling": "上限（米，真高）",
    "f.hours": "持续（小时）", "f.short": "紧急启用（立即生效）", "f.light": "轻型无人机经批准可进入", "f.issue": "发布",
    "c.ref": "编号", "c.authority": "发布部门", "c.title": "名称", "c.purpose": "目的", "c.window": "时段（北京时间）",
    "a.plan": "计划", "a.authority": "审批部门", "a.state": "状态", "a.by": "答复时限", "a.reason": "理由",
    "p.org": "运营人", "p.touches": "涉及", "k.aircraft": "目标", "k.kind": "类型", "k.where": "最近位置",
    "k.sites": "附近敏感目标", approve: "同意", refuse: "不同意", reasonPh: "理由（不同意时必填）",
    intercept: "开始拦截", landed: "已降落", left_area: "已离开", countered: "已反制", lang: "English",
    "role.military": "军方空域管理部门", "role.atc": "民航罗家机场管制", "role.centre": "协调运行中心",
    "role.police": "公安", "role.admin": "管理员", "role.operator": "运营人", "role.viewer": "观察员",
    "authority.military": "军方", "authority.atc": "民航", "authority.local": "地方政府",
    "state.pending": "待答复", "state.approved": "已同意", "state.refused": "不同意", "state.referred": "待审批",
    "state.active": "飞行中", "state.assigned": "已指派", "state.intercepting": "拦截中", "state.resolved": "已处置",
    "kind.unauthorised": "未经批准飞行", "kind.non_cooperative": "非合作目标", "escalated": "已超时上报",
    none: "（无）", noRole: "该角色不参与三方协同", "ref.zsjd_protection": "罗家机场净空保护区",
    standing: "常备批准（政务机队巡逻区）", "s.org": "政务机构", "s.ceiling": "高度上限（米，真高）", "s.days": "有效期（天）",
    "s.missions": "任务", "s.register": "登记", "s.band": "高度（米）", "s.revoke": "撤销", "s.revokePh": "撤销理由（必填）",
    "sa.active": "有效", "sa.revoked": "已撤销", "lim.AGL": "真高", "lim.AMSL": "海拔",
    "mission.police": "警务", "mission.inspection": "巡检", "mission.emergency_rescue": "应急救援", "mission.medical": "医疗救护",
    "mission.tourism": "文旅观光", "mission.logistics": "物流", "mission.agriculture": "农林植保", "mission.survey": "测绘",
    "mission.training": "训练", preemptions: "优先占用记录", "e.at": "时间（北京时间）", "e.plan": "被撤销计划",
    "e.org": "原运营人（优先级）", "e.by": "占用计划", "e.byorg": "占用机构（优先级）", "e.actor": "执行人", "e.rule": "依据",
    "prio.emergency": "应急救援", "prio.police": "警务", "prio.inspection": "政务巡检", "prio.commercial": "商业",
    "prio.training": "训练", "rule.preempt_from": "优先级占用（{level}及以上可占用更低级别、未起飞的计划）",
    alerts: "本方实时告警", "l.kind": "告警", "l.where": "区域", "l.severity": "级别", "l.since": "发现时间（北京时间）",
    "alert.conflict": "冲突", "alert.intrusion": "闯入限制区", "alert.nonconformance": "偏离计划",
    "alert.unauthorised": "未经批准飞行", "alert.lost_contact": "失联", "sev.caution": "注意", "sev.warning": "警告",
    "sev.alarm": "危急", map: "本方态势图", reserved: "保留空域", "lg.reserved": "保留空域（军方活动，不显示目的）",
    "lg.track": "最近航迹", "lg.path": "预测路径（虚线）", "lg.alert": "本方告警（目标位置）",
  },
  en: {
    title: "Three-party coordination", token: "Access token", signin: "Sign in", constraints: "Airspace constraints",
    approvals: "Plans awaiting approval", plans: "Plans entering our airspace", cases: "Counter-UAS cases",
    tracks: "Suspect tracks (unauthorised / non-cooperative)", "t.alt": "Altitude (m AMSL)", handover: "Hand to police",
    "f.title": "Name", "f.purpose": "Purpose (our authority only)", "f.bbox": "Area (west,south,east,north)",
    "f.ceiling": "Ceiling (m, true height)", "f.hours": "Duration (hours)", "f.short": "Short notice (at once)",
    "f.light": "Light UAVs may enter with approval", "f.issue": "Issue",
    "c.ref": "Ref", "c.authority": "Authority", "c.title": "Name", "c.purpose": "Purpose", "c.window": "Window (Beijing)",
    "a.plan": "Plan", "a.authority": "Authority", "a.state": "State", "a.by": "Decide by", "a.reason": "Reason",
    "p.org": "Operator", "p.touches": "Touches", "k.aircraft": "Target", "k.kind": "Kind", "k.where": "Last position",
    "k.sites": "Sensitive sites nearby", approve: "Approve", refuse: "Refuse", reasonPh: "Reason (needed to refuse)",
    intercept: "Intercept", landed: "Landed", left_area: "Left the area", countered: "Countered", lang: "中文",
    "role.military": "Military airspace authority", "role.atc": "Civil aviation ATC (ZSJD)",
    "role.centre": "Coordination centre", "role.police": "Police", "role.admin": "Admin", "role.operator": "Operator",
    "role.viewer": "Viewer", "authority.military": "Military", "authority.atc": "ATC", "authority.local": "Local",
    "state.pending": "Pending", "state.approved": "Approved", "state.refused": "Refused", "state.referred": "Referred",
    "state.active": "Airborne", "state.assigned": "Assigned", "state.intercepting": "Intercepting",
    "state.resolved": "Resolved", "kind.unauthorised": "Unauthorised flight", "kind.non_cooperative": "Non-cooperative",
    escalated: "escalated", none: "(none)", noRole: "This role takes no part in three-party coordination",
    "ref.zsjd_protection": "Luojia (ZSJD) protection area",
    standing: "Standing approvals (government fleets' patrol areas)", "s.org": "Government fleet",
    "s.ceiling": "Ceiling (m, true height)", "s.days": "Valid for (days)", "s.missions": "Missions", "s.register": "Register",
    "s.band": "Band (m)", "s.revoke": "Revoke", "s.revokePh": "Reason (required)", "sa.active": "In force",
    "sa.revoked": "Revoked", "lim.AGL": "AGL", "lim.AMSL": "AMSL", "mission.police": "Police patrol",
    "mission.inspection": "Inspection", "mission.emergency_rescue": "Emergency rescue", "mission.medical": "Medical",
    "mission.tourism": "Tourism", "mission.logistics": "Logistics", "mission.agriculture": "Agriculture",
    "mission.survey": "Survey", "mission.training": "Training", preemptions: "Preemption audit",
    "e.at": "Time (Beijing)", "e.plan": "Withdrawn plan", "e.org": "Its operator (priority)", "e.by": "Preempting plan",
    "e.byorg": "Preempting organisation (priority)", "e.actor": "By", "e.rule": "Rule", "prio.emergency": "Emergency",
    "prio.police": "Police", "prio.inspection": "Inspection", "prio.commercial": "Commercial", "prio.training": "Training",
    "rule.preempt_from": "Priority preemption ({level} and above over lower, not yet airborne plans)",
    alerts: "Our live alerts", "l.kind": "Alert", "l.where": "Area", "l.severity": "Severity", "l.since": "Since (Beijing)",
    "alert.conflict": "Conflict", "alert.intrusion": "Intrusion", "alert.nonconformance": "Off its plan",
    "alert.unauthorised": "Unauthorised flight", "alert.lost_contact": "Lost contact", "sev.caution": "Caution",
    "sev.warning": "Warning", "sev.alarm": "Alarm", map: "Our map", reserved: "Reserved airspace",
    "lg.reserved": "Reserved airspace (military activity, purpose not shown)", "lg.track": "Recent track",
    "lg.path": "Predicted path (dashed)", "lg.alert": "Our alerts (at the aircraft)",
  },
};
let lang = "zh";
let token = sessionStorage.getItem("lowalt.coordination.token") || "";
let me = null;
let partyMap = null;  // the map panel (party-map.js), one per page, for every party
const $ = (id) => document.getElementById(id);
const t = (k) => T[lang][k] ?? T.zh[k] ?? "—";
const paren = (x) => (lang === "zh" ? `（${x}）` : ` (${x})`);
let volumes = new Map();  // volume id -> [name_zh, name_en] (GET /airspace/volumes, read once)
// a volume id by its name; constraint versions as they are
const ref = (r) => (T[lang][`ref.${r}`] ?? volumes.get(r)?.[lang === "zh" ? 0 : 1] ?? r);
const time = (iso) => new Date(iso).toLocaleString(lang === "zh" ? "zh-CN" : "en-GB",
  { timeZone: "Asia/Shanghai", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });

async function api(method, path, body) {
  const r = await fetch(path, { method, headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) {
    const e = data.error || {};
    throw new Error((lang === "zh" && e.message_zh) || e.message || String(r.status));
  }
  return data;
}

function showError(e) { $("error").textContent = e ? e.message : ""; $("error").hidden = !e; }

function cell(tr, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}

function button(td, label, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.addEventListener("click", async () => { try { showError(null); await onClick(); await refresh(); } catch (e) { showError(e); } });
  td.appendChild(b);
  return b;
}

function fill(id, rows, render) {
  const body = $(id).querySelector("tbody");
  // a reason being typed survives the 3-second refresh (the row is rebuilt, the text is put back)
  const typed = new Map([...body.querySelectorAll("tr")].map((tr) => [tr.dataset.id, tr.querySelector("input.reason")?.value]));
  body.replaceChildren();
  if (!rows.length) { const tr = body.insertRow(); cell(tr, t("none")).colSpan = 6; return; }
  for (const row of rows) {
    const tr = body.insertRow();
    tr.dataset.id = row.plan_id || row.id || row.constraint_id;
    render(tr, row);
    const reason = tr.querySelector("input.reason");
    if (reason && typed.get(tr.dataset.id)) reason.value = typed.get(tr.dataset.id);
  }
}

const SECTIONS = {
  military: ["map", "constraints", "issue", "alerts", "approvals", "plans"],
  atc: ["map", "constraints", "issue", "alerts", "approvals", "plans"],
  centre: ["map", "constraints", "issue", "alerts", "approvals", "plans", "tracks", "cases", "standing", "preemptions"],
  admin: ["map", "constraints", "issue", "alerts", "approvals", "plans", "tracks", "cases", "standing", "preemptions"],
  police: ["map", "constraints", "alerts", "tracks", "cases"], operator: ["map", "constraints"],
  viewer: ["map", "constraints"],
};

async function refresh() {
  const show = SECTIONS[me.role] || [];
  if (show.includes("constraints")) {
    const constraints = await api("GET", "/coordination/constraints");
    partyMap?.setConstraints(constraints);
    fill("constraints", constraints, (tr, c) => {
      tr.addEventListener("click", () => partyMap?.flyToConstraint(c.ref));  // the map shows its area
      cell(tr, c.ref); cell(tr, t(`authority.${c.authority}`)); cell(tr, c.title); cell(tr, c.purpose || "—");
      cell(tr, `${time(c.start)} – ${time(c.end)}`);
    });
  }
  if (show.includes("alerts")) {  // GET /alerts answers each party its own (lowalt.coordination.feed_scope)
    fill("alerts", await api("GET", "/alerts"), (tr, a) => {
      cell(tr, t(`alert.${a.kind}`)); cell(tr, a.aircraft.join(lang === "zh" ? "、" : ", "));
      cell(tr, a.details?.volume ? ref(a.details.volume) : "—");
      cell(tr, t(`sev.${a.severity}`), `state sev-${a.severity}`); cell(tr, time(new Date(a.first_seen * 1000)));
    });
  }
  if (show.includes("approvals")) {
    fill("approvals", await api("GET", "/coordination/approvals"), (tr, a) => {
      cell(tr, a.plan_id.slice(0, 8)); cell(tr, t(`authority.${a.authority}`));
      cell(tr, t(`state.${a.state}`) + (a.escalated_at ? ` · ${t("escalated")}` : ""), `state state-${a.state}`);
      cell(tr, time(a.decide_by)); cell(tr, a.reason || "—");
      const td = cell(tr, "");
      if (a.state === "pending" && (me.role === "admin" || (me.role === "centre" ? a.authority === "local" : a.authority === me.role))) {
        const reason = document.createElement("input");
        reason.placeholder = t("reasonPh"); reason.className = "reason"; td.appendChild(reason);
        button(td, t("approve"), () => api("POST", `/coordination/approvals/${a.plan_id}/decision`,
          { verdict: "approve", reason: reason.value, ...(me.role === "admin" ? { authority: a.authority } : {}) }));
        button(td, t("refuse"), () => api("POST", `/coordination/approvals/${a.plan_id}/decision`,
          { verdict: "refuse", reason: reason.value, ...(me.role === "admin" ? { authority: a.authority } : {}) }));
      }
    });
  }
  if (show.includes("plans")) {
    fill("plans", await api("GET", "/coordination/plans"), (tr, p) => {
      cell(tr, p.plan_id.slice(0, 8)); cell(tr, p.organisation); cell(tr, t(`state.${p.state}`), `state state-${p.state}`);
      cell(tr, `${time(p.start)} – ${time(p.end)}`);
      cell(tr, Object.entries(p.touches).map(([a, refs]) => `${t(`authority.${a}`)}: ${refs.map(ref).join(", ")}`).join("; "));
    });
  }
  if (show.includes("tracks")) {
    fill("tracks", await api("GET", "/coordination/tracks"), (tr, k) => {
      const kind = k.cooperative ? "unauthorised" : "non_cooperative";
      cell(tr, k.id); cell(tr, t(`kind.${kind}`)); cell(tr, `${k.lon.toFixed(4)}, ${k.lat.toFixed(4)}`);
      cell(tr, String(Math.round(k.alt_amsl_m)));
      const td = cell(tr, "");
      if (me.role === "centre" || me.role === "admin") {
        button(td, t("handover"), () => api("POST", "/coordination/cases", { aircraft_id: k.id, kind }));
      }
    });
  }
  if (show.includes("cases")) {
    const cases = await api("GET", "/coordination/cases");
    partyMap?.setCases(cases);
    fill("cases", cases, (tr, k) => {
      const last = k.facts.last_positions.at(-1);
      tr.addEventListener("click", (ev) => {  // the row flies the map to the case (its buttons do their own)
        if (ev.target.closest("button, input")) return;
        for (const other of tr.parentElement.querySelectorAll("tr.focused")) other.classList.remove("focused");
        tr.classList.add("focused");
        partyMap?.flyToCase(k.id);
      });
      cell(tr, k.aircraft_id); cell(tr, t(`kind.${k.kind}`));
      cell(tr, t(`state.${k.state}`) + (k.outcome ? `（${t(k.outcome)}）` : ""), `state state-${k.state}`);
      cell(tr, last ? `${last.lon.toFixed(4)}, ${last.lat.toFixed(4)}` : "—");
      cell(tr, k.facts.nearby_sites.map((s) => `${lang === "zh" ? s.name_zh : s.name_en} ${Math.round(s.distance_m)} m`).join("；") || "—");
      const td = cell(tr, "");
      if (me.role === "police" || me.role === "admin") {
        if (k.state === "assigned") button(td, t("intercept"), () => api("POST", `/coordination/cases/${k.id}/state`, { state: "intercepting" }));
        if (k.state !== "resolved") for (const o of ["landed", "left_area", "countered"]) {
          button(td, t(o), () => api("POST", `/coordination/cases/${k.id}/state`, { state: "resolved", outcome: o }));
        }
      }
    });
  }
  if (show.includes("standing")) {
    fill("standing", await api("GET", "/coordination/standing-approvals?all=true"), (tr, a) => {
      cell(tr, a.id); cell(tr, a.organisation); cell(tr, a.title);
      cell(tr, a.missions.map((m) => t(`mission.${m}`)).join(lang === "zh" ? "、" : ", "));
      cell(tr, `${a.floor.value_m}–${a.ceiling.value_m}${paren(t(`lim.${a.ceiling.ref}`))}`);
      cell(tr, `${time(a.start)} – ${time(a.end)}`);
      cell(tr, t(`sa.${a.state}`) + (a.revoke_reason ? paren(a.revoke_reason) : ""), `state state-${a.state}`);
      const td = cell(tr, "");
      if (a.state === "active") {
        const reason = document.createElement("input");
        reason.placeholder = t("s.revokePh"); reason.className = "reason"; td.appendChild(reason);
        button(td, t("s.revoke"), () => api("POST", `/coordination/standing-approvals/${a.id}/revoke`, { reason: reason.value }));
      }
    });
  }
  if (show.includes("preemptions")) {
    const level = (p) => t(`prio.${p}`);
    fill("preemptions", await api("GET", "/coordination/preemptions"), (tr, p) => {
      const d = p.details;
      cell(tr, time(p.at)); cell(tr, p.plan_id.slice(0, 8));
      cell(tr, `${d.preempted_organisation}${paren(level(d.preempted_priority))}`);
      cell(tr, d.by_plan.slice(0, 8)); cell(tr, `${d.by_organisation}${paren(level(d.priority))}`); cell(tr, p.actor);
      const from = /=(\w+)$/.exec(d.rule || "");
      cell(tr, from ? t("rule.preempt_from").replace("{level}", level(from[1])) : "—").title = d.article || "";
    });
  }
}

function render() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  $("lang").textContent = t("lang");
  if (me) $("who").textContent = `${t(`role.${me.role}`)} · ${me.name}`;
}

async function start() {
  me = await api("GET", "/me");
  sessionStorage.setItem("lowalt.coordination.token", token);
  const show = SECTIONS[me.role];
  if (!show) throw new Error(t("noRole"));
  $("signin").hidden = true; $("board").hidden = false;
  if (show.includes("alerts")) {
    const vols = await api("GET", "/airspace/volumes");
    volumes = new Map(vols.features.map((f) => [f.id ?? f.properties.id, [f.properties.name_zh, f.properties.name_en]]));
  }
  for (const s of ["map", "constraints", "alerts", "approvals", "plans", "tracks", "cases", "standing", "preemptions"]) {
    $(`${s}-section`).hidden = !show.includes(s);
  }
  $("issue").hidden = !show.includes("issue");
  $("c-purpose").closest("label").hidden = me.role !== "military" && me.role !== "admin";
  $("c-short").closest("label").hidden = me.role !== "military" && me.role !== "admin";  // notice: military only
  $("c-short").checked = !$("c-short").closest("label").hidden;
  $("legend-cases").hidden = !show.includes("cases");
  $("legend-alerts").hidden = !show.includes("alerts");
  if (show.includes("map")) {
    // the map loads beside the tables: a browser without WebGL still gets every table
    partyMap = new PartyMap($("party-map"), { role: me.role, token, t, lang: () => lang });
    window.lowaltParty = { partyMap };
    partyMap.init().catch((e) => console.warn("map", e));
  }
  render();
  await refresh();
  setInterval(() => refresh().catch(showError), 3000);
}

$("lang").addEventListener("click", () => {
  lang = lang === "zh" ? "en" : "zh"; render(); partyMap?.setLanguage(); if (me) refresh().catch(showError);
});
$("signin").addEventListener("submit", (ev) => {
  ev.preventDefault(); token = $("token").value.trim(); showError(null); start().catch(showError);
});
$("issue").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const [w, s, e, n] = $("c-bbox").value.split(",").map(Number);
  const now = new Date();
  const start = $("c-short").checked ? now : new Date(now.getTime() + 31 * 60000);
  const end = new Date(start.getTime() + Number($("c-hours").value) * 3600000);
  try {
    showError(null);
    await api("POST", "/coordination/constraints", {
      title: $("c-title").value, purpose: $("c-purpose").value, short_notice: $("c-short").checked,
      geometry: { type: "Polygon", coordinates: [[[w, s], [e, s], [e, n], [w, n], [w, s]]] },
      floor: { value_m: 0, ref: "AGL" }, ceiling: { value_m: Number($("c-ceiling").value), ref: "AGL" },
      start: start.toISOString(), end: end.toISOString(),
      coordinated_categories: $("c-light").checked ? ["light_uav"] : [],
    });
    await refresh();
  } catch (e) { showError(e); }
});
$("standing-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const [w, s, e, n] = $("s-bbox").value.split(",").map(Number);
  const end = new Date(Date.now() + Number($("s-days").value) * 86400000);
  try {
    showError(null);
    await api("POST", "/coordination/standing-approvals", {
      organisation: $("s-org").value.trim(), title: $("s-title").value,
      geometry: { type: "Polygon", coordinates: [[[w, s], [e, s], [e, n], [w, n], [w, s]]] },
      floor: { value_m: 0, ref: "AGL" }, ceiling: { value_m: Number($("s-ceiling").value), ref: "AGL" },
      end: end.toISOString(), missions: [...$("s-missions").querySelectorAll("input:checked")].map((i) => i.value),
    });
    await refresh();
  } catch (e) { showError(e); }
});
render();
if (token) start().catch(() => { $("signin").hidden = false; });
