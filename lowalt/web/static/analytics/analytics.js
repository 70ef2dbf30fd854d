// The capacity and utilisation dashboard (issue #20): /analytics/* for a range of Beijing days, drawn with
// Apache ECharts (bundled under /static/vendor/echarts, no CDN). Chinese first, English on a button; no raw
// codes on screen (verdicts, deciders, pathways through the catalogue below). The token lives in
// sessionStorage only. window.analytics.ready turns true after each drawing (the Playwright test waits on it).
/* global echarts */

const TOKEN_KEY = "lowalt.analytics.token";
const TZ = "Asia/Shanghai";
const T = {
  title: ["容量与使用分析", "Capacity and utilisation"],
  token: ["访问令牌", "Access token"], signin: ["登录", "Sign in"],
  from: ["起始日期（北京时间）", "First day (Beijing time)"], days: ["天数", "Days"], query: ["查询", "Show"],
  "kpi.flights": ["架次", "flights"], "kpi.hours": ["飞行小时", "flight hours"],
  "kpi.full": ["满容量时段", "full slots"], "kpi.alerts": ["冲突/闯入告警", "conflict/intrusion alerts"],
  "kpi.saturated": ["未来24小时饱和时段", "saturated slots, next 24 h"],
  "kpi.alternatives": ["备选方案采纳（采纳/提供）", "alternatives taken (accepted/offered)"],
  slots: ["起降点容量（每15分钟）", "Take-off points (per 15 min)"],
  cells: ["1公里网格飞行小时与告警热点", "Flight hours per 1 km cell, alert hot spots"],
  corridors: ["航线每小时架次", "Corridor flights per hour"], filing: ["申报决定", "Filing decisions"],
  separation: ["航线间隔与低于最小间隔时间", "Corridor separation and time in loss of separation"],
  sep_mean: ["平均间隔（米）", "mean separation (m)"], sep_p95: ["95%分位间隔（米）", "p95 separation (m)"],
  sep_loss: ["低于最小间隔（秒）", "loss of separation (s)"], metres: ["米", "m"], seconds: ["秒", "s"],
  sep_cover: ["间隔统计截至", "separation covers up to"],
  sep_none: ["间隔尚未统计（每分钟结束后约半分钟统计）", "separation not measured yet (each minute about half a minute after it ends)"],
  operators: ["运营人", "Operators"], demand: ["未来24小时饱和时段", "Saturated slots in the next 24 h"],
  booked: ["预订", "booked"], flown: ["已飞", "flown"], capacity: ["容量", "capacity"],
  hours: ["飞行小时", "flight hours"], hot: ["告警热点", "alert hot spots"],
  approved: ["批准", "approved"], referred: ["转人工", "referred"], rejected: ["不予批准", "rejected"],
  automatic: ["自动", "automatic"], centre: ["中心", "centre"],
  standard: ["标准申报", "standard"], long_term_corridor: ["长期航线", "long-term corridor"],
  no_application: ["免申请", "no application"], emergency: ["应急", "emergency"],
  crewed_ga: ["有人驾驶通航", "crewed GA"], unknown: ["未知", "unknown"],
  org: ["运营人", "operator"], flights: ["架次", "flights"], alerts_h: ["告警/飞行小时", "alerts per flight hour"],
  conformance: ["符合率", "conformance"], point: ["起降点", "take-off point"], slot: ["时段", "slot"],
  next_free: ["下一空闲时段", "next free slot"], none: ["无", "none"],
  forbidden: ["本角色无权查看此项", "not available to this role"], loading: ["查询中…", "loading…"],
  done: ["已更新", "updated"], signedout: ["令牌无效，请重新登录", "The token was refused; sign in again"],
};
let lang = "zh";
const t = (k) => (T[k] ? T[k][lang === "zh" ? 0 : 1] : k);
const $ = (id) => document.getElementById(id);
const state = { data: null, charts: {} };
window.analytics = { ready: false, state };

const fmtTime = (iso, withDay = false) => new Intl.DateTimeFormat(lang === "zh" ? "zh-CN" : "en-GB", {
  timeZone: TZ, hour: "2-digit", minute: "2-digit", hour12: false,
  ...(withDay ? { month: "2-digit", day: "2-digit" } : {}),
}).format(new Date(iso));

function applyLang() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.title = `${t("title")} · lowalt`;
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  $("lang").textContent = lang === "zh" ? "English" : "中文";
}

async function get(path, params) {
  const url = `${path}?${new URLSearchParams(params)}`;
  const r = await fetch(url, { headers: { Authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY)}` } });
  if (r.status === 403) return { forbidden: true };
  const body = await r.json();
  if (r.status === 401) throw Object.assign(new Error(t("signedout")), { signout: true });
  if (!r.ok) throw new Error((lang === "zh" && body.error.message_zh) || body.error.message);
  return body;
}

function windowOf(day, days) {
  const start = new Date(`${day}T00:00:00+08:00`);
  const end = new Date(start.getTime() + days * 86400e3);
  return { from: start.toISOString(), to: end.toISOString() };
}

async function load() {
  const w = windowOf($("day").value, Number($("days").value));
  $("status").textContent = t("loading");
  $("error").hidden = true;
  window.analytics.ready = false;
  try {
    const [slots, cells, corridors, filing, operators, demand] = await Promise.all([
      get("/analytics/takeoff-points", w), get("/analytics/cells", w), get("/analytics/corridors", w),
      get("/analytics/filing", w), get("/analytics/operators", w), get("/analytics/demand", {}),
    ]);
    state.data = { slots, cells, corridors, filing, operators, demand };
    $("board").hidden = false;
    draw();
    $("status").textContent = t("done");
  } catch (e) {
    $("error").textContent = e.message;
    $("error").hidden = false;
    $("status").textContent = "";
    if (e.signout) signOut();
  }
}

function chart(id) {
  if (state.charts[id]) state.charts[id].dispose();
  state.charts[id] = echarts.init($(id), null, { locale: lang === "zh" ? "ZH" : "EN", renderer: "canvas" });
  return state.charts[id];
}

function draw() {
  const d = state.data;
  const flights = d.operators.forbidden ? null : d.operators.operators.reduce((s, o) => s + o.flights, 0);
  $("kpi-flights").textContent = flights === null ? "–" : String(flights);
  $("kpi-hours").textContent = d.cells.cells.reduce((s, c) => s + c.flight_hours, 0).toFixed(1);
  $("kpi-full").textContent = String(d.slots.slots.filter((s) => s.booked >= s.capacity).length);
  $("kpi-alerts").textContent = String(d.cells.cells.reduce((s, c) => s + c.conflicts + c.intrusions, 0));
  $("kpi-saturated").textContent = String(d.demand.slots.filter((s) => s.saturated).length);
  // plans re-filed as an offered alternative and approved / plans offered one (the "all" row)
  const alts = d.filing.forbidden ? null : d.filing.alternatives.find((a) => a.kind === "all");
  $("kpi-alternatives").textContent = alts ? `${alts.accepted}/${alts.offered}` : "–";
  drawSlots();
  drawCells();
  drawCorridors();
  drawSeparation();
  drawFiling();
  drawOperators();
  drawDemand();
  window.analytics.ready = true;
}

// Fill a select with [id, name] entries, keeping its choice when it is still there; returns the chosen id.
function choose(sel, entries) {
  const keep = sel.value;
  sel.replaceChildren(...entries.map(([id, name]) => new Option(name, id)));
  if (entries.some(([id]) => id === keep)) sel.value = keep;
  return sel.value;
}

function drawSlots() {
  const slots = state.data.slots.slots;
  const point = choose($("point"), [...new Map(slots.map((s) => [s.point_id, s.name_zh])).entries()]);
  const rows = slots.filter((s) => s.point_id === point);
  chart("chart-slots").setOption({
    tooltip: { trigger: "axis" }, legend: { data: [t("booked"), t("flown")] },
    xAxis: { type: "category", data: rows.map((s) => fmtTime(s.slot, Number($("days").value) > 1)) },
    yAxis: { type: "value", minInterval: 1 },
    series: [
      { name: t("booked"), type: "bar", data: rows.map((s) => s.booked),
        markLine: rows.length ? { symbol: "none", data: [{ yAxis: rows[0].capacity, name: t("capacity") }],
                                  label: { formatter: `${t("capacity")} {c}` } } : undefined },
      { name: t("flown"), type: "bar", data: rows.map((s) => s.flown) },
    ],
  });
}

function drawCells() {
  const cells = state.data.cells.cells;
  const max = Math.max(0.01, ...cells.map((c) => c.flight_hours));
  const hot = cells.filter((c) => c.conflicts + c.intrusions > 0);
  chart("chart-cells").setOption({
    tooltip: { formatter: (p) => `${p.value[0].toFixed(3)}°E ${p.value[1].toFixed(3)}°N<br>${p.seriesName}: ${
      Number(p.value[2]).toFixed(2)}` },
    xAxis: { type: "value", scale: true, name: "°E" }, yAxis: { type: "value", scale: true, name: "°N" },
    visualMap: { min: 0, max, dimension: 2, seriesIndex: 0, calculable: true, right: 0, top: "middle",
                 text: [t("hours"), ""], inRange: { color: ["#e0f3f8", "#fdae61", "#d7191c"] } },
    series: [
      { name: t("hours"), type: "scatter", symbol: "rect", symbolSize: 9,
        data: cells.map((c) => [c.lon, c.lat, c.flight_hours]) },
      { name: t("hot"), type: "effectScatter", symbolSize: (v) => 6 + 4 * Math.min(10, v[2]),
        itemStyle: { color: "#7b1fa2" }, data: hot.map((c) => [c.lon, c.lat, c.conflicts + c.intrusions]) },
    ],
  });
}

function drawCorridors() {
  const rows = state.data.corridors.hours;
  const hours = [...new Set(rows.map((r) => r.hour))].sort();
  const routes = [...new Map(rows.map((r) => [r.route_id, r.name_zh])).entries()];
  chart("chart-corridors").setOption({
    tooltip: { trigger: "axis" }, legend: { type: "scroll", data: routes.map(([, n]) => n) },
    xAxis: { type: "category", data: hours.map((h) => fmtTime(h, Number($("days").value) > 1)) },
    yAxis: { type: "value", minInterval: 1 },
    series: routes.map(([id, name]) => ({
      name, type: "line", data: hours.map((h) => (rows.find((r) => r.route_id === id && r.hour === h) || {}).flights || 0),
    })),
  });
}

function drawSeparation() {
  // One corridor at a time (a select, like the take-off points): mean and p95 distance to the nearest other
  // aircraft inside (left axis, metres; a gap where one aircraft flew alone) and the pair-seconds below the
  // monitor's minima (bars, right axis).
  const rows = state.data.corridors.hours;
  const route = choose($("route"), [...new Map(rows.map((r) => [r.route_id, r.name_zh])).entries()]);
  const mine = rows.filter((r) => r.route_id === route).sort((a, b) => (a.hour < b.hour ? -1 : 1));
  const round = (v) => (v === null ? null : Math.round(v * 10) / 10);
  // the separation is measured by the roller a minute at a time: say up to when (the live minutes are not in it)
  const to = state.data.corridors.separation_to;
  $("sep-cover").textContent = to ? `${t("sep_cover")} ${fmtTime(to, true)}` : t("sep_none");
  chart("chart-separation").setOption({
    tooltip: { trigger: "axis" }, legend: { data: [t("sep_mean"), t("sep_p95"), t("sep_loss")] },
    xAxis: { type: "category", data: mine.map((r) => fmtTime(r.hour, Number($("days").value) > 1)) },
    yAxis: [{ type: "value", name: t("metres") }, { type: "value", name: t("seconds"), minInterval: 1 }],
    series: [
      { name: t("sep_mean"), type: "line", z: 3, connectNulls: false, data: mine.map((r) => round(r.mean_separation_m)) },
      { name: t("sep_p95"), type: "line", z: 3, connectNulls: false, data: mine.map((r) => r.p95_separation_m) },
      { name: t("sep_loss"), type: "bar", z: 1, yAxisIndex: 1, barMaxWidth: 40,
        itemStyle: { color: "#d7191c", opacity: 0.35 }, data: mine.map((r) => r.loss_of_separation_s) },
    ],
  });
}

function drawFiling() {
  const el = $("chart-filing");
  const f = state.data.filing;
  if (f.forbidden) { el.textContent = t("forbidden"); return; }
  const groups = [...new Set(f.decisions.map((x) => `${x.decider}|${x.pathway}`))].sort();
  chart("chart-filing").setOption({
    tooltip: { trigger: "axis" }, legend: { data: ["approved", "referred", "rejected"].map(t) },
    xAxis: { type: "category", data: groups.map((g) => { const [a, p] = g.split("|"); return `${t(a)}\n${t(p)}`; }) },
    yAxis: { type: "value", minInterval: 1 },
    series: ["approved", "referred", "rejected"].map((v) => ({
      name: t(v), type: "bar", stack: "all",
      data: groups.map((g) => f.decisions.filter((x) => `${x.decider}|${x.pathway}` === g && x.verdict === v)
        .reduce((s, x) => s + x.decisions, 0)),
    })),
  });
}

function table(el, head, rows) {
  const tr = (cells, tag) => `<tr>${cells.map((c) => `<${tag}>${c}</${tag}>`).join("")}</tr>`;
  const esc = (v) => String(v).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  el.innerHTML = tr(head.map(t), "th") + rows.map((r) => tr(r.map(esc), "td")).join("");
}

function drawOperators() {
  const o = state.data.operators;
  if (o.forbidden) { $("operators").textContent = t("forbidden"); return; }
  table($("operators"), ["org", "flights", "hours", "alerts_h", "conformance"], o.operators.map((x) => [
    x.organisation, x.flights, x.flight_hours.toFixed(2),
    x.alerts_per_flight_hour === null ? t("none") : x.alerts_per_flight_hour.toFixed(2),
    x.conformance_rate === null ? t("none") : `${Math.round(100 * x.conformance_rate)}%`]));
}

function drawDemand() {
  const rows = state.data.demand.slots.filter((s) => s.saturated);
  table($("demand"), ["point", "slot", "booked", "next_free"], rows.map((s) => [
    s.name_zh, fmtTime(s.slot, true), `${s.booked}/${s.capacity}`,
    s.next_free_slot ? fmtTime(s.next_free_slot, true) : t("none")]));
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  $("signin").hidden = false;
  $("range").hidden = true;
}

function start() {
  applyLang();
  const today = new Intl.DateTimeFormat("en-CA", { timeZone: TZ }).format(new Date());
  $("day").value = new URLSearchParams(location.search).get("day") || today;
  $("lang").addEventListener("click", () => { lang = lang === "zh" ? "en" : "zh"; applyLang(); if (state.data) draw(); });
  $("signin").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
    $("signin").hidden = true;
    $("range").hidden = false;
    load();
  });
  $("range").addEventListener("submit", (e) => { e.preventDefault(); load(); });
  $("point").addEventListener("change", drawSlots);
  $("route").addEventListener("change", drawSeparation);
  window.addEventListener("resize", () => Object.values(state.charts).forEach((c) => c.resize()));
  if (sessionStorage.getItem(TOKEN_KEY)) { $("range").hidden = false; load(); } else { $("signin").hidden = false; }
}

start();
