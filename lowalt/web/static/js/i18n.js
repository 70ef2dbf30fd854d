// UI strings, Chinese first (zh-CN default) with an English switch. Every UI string is here in both.
// Elements carry data-i18n (text), data-i18n-ph (placeholder) or data-i18n-title (tooltip).

const STRINGS = {
  "zh-CN": {
    "app.title": "景德镇浮梁低空运行监视",
    "app.subtitle": "通航协调运行中心",
    "lang.switch": "English",
    "signin.title": "登录",
    "signin.help": "请输入访问令牌（由管理员签发）。",
    "signin.token": "访问令牌",
    "signin.submit": "登录",
    "signin.bad": "令牌无效或已过期",
    "signout": "退出",
    "role.centre": "协调中心",
    "role.viewer": "观察员",
    "role.operator": "运营人",
    "role.admin": "管理员",
    "role.device": "设备",
    "feed.connecting": "连接中…",
    "feed.live": "实时",
    "feed.down": "已断开，重连中…",
    "feed.unauthorized": "令牌无效",
    "layers.title": "图层",
    "layers.basemap": "在线底图",
    "layers.volumes": "空域",
    "layers.points": "起降点",
    "layers.routes": "航线",
    "layers.restrictions": "临时管制",
    "layers.tracks": "航迹",
    "layers.trails": "尾迹",
    "layers.labels": "标注",
    "filter.alt": "高度范围",
    "filter.time": "时间",
    "filter.now": "现在",
    "legend.title": "状态",
    "status.conforming": "符合计划",
    "status.deviating": "偏离计划",
    "status.unauthorised": "未经批准",
    "status.noncoop": "非合作目标",
    "status.lost": "失去联系",
    "status.unknown": "未知",
    "alerts.title": "告警",
    "alerts.none": "无告警",
    "alerts.ack": "确认",
    "alerts.acked": "已确认",
    "alerts.more": "另有 {n} 条",
    "kind.conflict": "冲突",
    "kind.intrusion": "闯入",
    "kind.nonconformance": "偏离",
    "kind.unauthorised": "未经批准飞行",
    "kind.lost_contact": "失联",
    "sev.alarm": "紧急",
    "sev.warning": "警告",
    "sev.caution": "注意",
    "alert.los_in": "{s} 秒后失去间隔",
    "alert.los_now": "间隔已丧失",
    "alert.cpa": "最近 {d} 米",
    "alert.volume": "空域 {v}",
    "alert.give_way": "避让：{ids}",
    "plans.title": "待审批计划",
    "plans.none": "无待审批计划",
    "plans.forbidden": "当前角色无权查看计划",
    "plans.comment": "审批意见",
    "plans.approve": "批准",
    "plans.reject": "驳回",
    "plans.done": "已{state}",
    "plans.error": "操作失败：{msg}",
    "plan.of": "{id} 的计划",
    "plan.none": "{id} 无有效计划",
    "plan.window": "时段",
    "plan.band": "高度",
    "state.approved": "批准",
    "state.rejected": "驳回",
    "state.referred": "待审批",
    "track.alt": "高度",
    "track.gs": "地速",
    "track.vs": "垂直速度",
    "track.src": "来源",
    "track.status": "状态",
    "unit.m": "米",
    "unit.ms": "米/秒",
    "api.airspace_down": "空域数据不可用",
  },
  en: {
    "app.title": "Jingdezhen / Fuliang low-altitude monitor",
    "app.subtitle": "GA coordination centre",
    "lang.switch": "中文",
    "signin.title": "Sign in",
    "signin.help": "Enter your access token (issued by an administrator).",
    "signin.token": "Access token",
    "signin.submit": "Sign in",
    "signin.bad": "Invalid or expired token",
    "signout": "Sign out",
    "role.centre": "Centre",
    "role.viewer": "Viewer",
    "role.operator": "Operator",
    "role.admin": "Admin",
    "role.device": "Device",
    "feed.connecting": "Connecting…",
    "feed.live": "Live",
    "feed.down": "Disconnected, retrying…",
    "feed.unauthorized": "Invalid token",
    "layers.title": "Layers",
    "layers.basemap": "Online basemap",
    "layers.volumes": "Airspace",
    "layers.points": "Take-off points",
    "layers.routes": "Routes",
    "layers.restrictions": "Temporary restrictions",
    "layers.tracks": "Tracks",
    "layers.trails": "Trails",
    "layers.labels": "Labels",
    "filter.alt": "Altitude range",
    "filter.time": "Time",
    "filter.now": "Now",
    "legend.title": "Status",
    "status.conforming": "Conforming",
    "status.deviating": "Deviating",
    "status.unauthorised": "Unauthorised",
    "status.noncoop": "Non-cooperative",
    "status.lost": "Lost contact",
    "status.unknown": "Unknown",
    "alerts.title": "Alerts",
    "alerts.none": "No alerts",
    "alerts.ack": "Acknowledge",
    "alerts.acked": "Acknowledged",
    "alerts.more": "{n} more",
    "kind.conflict": "Conflict",
    "kind.intrusion": "Intrusion",
    "kind.nonconformance": "Non-conformance",
    "kind.unauthorised": "Unauthorised flight",
    "kind.lost_contact": "Lost contact",
    "sev.alarm": "Alarm",
    "sev.warning": "Warning",
    "sev.caution": "Caution",
    "alert.los_in": "loss of separation in {s} s",
    "alert.los_now": "separation lost",
    "alert.cpa": "closest {d} m",
    "alert.volume": "volume {v}",
    "alert.give_way": "give way: {ids}",
    "plans.title": "Referred plans",
    "plans.none": "No plans waiting",
    "plans.forbidden": "This role may not see plans",
    "plans.comment": "Comment",
    "plans.approve": "Approve",
    "plans.reject": "Reject",
    "plans.done": "{state}",
    "plans.error": "Failed: {msg}",
    "plan.of": "Plan of {id}",
    "plan.none": "No current plan for {id}",
    "plan.window": "Window",
    "plan.band": "Band",
    "state.approved": "Approved",
    "state.rejected": "Rejected",
    "state.referred": "Referred",
    "track.alt": "Altitude",
    "track.gs": "Ground speed",
    "track.vs": "Vertical speed",
    "track.src": "Source",
    "track.status": "Status",
    "unit.m": "m",
    "unit.ms": "m/s",
    "api.airspace_down": "Airspace data unavailable",
  },
};

const KEY = "lowalt.lang";
let lang = STRINGS[localStorage.getItem(KEY)] ? localStorage.getItem(KEY) : "zh-CN";
const listeners = new Set();

export function currentLang() {
  return lang;
}

export function t(key, vars) {
  let s = STRINGS[lang][key] ?? STRINGS["zh-CN"][key] ?? key;
  if (vars) for (const [k, v] of Object.entries(vars)) s = s.replaceAll(`{${k}}`, String(v));
  return s;
}

/** Pick the localized field of an object with name_zh/name_en (or message_zh/message_en). */
export function pick(obj, base) {
  if (!obj) return "";
  return (lang === "en" ? obj[`${base}_en`] : obj[`${base}_zh`]) || obj[`${base}_zh`] || obj[`${base}_en`] || "";
}

export function applyI18n(root = document) {
  document.documentElement.lang = lang;
  document.title = t("app.title");
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-ph]")) el.placeholder = t(el.dataset.i18nPh);
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
}

export function setLang(next) {
  if (!STRINGS[next] || next === lang) return;
  lang = next;
  localStorage.setItem(KEY, next);
  applyI18n();
  for (const fn of listeners) fn(lang);
}

export function toggleLang() {
  setLang(lang === "en" ? "zh-CN" : "en");
}

export function onLangChange(fn) {
  listeners.add(fn);
}

/** For the test suite: both tables have the same keys. */
export function missingKeys() {
  const zh = Object.keys(STRINGS["zh-CN"]);
  const en = Object.keys(STRINGS.en);
  return [...zh.filter((k) => !(k in STRINGS.en)), ...en.filter((k) => !(k in STRINGS["zh-CN"]))];
}
