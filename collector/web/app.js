// Polls /api/state and renders every hall. Text goes in with textContent only: service
// names and advice come from configuration and the network, never as HTML.
"use strict";

const POLL_MS = 3000;
const LEVEL_TEXT = { red: "红色预警", yellow: "黄色预警", valley: "低谷提示" };
const METRIC_TEXT = { wait_s: "等候时长", time_in_hall_s: "办事耗时", waiting_count: "等候人数" };
const COLUMNS = [
  ["name", "业务"],
  ["waiting_count", "等候人数"],
  ["wait_s", "最长等候"],
  ["avg_wait_s", "平均等候"],
  ["time_in_hall_s", "办事耗时"],
  ["open_windows", "开放窗口"],
];

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function duration(seconds) {
  const s = Math.max(0, Math.round(seconds || 0));
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}分${String(s % 60).padStart(2, "0")}秒` : `${s}秒`;
}

function metricValue(metric, value) {
  return metric === "waiting_count" ? `${Math.round(value)}人` : duration(value);
}

function cell(service, key) {
  const value = service[key];
  if (key === "name") return service.name;
  if (key === "waiting_count") return String(value);
  if (key === "open_windows") return value.length ? value.map((n) => `${n}号`).join("、") : "无";
  return duration(value);
}

function levelOf(service, key) {
  const state = (service.states || {})[key] || "";
  if (state === "firing:red") return "red";
  if (state === "firing:yellow") return "yellow";
  return "";
}

function renderWarnings(hall) {
  const box = el("section", { class: "warning-box" });
  box.appendChild(el("h3", {}, "潮汐预警"));
  if (!hall.warnings.length) {
    box.appendChild(el("p", { class: "none", "data-field": "no-warnings" }, "暂无预警"));
    return box;
  }
  const list = el("ul", { class: "warnings" });
  for (const w of hall.warnings) {
    const item = el("li", { class: `warning ${w.level}`, "data-level": w.level });
    item.appendChild(el("span", { class: `badge ${w.level}` }, LEVEL_TEXT[w.level] || w.level));
    const what = w.level === "valley"
      ? `${w.service_name} · 窗口空闲，等候不足${duration(w.threshold)}`
      : `${w.service_name} · ${METRIC_TEXT[w.metric] || w.metric} ${metricValue(w.metric, w.value)}` +
        `（阈值 ${metricValue(w.metric, w.threshold)}）`;
    item.appendChild(el("span", { class: "what" }, what));
    if (w.recommendation) item.appendChild(el("span", { class: "advice" }, w.recommendation.text));
    list.appendChild(item);
  }
  box.appendChild(list);
  return box;
}

function renderQueue(hall) {
  const box = el("section", { class: "queue-box" });
  box.appendChild(el("h3", {}, "实时排队"));
  const table = el("table", { class: "queue" });
  const head = el("tr");
  for (const [, title] of COLUMNS) head.appendChild(el("th", {}, title));
  table.appendChild(head);
  for (const service of hall.services) {
    const row = el("tr", { "data-service": service.service });
    for (const [key] of COLUMNS) {
      row.appendChild(el("td", { "data-field": key, class: levelOf(service, key) }, cell(service, key)));
    }
    table.appendChild(row);
  }
  if (hall.totals) {
    const t = hall.totals;
    const row = el("tr", { class: "total", "data-service": "_total" });
    const values = ["合计", String(t.waiting_count), duration(t.wait_s), "", duration(t.time_in_hall_s),
      t.open_windows.length ? t.open_windows.map((n) => `${n}号`).join("、") : "无"];
    COLUMNS.forEach(([key], i) => row.appendChild(el("td", { "data-field": key }, values[i])));
    table.appendChild(row);
  }
  box.appendChild(table);
  return box;
}

const PRESENCE_TEXT = { online: "在线", stale: "无心跳", offline: "离线" };
const OFFLINE_REASON = { lost: "连接中断", shutdown: "正常关机" };

function renderDevices(devices, hallId) {
  const mine = (devices || []).filter((d) => d.hall === hallId);
  const box = el("section", { class: "device-box" });
  box.appendChild(el("h3", {}, "边缘设备"));
  if (!mine.length) {
    box.appendChild(el("p", { class: "none" }, "暂无设备上线记录"));
    return box;
  }
  const list = el("ul", { class: "devices" });
  for (const d of mine) {
    const item = el("li", { class: `device ${d.status}`, "data-device": d.device, "data-status": d.status });
    item.appendChild(el("span", { class: `badge ${d.status}` }, PRESENCE_TEXT[d.status] || d.status));
    const since = new Date(d.since * 1000).toLocaleTimeString("zh-CN");
    const why = d.status === "offline" && d.reason ? `（${OFFLINE_REASON[d.reason] || d.reason}）` : "";
    item.appendChild(el("span", { class: "what" }, `${d.device} · 自 ${since}${why}`));
    list.appendChild(item);
  }
  box.appendChild(list);
  return box;
}

const REASON_TEXT = {
  not_json: "非JSON", too_big: "超过大小上限", too_deep: "嵌套过深", too_many: "事件过多",
  version: "版本不支持", empty: "空批次", non_finite: "非有限数值", int_range: "整数越界",
  event_too_big: "事件过大", time_past: "时间过早", time_future: "时间超前",
  ticket_order: "票号时间顺序错误", wrong_hall: "大厅不符", wrong_type: "字段类型错误",
  missing_field: "缺少字段", bad_identity: "标识无效", id_too_long: "标识过长",
  bad_text: "文本损坏", seq_conflict: "序号冲突", unstorable: "无法存储", internal: "内部错误",
};

function counts(map, names) {
  return Object.entries(map || {}).map(([k, n]) => `${(names || {})[k] || k} ${n}条`).join("、");
}

// What the collector kept without fully using it: dead letters, events of kinds or versions
// newer than this collector, seqs the hall no longer holds. Shown only when there is any.
function renderIngest(hall) {
  const ing = hall.ingest;
  if (!ing) return null;
  const lines = [];
  if (ing.dead_letters) {
    lines.push(["dead-letters", `死信 ${ing.dead_letters} 条（${counts(ing.dead_letter_reasons, REASON_TEXT)}）`]);
  }
  if (Object.keys(ing.unknown_kinds || {}).length) {
    lines.push(["unknown-kinds", `未识别类型事件（已保存）：${counts(ing.unknown_kinds)}`]);
  }
  if (Object.keys(ing.newer_minor || {}).length) {
    lines.push(["newer-minor", `新版本事件（已保存）：${counts(ing.newer_minor)}`]);
  }
  if (ing.lost_seqs) lines.push(["lost-seqs", `大厅已不再保存的事件序号 ${ing.lost_seqs} 个`]);
  if (ing.replay_skipped) lines.push(["replay-skipped", `重启回放跳过异常事件 ${ing.replay_skipped} 条`]);
  if (ing.failures) lines.push(["failures", `计算失败 ${ing.failures} 次（代码 500）`]);
  if (!lines.length) return null;
  const box = el("section", { class: "ingest-box" });
  box.appendChild(el("h3", {}, "数据接收"));
  const list = el("ul", { class: "ingest" });
  for (const [key, text] of lines) list.appendChild(el("li", { "data-field": key }, text));
  box.appendChild(list);
  return box;
}

const FUNCTION_TEXT = {
  ticket: "取号", service_guide: "办事指南", appointments: "预约取号", case_progress: "办件查询",
  bill_payment: "生活缴费", elderly_subsidy: "高龄认证", certificates: "证明打印",
  convenience_queries: "便民查询", rating: "服务评价",
};

// Kiosk transactions of the business day per function (the numerator of 自助机办件率),
// help requests, ratings and pages printed. Shown only once a kiosk did anything.
function renderKiosk(hall) {
  const usage = hall.totals && hall.totals.kiosk;
  if (!usage || !Object.keys(usage.functions || {}).length) return null;
  const box = el("section", { class: "kiosk-box" });
  box.appendChild(el("h3", {}, `自助终端今日办件 ${usage.transactions_done} 件，呼叫帮办 ${usage.help_requests} 次`));
  const list = el("ul", { class: "kiosk" });
  for (const [fn, row] of Object.entries(usage.functions)) {
    const parts = [`办结 ${row.done} 件`];
    if (row.not_done) parts.push(`未成功 ${row.not_done} 件`);
    const items = Object.entries(row.items || {}).map(([item, n]) => `${item} ${n}`).join("、");
    if (items) parts.push(`按事项：${items}`);
    if (row.help_requests) parts.push(`呼叫帮办 ${row.help_requests} 次`);
    if (row.rating_count) parts.push(`评价 ${row.rating_count} 次，均分 ${row.rating_avg}`);
    if (row.printed_pages) parts.push(`打印 ${row.printed_pages} 页`);
    list.appendChild(el("li", { "data-function": fn }, `${FUNCTION_TEXT[fn] || fn}：${parts.join("，")}`));
  }
  box.appendChild(list);
  return box;
}

function renderHall(hall, devices) {
  const box = el("article", { class: "hall", "data-hall": hall.hall });
  const title = el("h2", {}, hall.name);
  title.appendChild(el("span", { class: "clock" }, hall.clock ? `大厅时间 ${hall.clock}` : "尚无数据"));
  box.appendChild(title);
  if (hall.error) {
    box.appendChild(el("p", { class: "status error", "data-field": "hall-error" },
      `该大厅数据暂不可用（代码 ${hall.code}），其他大厅不受影响`));
  }
  box.appendChild(renderWarnings(hall));
  box.appendChild(renderQueue(hall));
  const kiosk = renderKiosk(hall);
  if (kiosk) box.appendChild(kiosk);
  const ingest = renderIngest(hall);
  if (ingest) box.appendChild(ingest);
  box.appendChild(renderDevices(devices, hall.hall));
  return box;
}

function render(state) {
  const root = document.getElementById("halls");
  root.replaceChildren(...state.halls.map((hall) => renderHall(hall, state.devices)));
  const status = document.getElementById("status");
  status.className = "status";
  status.textContent = state.halls.length ? `已更新 ${new Date().toLocaleTimeString("zh-CN")}` : "暂无大厅数据";
}

async function poll() {
  try {
    const response = await fetch("/api/state", { cache: "no-store" });
    if (!response.ok) throw new Error(String(response.status));
    render(await response.json());
  } catch (err) {
    const status = document.getElementById("status");
    status.className = "status error";
    status.textContent = "数据暂不可用，正在重试…";
  }
  setTimeout(poll, POLL_MS);
}

poll();
