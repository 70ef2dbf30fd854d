// Operator portal strings, Chinese first (zh-CN) with an English switch. Every code the API sends
// (categories, missions, states, pathways, airspace kinds) has a label here in both languages, and
// server messages are scrubbed of any code they still carry, so no raw code reaches the screen.

const LANG_KEY = "lowalt.lang";

const UI = {
  "app.title": ["低空飞行服务", "Low-altitude flight services"],
  "app.subtitle": ["景德镇浮梁 · 运营人门户", "Jingdezhen Fuliang · operator portal"],
  "lang.switch": ["English", "中文"],
  "signout": ["退出", "Sign out"],
  "signin.title": ["运营人登录", "Operator sign-in"],
  "signin.help": ["请输入协调中心签发的访问令牌。", "Enter the access token issued by the coordination centre."],
  "signin.token": ["访问令牌", "Access token"],
  "signin.submit": ["登录", "Sign in"],
  "signin.bad": ["令牌无效或已过期", "The token is invalid or expired"],
  "signin.role": ["此门户供运营人使用，当前角色：{role}", "This portal is for operators; your role: {role}"],
  "tab.fleet": ["机队", "Fleet"],
  "tab.file": ["申报计划", "File a plan"],
  "tab.plans": ["我的飞行", "My flights"],
  "feed.live": ["实时通知已连接", "Live updates on"],
  "feed.down": ["实时通知重连中…", "Reconnecting live updates…"],
  "feed.off": ["", ""],
  "fleet.add": ["登记航空器", "Register an aircraft"],
  "fleet.id": ["航空器编号", "Aircraft id"],
  "fleet.category": ["类别", "Category"],
  "fleet.registration": ["实名登记号", "Registration number"],
  "fleet.device": ["绑定设备（可选）", "Bound device (optional)"],
  "fleet.device_ph": ["设备用户名", "device user name"],
  "fleet.submit": ["登记", "Register"],
  "fleet.list": ["我的航空器", "My aircraft"],
  "fleet.none": ["尚未登记航空器", "No aircraft registered yet"],
  "fleet.added": ["已登记 {id}", "Registered {id}"],
  "fleet.flying": ["飞行中", "flying"],
  "fleet.on_ground": ["未在飞行", "not flying"],
  "fleet.bound": ["已绑定设备", "device bound"],
  "fleet.no_reg": ["无登记号", "no registration number"],
  "fleet.edit": ["编辑", "Edit"],
  "fleet.save": ["保存", "Save"],
  "fleet.cancel": ["取消", "Cancel"],
  "fleet.saved": ["已更新 {id}", "Updated {id}"],
  "fleet.unbind": ["解除设备绑定", "Unbind the device"],
  "fleet.device_change": ["已绑定；填写设备用户名可更换", "bound; enter a device user to change it"],
  "pilots.add": ["登记驾驶员", "Register a pilot"],
  "pilots.name": ["姓名", "Name"],
  "pilots.id_number": ["身份证号（仅显示部分）", "Identity number (shown masked)"],
  "pilots.licence_number": ["执照编号（可选）", "Licence number (optional)"],
  "pilots.class": ["执照类别", "Licence class"],
  "pilots.expiry": ["有效期至（含当日）", "Valid until (inclusive)"],
  "pilots.submit": ["登记", "Register"],
  "pilots.list": ["驾驶员名册", "Pilot register"],
  "pilots.none": ["尚未登记驾驶员（登记后，申报须选择名册中的驾驶员）", "No pilots registered (once you register one, plans must name a registered pilot)"],
  "pilots.added": ["已登记驾驶员 {name}", "Registered pilot {name}"],
  "pilots.no_licence": ["无执照（仅微型、轻型）", "No licence (micro and light only)"],
  "pilots.licence": ["执照 {n} · {c} · 有效期至 {d}", "Licence {n} · {c} · valid until {d}"],
  "pilots.until": ["有效期至 {d}", "valid until {d}"],
  "pilots.valid": ["执照有效", "licence valid"],
  "pilots.expired": ["执照已过期", "licence expired"],
  "pilots.unlicensed": ["无执照", "no licence"],
  "pilots.id": ["身份证", "ID"],
  "pilots.remove": ["移出名册", "Remove"],
  "file.published": ["或选用已发布的航线 / 起降点", "Or use a published route / take-off point"],
  "file.published_none": ["（自行绘制）", "(draw my own)"],
  "file.routes": ["航线", "Routes"],
  "file.points": ["起降点", "Take-off and landing points"],
  "file.pub_route": ["沿{name}飞行：宽 {w} 米，{band}{hours}；适用：{cats}", "Along {name}: {w} m wide, {band}{hours}; for {cats}"],
  "file.pub_point": ["在{name}起降：半径 {r} 米内作业{hours}，每 15 分钟起降 {n} 架次；适用：{cats}", "Take off and land at {name}: within {r} m{hours}, {n} movements per 15 min; for {cats}"],
  "file.pub_hours": ["，开放时段 {h}", ", open {h}"],
  "file.pick_pilot": ["从名册选择驾驶员…", "Pick a registered pilot…"],
  "file.pilot_pick": ["名册中的驾驶员", "Registered pilot"],
  "draw.polygon": ["多边形", "Polygon"],
  "draw.circle": ["圆形", "Circle"],
  "draw.route": ["航线", "Route"],
  "draw.finish": ["完成", "Finish"],
  "draw.clear": ["清除", "Clear"],
  "draw.hint.polygon": ["在地图上依次点击各顶点，点“完成”结束（至少 3 个点）", "Click each corner on the map, then Finish (3 points at least)"],
  "draw.hint.circle": ["在地图上点击圆心；半径可在下方修改", "Click the centre on the map; change the radius below"],
  "draw.hint.route": ["在地图上依次点击航路点，点“完成”结束（至少 2 个点）", "Click each waypoint on the map, then Finish (2 points at least)"],
  "draw.none": ["尚未绘制作业区域", "No operating area drawn yet"],
  "draw.area": ["作业区域约 {km2} 平方公里", "Operating area about {km2} km²"],
  "draw.length": ["航线长约 {km} 公里，宽 {w} 米", "Route about {km} km long, {w} m wide"],
  "file.area": ["1. 作业区域", "1. Operating area"],
  "file.half_width": ["航线半宽（米）", "Route half-width (m)"],
  "file.radius": ["半径（米）", "Radius (m)"],
  "file.flight": ["2. 飞行信息", "2. Flight"],
  "file.aircraft": ["航空器", "Aircraft"],
  "file.mission": ["任务", "Mission"],
  "file.pilot": ["驾驶员", "Pilot"],
  "file.licence": ["执照编号（可选）", "Licence number (optional)"],
  "file.band": ["3. 高度", "3. Altitude band"],
  "file.floor": ["下限（米）", "Floor (m)"],
  "file.ceiling": ["上限（米）", "Ceiling (m)"],
  "file.reference": ["基准", "Reference"],
  "file.window": ["4. 时间（北京时间）", "4. Time (Beijing time)"],
  "file.date": ["日期", "Date"],
  "file.start": ["开始", "Start"],
  "file.end": ["结束", "End"],
  "file.touches": ["5. 涉及空域", "5. Airspace touched"],
  "file.submit": ["提交申报", "Submit"],
  "file.sending": ["提交中…", "Submitting…"],
  "file.need_area": ["请先在地图上绘制作业区域", "Draw the operating area on the map first"],
  "file.need_aircraft": ["请先在“机队”中登记航空器", "Register an aircraft under Fleet first"],
  "file.need_pilot": ["请填写驾驶员姓名", "Enter the pilot's name"],
  "file.bad_window": ["请填写有效的日期和时间", "Enter a valid date and times"],
  "file.refiled": ["已按建议重新申报", "Refiled as suggested"],
  "touch.none": ["绘制区域后显示所涉及的空域", "The airspace appears once an area is drawn"],
  "touch.loading": ["查询空域…", "Looking up airspace…"],
  "touch.band": ["{floor}–{ceiling}", "{floor}–{ceiling}"],
  "touch.inactive": ["该时段未生效", "not in force then"],
  "touch.terrain": ["区域中心地面海拔约 {m} 米", "Ground under the area's centre: about {m} m above sea level"],
  "touch.ground": ["区域内地面海拔约 {lo}–{hi} 米", "Ground under the area: about {lo}–{hi} m above sea level"],
  "touch.ground_amsl": ["；所选真高高度约合海拔 {lo}–{hi} 米", "; the band given as AGL spans about {lo}–{hi} m AMSL"],
  "touch.centre": ["区域中心在所选高度：{verdict}", "At the area's centre and ceiling: {verdict}"],
  "touch.route": ["航线", "Route"],
  "touch.point": ["起降点", "Take-off/landing point"],
  "touch.restriction": ["临时管制", "Temporary restriction"],
  "touch.capacity": ["每 15 分钟起降 {n} 架次", "{n} movements per 15 min"],
  "touch.hours": ["开放时段 {h}", "open {h}"],
  "query.allowed": ["可直接飞行", "allowed"],
  "query.needs_approval": ["须经批准", "needs approval"],
  "query.forbidden": ["禁止飞行", "forbidden"],
  "dec.title": ["审批结果", "Decision"],
  "dec.pathway": ["审批途径：{p}", "Pathway: {p}"],
  "dec.reasons": ["理由", "Reasons"],
  "dec.no_reasons": ["全部规则通过", "Every rule passed"],
  "dec.article": ["依据：{a}", "Basis: {a}"],
  "dec.alternatives": ["可选方案（按建议申报即可获批）", "Alternatives (approved if filed as suggested)"],
  "dec.refile": ["一键按此申报", "Refile this way"],
  "dec.decide_by": ["中心须在 {t} 前作出决定", "The centre decides by {t}"],
  "dec.waiting": ["等待协调中心审批，结果将自动显示", "Waiting for the centre; the answer appears here by itself"],
  "dec.updated": ["协调中心已处理：{state}", "The centre has decided: {state}"],
  "dec.pathways": ["其他途径为何未采用", "Why not the other pathways"],
  "dec.plan": ["计划 {id}", "Plan {id}"],
  "notice.plan": ["计划", "Plan"],
  "notice.plan_state": ["计划状态已变更", "The plan's state changed"],
  "notice.plan_at_risk": ["一项应急飞行可能占用此计划的空域", "An emergency flight may take this plan's airspace"],
  "notice.plan_advisory": ["飞行中提示", "Advisory for a flight in progress"],
  "notice.dismiss": ["知道了", "Dismiss"],
  "alerts.title": ["我的告警", "My alerts"],
  "alerts.none": ["目前没有涉及本单位航空器的告警", "No alert involves your aircraft now"],
  "alerts.other": ["他方 {id}", "other party {id}"],
  "alerts.since": ["开始于 {t}", "since {t}"],
  "notice.plan_announced": ["天气预警或临时管制与计划重叠", "A warning or restriction overlaps the plan"],
  "plans.state": ["状态", "State"],
  "plans.all": ["全部", "All"],
  "plans.from": ["自", "From"],
  "plans.to": ["至", "To"],
  "plans.refresh": ["刷新", "Refresh"],
  "plans.none": ["没有符合条件的计划", "No plans match"],
  "plans.activate": ["确认起飞", "Activate"],
  "plans.complete": ["完成飞行", "Complete"],
  "plans.cancel": ["取消", "Cancel"],
  "plans.export": ["导出 GeoJSON", "Export GeoJSON"],
  "plans.track": ["飞行轨迹", "Flown track"],
  "plans.replay": ["回放（再按加速/停止）", "Replay (press again: faster / stop)"],
  "plans.replaying": ["回放 {id}：{t}（{x} 倍速）", "Replaying {id}: {t} ({x}x)"],
  "plans.no_track": ["该计划没有飞行记录", "No flown track for this plan"],
  "plans.log": ["导出飞行记录 CSV", "Export flight log (CSV)"],
  "plans.show": ["在地图上查看", "Show on map"],
  "plans.done": ["已更新：{state}", "Updated: {state}"],
  "err.generic": ["出错了：{m}", "Something went wrong: {m}"],
  "err.network": ["无法连接服务器", "Cannot reach the server"],
  "err.401": ["登录已失效，请重新登录", "Your sign-in has expired; sign in again"],
  "err.403": ["当前角色无权执行此操作", "Your role may not do this"],
  "err.409": ["操作未能完成：{m}", "Not done: {m}"],
  "err.422": ["输入有误：{m}", "Please check: {m}"],
  "err.503": ["服务暂不可用，请稍后重试", "The service is briefly unavailable; try again"],
};

/** Codes from the API with their labels: [zh, en]. */
const CODES = {
  category: {
    micro_uav: ["微型无人机", "micro UAV"], light_uav: ["轻型无人机", "light UAV"],
    small_uav: ["小型无人机", "small UAV"], medium_uav: ["中型无人机", "medium UAV"],
    large_uav: ["大型无人机", "large UAV"], evtol: ["电动垂直起降飞行器", "eVTOL"],
    helicopter: ["直升机", "helicopter"], crewed_ga: ["有人驾驶通用航空器", "crewed general aviation"],
  },
  mission: {
    inspection: ["巡检", "inspection"], survey: ["测绘", "survey"], logistics: ["物流配送", "logistics"],
    agriculture: ["植保", "agriculture"], tourism: ["旅游观光", "tourism"], training: ["培训", "training"],
    police: ["警务", "police"], emergency_rescue: ["应急救援", "emergency rescue"], medical: ["医疗救护", "medical"],
  },
  state: {
    submitted: ["已提交", "submitted"], approved: ["已批准", "approved"], referred: ["待中心审批", "referred to the centre"],
    rejected: ["未批准", "rejected"], active: ["执行中", "active"], completed: ["已完成", "completed"],
    cancelled: ["已取消", "cancelled"], withdrawn: ["已撤销", "withdrawn"],
  },
  pathway: {
    no_application: ["无需申请（适飞空域）", "no application needed (suitable airspace)"],
    long_term_corridor: ["长期批准航线", "long-term approved route"], emergency: ["应急飞行", "emergency flight"],
    standing_approval: ["常备批准（政务巡逻区）", "standing approval (government patrol area)"],
    crewed_ga: ["通用航空飞行计划", "crewed general-aviation plan"], standard: ["标准申请", "standard application"],
  },
  vkind: {
    open: ["适飞/报备空域", "open airspace"], controlled: ["管制空域（须批准）", "controlled (approval needed)"],
    restricted: ["限制区", "restricted area"], no_fly: ["禁飞区", "no-fly zone"],
  },
  alt: {
    time: ["改期", "another time"], altitude: ["调整高度", "another band"], route: ["绕飞", "a detour"],
    location: ["移至附近", "move nearby"],
  },
  ref: { AGL: ["真高", "AGL"], AMSL: ["海拔", "AMSL"] },
  weather: { thunderstorm: ["雷暴", "thunderstorm"], wind: ["大风", "wind"], visibility: ["低能见度", "low visibility"],
    precipitation: ["降水", "precipitation"] },
  restriction: { event: ["活动", "event"], emergency: ["应急", "emergency"], police: ["警务", "police"],
    weather: ["天气", "weather"], other: ["其他", "other"] },
  alertkind: { conflict: ["冲突", "conflict"], intrusion: ["闯入", "intrusion"], nonconformance: ["偏离计划", "non-conformance"],
    unauthorised: ["未经批准飞行", "unauthorised flight"], lost_contact: ["失联", "lost contact"] },
  severity: { alarm: ["紧急", "alarm"], warning: ["警告", "warning"], caution: ["注意", "caution"] },
  licence: {
    uas_small: ["小型无人驾驶航空器操控员执照", "small UAS operator licence"],
    uas_medium: ["中型无人驾驶航空器操控员执照", "medium UAS operator licence"],
    uas_large: ["大型无人驾驶航空器操控员执照", "large UAS operator licence"],
    evtol: ["电动垂直起降航空器驾驶员执照", "eVTOL pilot licence"],
    helicopter: ["直升机驾驶员执照", "helicopter pilot licence"],
    aeroplane: ["飞机驾驶员执照", "aeroplane pilot licence"],
  },
  verdict: { approved: ["已批准", "Approved"], referred: ["待中心审批", "Referred to the centre"], rejected: ["未批准", "Rejected"] },
};

let lang = sessionStorage.getItem(LANG_KEY) || localStorage.getItem(LANG_KEY) || "zh-CN";
const listeners = [];
const idx = () => (lang === "en" ? 1 : 0);

export const currentLang = () => lang;
export const onLangChange = (fn) => listeners.push(fn);

/** A UI string with {name} placeholders filled in. */
export function t(key, vars = {}) {
  const pair = UI[key];
  const s = pair ? pair[idx()] : key;
  return s.replace(/\{(\w+)\}/g, (_, k) => (vars[k] === undefined ? "" : String(vars[k])));
}

/** The label of an API code in a group (category, mission, state, ...); never the raw code. */
export function code(group, value) {
  const pair = CODES[group] && CODES[group][value];
  if (pair) return pair[idx()];
  return humanise(String(value ?? ""));
}

/** Both labels of a code, [zh, en] (for text kept in both languages, like a notice's message). */
export function codePair(group, value) {
  const pair = CODES[group] && CODES[group][value];
  return pair ? [...pair] : [humanise(String(value ?? "")), humanise(String(value ?? ""))];
}

function humanise(s) {
  return s.replace(/_/g, " ");
}

const ALL_CODES = Object.values(CODES).reduce((acc, g) => Object.assign(acc, g), {});

/** A server message in the current language, with any leftover code (light_uav, ...) translated. */
export function message(obj, zhKey = "message_zh", enKey = "message_en") {
  const text = (lang === "en" ? obj[enKey] || obj[zhKey] : obj[zhKey] || obj[enKey]) || "";
  return scrub(text);
}

export function scrub(text) {
  return String(text).replace(/\b[a-z]+(?:_[a-z0-9]+)+\b/g, (m) => (ALL_CODES[m] ? ALL_CODES[m][idx()] : humanise(m)));
}

/** Options for a <select> of one code group (value = code, label = translation). */
export function fillSelect(select, group, { all = false, none = null } = {}) {
  const keep = select.value;
  select.textContent = "";
  if (all) select.append(new Option(t("plans.all"), ""));
  if (none !== null) select.append(new Option(none, ""));
  for (const value of Object.keys(CODES[group])) select.append(new Option(code(group, value), value));
  if (keep) select.value = keep;
}

export const codes = (group) => Object.keys(CODES[group]);

/** Apply data-i18n / data-i18n-ph to the document. */
export function applyI18n(root = document) {
  document.documentElement.lang = lang;
  document.title = `${t("app.title")} · ${t("app.subtitle")}`;
  for (const el of root.querySelectorAll("[data-i18n]")) {
    const key = el.dataset.i18n;
    el.textContent = key.startsWith("ref.") ? code("ref", key.slice(4)) : t(key);
  }
  for (const el of root.querySelectorAll("[data-i18n-ph]")) el.placeholder = t(el.dataset.i18nPh);
}

export function toggleLang() {
  lang = lang === "en" ? "zh-CN" : "en";
  sessionStorage.setItem(LANG_KEY, lang);
  applyI18n();
  for (const fn of listeners) fn(lang);
}

/** An instant (ISO, any offset) as Beijing wall-clock time, e.g. "12-01 10:00". */
export function localTime(iso, { date = true, seconds = false } = {}) {
  if (!iso) return "";
  const d = new Date(iso);
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-GB", {
    timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
    minute: "2-digit", second: "2-digit", hourCycle: "h23",
  }).formatToParts(d).map((p) => [p.type, p.value]));
  const hm = `${parts.hour}:${parts.minute}${seconds ? `:${parts.second}` : ""}`;
  return date ? `${parts.year}-${parts.month}-${parts.day} ${hm}` : hm;
}

/** A band as text: "0–120 米 真高" / "0–120 m AGL". */
export function bandText(floor, ceiling) {
  const unit = lang === "en" ? " m" : " 米";
  const f = `${Math.round(floor.value_m)}`;
  const c = `${Math.round(ceiling.value_m)}`;
  if (floor.reference === ceiling.reference) return `${f}–${c}${unit} ${code("ref", floor.reference)}`;
  return `${f}${unit} ${code("ref", floor.reference)} – ${c}${unit} ${code("ref", ceiling.reference)}`;
}
