// The wall screen (大屏): polls /api/state (warnings, live queues) and /api/kpis (the day's
// KPIs, the floor plan with each window's state, trends against the weekly baseline) and
// draws everything itself: the plan and the charts are plain SVG built here, so the page
// needs no library and no network beyond its own server. Text goes in with textContent only.
"use strict";

const POLL_MS = 5000;
const SVG = "http://www.w3.org/2000/svg";
const LEVEL_TEXT = { red: "红色预警", yellow: "黄色预警", valley: "低谷提示" };
const METRIC_TEXT = { wait_s: "等候时长", time_in_hall_s: "办事耗时", waiting_count: "等候人数" };
const STATE_COLOR = { serving: "#43a047", idle: "#1e88e5", paused: "#fbc02d", closed: "#546e7a" };
const STATE_TEXT = { serving: "办理中", idle: "空闲", paused: "暂停", closed: "未开放" };
const AREA_FILL = { waiting: "#1b3a57", kiosks: "#214d3f", entrance: "#3b3350", other: "#24384d" };
const wanted = new URLSearchParams(location.search).get("hall");

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function minutes(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  return `${Math.round(seconds / 60)}分钟`;
}

function percent(share) {
  return share === null || share === undefined ? "—" : `${(share * 100).toFixed(1)}%`;
}

function metricValue(metric, value) {
  return metric === "waiting_count" ? `${Math.round(value)}人` : minutes(value);
}

// --- warnings ----------------------------------------------------------------------------

// One line per service, at its worst level, naming every metric over its line: across the
// room a manager reads "which service, how bad, what to do", not a list of eight rows.
const RANK = { red: 0, yellow: 1, valley: 2 };
const MAX_ALERT_LINES = 2;

function renderAlerts(hall) {
  const box = document.getElementById("alerts");
  const warnings = (hall && hall.warnings) || [];
  if (!warnings.length) {
    box.replaceChildren(el("div", { class: "alert calm", "data-field": "no-warnings" }, "暂无预警，各业务排队正常"));
    return;
  }
  const byService = new Map();
  for (const w of warnings) {
    const group = byService.get(w.service) || { level: w.level, name: w.service_name, service: w.service, items: [], advice: null };
    if (RANK[w.level] < RANK[group.level]) group.level = w.level;
    group.items.push(w);
    if (w.recommendation && (!group.advice || w.level === "red")) group.advice = w.recommendation.text;
    byService.set(w.service, group);
  }
  // Worst first: by level, then by how many of its metrics are over that level.
  const over = (g) => g.items.filter((w) => w.level === g.level).length;
  const groups = [...byService.values()].sort((a, b) => RANK[a.level] - RANK[b.level] || over(b) - over(a));
  const lines = groups.slice(0, MAX_ALERT_LINES).map((g) => {
    const item = el("div", { class: `alert ${g.level}`, "data-level": g.level, "data-service": g.service });
    item.appendChild(el("span", { class: "badge" }, LEVEL_TEXT[g.level] || g.level));
    const what = g.level === "valley"
      ? `${g.name} 窗口空闲`
      : `${g.name} ` + g.items.filter((w) => w.level !== "valley")
        .map((w) => `${METRIC_TEXT[w.metric] || w.metric} ${metricValue(w.metric, w.value)}（阈值${metricValue(w.metric, w.threshold)}）`).join(" · ");
    item.appendChild(el("span", { class: "what" }, what));
    if (g.advice) item.appendChild(el("span", { class: "advice" }, g.advice));
    return item;
  });
  if (groups.length > MAX_ALERT_LINES) {
    lines.push(el("div", { class: "alert more" }, `另有 ${groups.length - MAX_ALERT_LINES} 项业务预警，详见管理看板`));
  }
  box.replaceChildren(...lines);
}

// --- KPI tiles ---------------------------------------------------------------------------

function tile(key, label, value, note, tone) {
  const box = el("div", { class: `tile ${tone || ""}`, "data-kpi": key });
  box.appendChild(el("div", { class: "label" }, label));
  box.appendChild(el("div", { class: "value" }, value));
  if (note) box.appendChild(el("div", { class: "note" }, note));
  return box;
}

function renderTiles(hall, kpi) {
  const totals = (hall && hall.totals) || {};
  const firing = new Set(((hall && hall.warnings) || []).map((w) => `${w.level}:${w.metric}`));
  const tone = (metric) => (firing.has(`red:${metric}`) ? "red" : firing.has(`yellow:${metric}`) ? "yellow" : "");
  const k = kpi && !kpi.error ? kpi : {};
  const wait = (k.totals && k.totals.wait) || {};
  const ratings = k.ratings || {};
  const kiosk = k.kiosk || {};
  const kioskMissing = kiosk.platform !== "connected";
  const tiles = [
    tile("waiting", "当前等候", `${totals.waiting_count ?? 0}人`, `开放窗口 ${(totals.open_windows || []).length} 个`, tone("waiting_count")),
    tile("longest-wait", "最长等候", minutes(totals.wait_s), "", tone("wait_s")),
    tile("served", "今日办结", `${(k.totals && k.totals.served) ?? totals.served_count ?? 0}件`,
      `今日取号 ${(k.totals && k.totals.issued) ?? 0} 张`),
    tile("wait-promise", "承诺时限内叫号", percent(wait.within_promise), `承诺等候 ${minutes(wait.promise_s)}`),
    tile("satisfaction", "好评率", percent(ratings.satisfied_share),
      ratings.bad && ratings.bad.count ? `差评 ${ratings.bad.count} 件，已跟进 ${percent(ratings.bad.follow_up_rate)}` : `评价 ${ratings.total ?? 0} 次`),
    tile("kiosk-rate", "自助机办件率", kioskMissing ? "平台总量未接入" : percent(kiosk.rate),
      `自助机办件 ${kiosk.kiosk_done ?? 0} 件`, kioskMissing ? "missing" : ""),
    tile("availability", "设备可用率", percent(k.availability), `${(k.devices || []).length} 台设备`),
  ];
  document.getElementById("tiles").replaceChildren(...tiles);
}

// --- floor plan --------------------------------------------------------------------------

const SCALE = 40; // floor units → SVG units, so text sizes read as pixels of a 1:40 plan

function renderFloor(floor) {
  const box = document.getElementById("floor");
  if (!floor || !floor.plan) {
    box.replaceChildren(el("p", { class: "empty" }, "暂无平面图"));
    return;
  }
  const plan = floor.plan;
  const root = svg("svg", {
    viewBox: `0 0 ${plan.width * SCALE} ${plan.depth * SCALE}`,
    preserveAspectRatio: "xMidYMid meet",
    "data-field": "floor-plan",
    role: "img",
    "aria-label": "大厅平面图",
  });
  root.appendChild(svg("rect", { x: 2, y: 2, width: plan.width * SCALE - 4, height: plan.depth * SCALE - 4,
    fill: "none", stroke: "#4f6f8f", "stroke-width": 4, rx: 8 }));
  for (const a of plan.areas) {
    root.appendChild(svg("rect", { x: a.x * SCALE, y: a.y * SCALE, width: a.w * SCALE, height: a.h * SCALE,
      fill: AREA_FILL[a.kind] || AREA_FILL.other, rx: 10, "data-area": a.kind }));
    root.appendChild(svg("text", { x: (a.x + a.w / 2) * SCALE, y: (a.y + a.h / 2) * SCALE + Math.min(34, a.h * SCALE * 0.5) * 0.35,
      "text-anchor": "middle", fill: "#8fa9c0", "font-size": Math.min(34, a.h * SCALE * 0.5) }, a.name));
  }
  const states = Object.fromEntries(floor.windows.map((w) => [w.window, w]));
  for (const spot of plan.windows) {
    const w = states[spot.no] || { state: "closed", state_text: "未开放" };
    const g = svg("g", { "data-window": spot.no, "data-state": w.state });
    const x = spot.x * SCALE, y = spot.y * SCALE, width = spot.w * SCALE, height = spot.h * SCALE;
    g.appendChild(svg("rect", { x, y, width, height, rx: 10, fill: STATE_COLOR[w.state] || STATE_COLOR.closed,
      stroke: "#0d1b2a", "stroke-width": 3 }));
    const cx = x + width / 2;
    const text = (dy, size, content, extra) => g.appendChild(svg("text", Object.assign(
      { x: cx, y: y + height * dy, "text-anchor": "middle", fill: "#fff", "font-size": height * size }, extra || {}), content));
    text(0.28, 0.23, `${spot.no}号窗口`, { "font-weight": 700 });
    text(0.52, 0.2, STATE_TEXT[w.state] || w.state_text, { "font-weight": 700, "data-field": "state" });
    const detail = w.state === "serving" ? `${w.ticket_no} ${w.service_name || ""}`
      : w.state === "paused" ? (w.pause_reason || "")
      : (w.services || []).slice(0, 2).join("、") + ((w.services || []).length > 2 ? "等" : "");
    text(0.73, 0.155, detail);
    if (w.state !== "closed") text(0.92, 0.14, `${w.staff_id || ""} · 今日${w.served_today}件`, { fill: "#eef3f7" });
    root.appendChild(g);
  }
  box.replaceChildren(root);
  document.getElementById("floor-legend").replaceChildren(...Object.entries(STATE_TEXT).map(([k, text]) => {
    const item = el("li", {}, text);
    const swatch = el("i");
    swatch.style.background = STATE_COLOR[k];
    item.prepend(swatch);
    return item;
  }));
}

// --- live queue --------------------------------------------------------------------------

function levelOf(service, key) {
  const state = (service.states || {})[key] || "";
  return state === "firing:red" ? "red" : state === "firing:yellow" ? "yellow" : "";
}

function renderQueue(hall) {
  const table = document.getElementById("queue");
  const head = el("tr");
  for (const t of ["业务", "等候人数", "最长等候", "办事耗时", "开放窗口"]) head.appendChild(el("th", {}, t));
  const rows = [head];
  for (const s of (hall && hall.services) || []) {
    const row = el("tr", { "data-service": s.service });
    row.appendChild(el("td", { "data-field": "name" }, s.name));
    row.appendChild(el("td", { "data-field": "waiting_count", class: levelOf(s, "waiting_count") }, `${s.waiting_count}人`));
    row.appendChild(el("td", { "data-field": "wait_s", class: levelOf(s, "wait_s") }, minutes(s.wait_s)));
    row.appendChild(el("td", { "data-field": "time_in_hall_s", class: levelOf(s, "time_in_hall_s") }, minutes(s.time_in_hall_s)));
    row.appendChild(el("td", { "data-field": "open_windows" }, s.open_windows.length ? s.open_windows.map((n) => `${n}号`).join(" ") : "无"));
    rows.push(row);
  }
  table.replaceChildren(...rows);
}

// --- charts ------------------------------------------------------------------------------

const W = 900, H = 300, PAD = { left: 70, right: 20, top: 40, bottom: 42 };

// A top of the axis that reads well: 1, 2 or 5 times a power of ten, per quarter.
function niceTop(value) {
  const raw = Math.max(value, 1) / 4;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw);
  return step * 4;
}

function axes(root, slots, maxY, unit) {
  const plotH = H - PAD.top - PAD.bottom;
  for (let i = 0; i <= 4; i++) {
    const v = (maxY * i) / 4;
    const y = PAD.top + plotH - (plotH * i) / 4;
    root.appendChild(svg("line", { x1: PAD.left, x2: W - PAD.right, y1: y, y2: y, stroke: "#2b4a66", "stroke-width": 1 }));
    root.appendChild(svg("text", { x: PAD.left - 8, y: y + 7, "text-anchor": "end", fill: "#a9bccd", "font-size": 20 },
      `${Math.round(v)}${i === 4 ? unit : ""}`));
  }
  const step = (W - PAD.left - PAD.right) / slots.length;
  slots.forEach((s, i) => {
    if (s.label.endsWith(":00")) {
      root.appendChild(svg("text", { x: PAD.left + step * i, y: H - 12, "text-anchor": "middle", fill: "#a9bccd", "font-size": 20 }, s.label));
    }
  });
  return step;
}

function legend(root, entries) {
  let x = PAD.left;
  for (const [text, color, dashed] of entries) {
    root.appendChild(svg("line", { x1: x, x2: x + 30, y1: 18, y2: 18, stroke: color, "stroke-width": 6,
      "stroke-dasharray": dashed ? "8 6" : "none" }));
    root.appendChild(svg("text", { x: x + 38, y: 25, fill: "#dfe8f0", "font-size": 20 }, text));
    x += 60 + text.length * 21;
  }
}

function path(points) {
  return points.map(([x, y], i) => `${i ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
}

function series(root, slots, step, maxY, key, attrs, scale) {
  const plotH = H - PAD.top - PAD.bottom;
  const pts = [];
  slots.forEach((s, i) => {
    if (s[key] === null || s[key] === undefined) return;
    pts.push([PAD.left + step * (i + 0.5), PAD.top + plotH - (plotH * (s[key] / scale)) / maxY]);
  });
  if (pts.length) root.appendChild(svg("path", Object.assign({ d: path(pts), fill: "none", "stroke-width": 5 }, attrs)));
}

function chartBox(id, name) {
  const box = document.getElementById(id);
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", "data-chart": name });
  box.replaceChildren(root);
  return root;
}

function renderWaitChart(trend) {
  const slots = (trend && trend.slots) || [];
  if (!slots.length) {
    document.getElementById("chart-waits").replaceChildren(el("p", { class: "empty" }, "今日尚无数据"));
    return;
  }
  const root = chartBox("chart-waits", "waits");
  const promise = trend.promise_wait_s;
  const values = slots.flatMap((s) => [s.wait_s, s.wait_peak_s, s.wait_baseline_p80_s]).filter((v) => v !== null);
  const maxY = niceTop(Math.max(promise.red * 1.1, ...values) / 60);
  const step = axes(root, slots, maxY, "分");
  const plotH = H - PAD.top - PAD.bottom;
  for (const [level, color] of [["yellow", "#fbc02d"], ["red", "#e53935"]]) {
    const y = PAD.top + plotH - (plotH * promise[level]) / 60 / maxY;
    root.appendChild(svg("line", { x1: PAD.left, x2: W - PAD.right, y1: y, y2: y, stroke: color, "stroke-width": 2,
      "stroke-dasharray": "4 6", "data-series": `promise-${level}` }));
  }
  series(root, slots, step, maxY, "wait_baseline_p80_s", { stroke: "#90a4ae", "stroke-dasharray": "12 8", "data-series": "baseline" }, 60);
  series(root, slots, step, maxY, "wait_s", { stroke: "#4fc3f7", "data-series": "today" }, 60);
  series(root, slots, step, maxY, "wait_peak_s", { stroke: "#ff8a65", "stroke-width": 3, "data-series": "today-peak" }, 60);
  legend(root, [["今日平均", "#4fc3f7"], ["今日最长", "#ff8a65"], ["周基线P80", "#90a4ae", true], ["承诺黄/红线", "#fbc02d", true]]);
}

function renderArrivalChart(trend) {
  const slots = (trend && trend.slots) || [];
  if (!slots.length) {
    document.getElementById("chart-arrivals").replaceChildren(el("p", { class: "empty" }, "今日尚无数据"));
    return;
  }
  const root = chartBox("chart-arrivals", "arrivals");
  const values = slots.flatMap((s) => [s.arrivals, s.arrivals_baseline]).filter((v) => v !== null);
  const maxY = niceTop(Math.max(5, ...values) * 1.1);
  const step = axes(root, slots, maxY, "人");
  const plotH = H - PAD.top - PAD.bottom;
  slots.forEach((s, i) => {
    if (s.arrivals === null) return;
    const h = (plotH * s.arrivals) / maxY;
    root.appendChild(svg("rect", { x: PAD.left + step * i + step * 0.15, y: PAD.top + plotH - h, width: step * 0.7,
      height: h, fill: "#4fc3f7", "data-series": "today", "data-slot": s.label }));
  });
  series(root, slots, step, maxY, "arrivals_baseline", { stroke: "#cfd8dc", "stroke-dasharray": "12 8", "data-series": "baseline" }, 1);
  legend(root, [["今日到达", "#4fc3f7"], ["周基线（同星期均值）", "#cfd8dc", true]]);
  if (trend.baseline !== "available") {
    root.appendChild(svg("text", { x: W - PAD.right, y: 25, "text-anchor": "end", fill: "#a9bccd", "font-size": 20 }, "周基线尚未生成"));
  }
}

// --- polling -----------------------------------------------------------------------------

function pick(halls) {
  return (halls || []).find((h) => h.hall === wanted) || (halls || [])[0] || null;
}

function render(state, kpis) {
  const hall = pick(state.halls);
  const kpi = kpis ? (kpis.halls || []).find((h) => hall && h.hall === hall.hall) : null;
  document.getElementById("hall-name").textContent = hall ? hall.name : "暂无大厅数据";
  document.getElementById("clock").textContent = hall && hall.clock ? hall.clock.slice(11, 16) : "--:--";
  renderAlerts(hall);
  renderTiles(hall, kpi);
  renderFloor(kpi && kpi.floor);
  renderQueue(hall);
  renderWaitChart(kpi && kpi.trend);
  renderArrivalChart(kpi && kpi.trend);
  const status = document.getElementById("status");
  status.className = "status";
  status.textContent = kpi ? `已更新 ${new Date().toLocaleTimeString("zh-CN")}` : "指标暂不可用，显示实时排队";
}

async function fetchJson(url) {
  const response = await fetch(url, { cache: "no-store" });
  if (!response.ok) throw new Error(String(response.status));
  return response.json();
}

async function poll() {
  try {
    const state = await fetchJson("/api/state");
    // Ask for the one hall shown: the collector follows only the halls screens ask for.
    const shown = pick(state.halls);
    const kpis = shown
      ? await fetchJson("/api/kpis?hall=" + encodeURIComponent(shown.hall)).catch(() => null)
      : null;
    render(state, kpis);
  } catch (err) {
    const status = document.getElementById("status");
    status.className = "status error";
    status.textContent = "数据暂不可用，正在重试…";
  }
  setTimeout(poll, POLL_MS);
}

poll();
