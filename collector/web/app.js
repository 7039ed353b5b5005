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
    if (w.basis) item.appendChild(el("span", { class: "basis", "data-field": "basis" }, BASIS_TEXT[w.basis] || w.basis));
    if (w.recommendation) item.appendChild(el("span", { class: "advice" }, w.recommendation.text));
    for (const alt of (w.recommendation && w.recommendation.alternatives) || []) {
      item.appendChild(el("span", { class: "reason", "data-alternative": alt.action }, `${alt.text}：${alt.reason}`));
    }
    list.appendChild(item);
  }
  box.appendChild(list);
  return box;
}

const BASIS_TEXT = { baseline: "阈值取自本时段周基线", promise: "阈值取自服务承诺" };
const SOURCE_TEXT = { window: "窗口", kiosk: "自助终端" };
const STEP_TEXT = { verified: "核实", rectified: "整改完成", closed: "办结" };

// 差评 and their follow-up (待核实 → 已核实 → 已整改 → 已办结); each button asks who took the
// step and their note, then POSTs it (docs/tidal.md).
function renderBadRatings(hall) {
  const ratings = hall.bad_ratings || [];
  if (!ratings.length) return null;
  const box = el("section", { class: "rating-box" });
  const open = ratings.filter((r) => r.state !== "closed").length;
  box.appendChild(el("h3", {}, `差评跟进（未办结 ${open} 件）`));
  const list = el("ul", { class: "bad-ratings" });
  for (const r of ratings) {
    const item = el("li", { class: `bad-rating ${r.state}`, "data-rating": String(r.id), "data-state": r.state });
    item.appendChild(el("span", { class: `badge ${r.state}` }, r.state_text));
    const where = r.source === "window" ? `${r.window}号窗口 ${r.ticket_no}号` : `${SOURCE_TEXT.kiosk} ${r.device_id} ${FUNCTION_TEXT[r.function] || r.function || ""}`;
    const when = new Date(r.rated_at * 1000).toLocaleString("zh-CN");
    item.appendChild(el("span", { class: "what" }, `#${r.id} ${when} ${where} “${r.label}”${r.reason ? "：" + r.reason : ""}`));
    for (const s of r.steps || []) {
      item.appendChild(el("span", { class: "step" }, `${s.state_text}（${s.by}${s.note ? "：" + s.note : ""}）`));
    }
    for (const next of r.next || []) {
      const button = el("button", { type: "button", "data-next": next }, STEP_TEXT[next] || next);
      button.addEventListener("click", () => followUp(r.id, next));
      item.appendChild(button);
    }
    list.appendChild(item);
  }
  box.appendChild(list);
  return box;
}

async function followUp(id, state) {
  const by = window.prompt("处理人姓名");
  if (!by) return;
  const note = window.prompt(state === "verified" ? "核实意见" : state === "rectified" ? "整改情况" : "办结说明") || "";
  const response = await fetch(`/api/ratings/${id}/follow-up`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ state, by, note }),
  });
  if (!response.ok) window.alert((await response.json()).message || "操作失败");
}

const ROLE_TEXT = { office_lead: "审管办负责人", window_lead: "窗口负责人", duty_manager: "值班经理" };
const SEND_TEXT = { sent: "已送达", pending: "发送中", failed: "发送失败", refused: "网关拒收" };

function renderNotifications(hall) {
  const sent = hall.notifications || [];
  if (!sent.length) return null;
  const box = el("section", { class: "notify-box" });
  box.appendChild(el("h3", {}, "消息推送记录"));
  const list = el("ul", { class: "notifications" });
  for (const m of sent) {
    const when = new Date(m.created_at * 1000).toLocaleTimeString("zh-CN");
    list.appendChild(el("li", { class: `notification ${m.status}`, "data-status": m.status },
      `${when} ${ROLE_TEXT[m.role] || m.role} ${m.name}（${m.address}）${SEND_TEXT[m.status] || m.status}：${m.text}`));
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
  convenience_queries: "便民查询", rating: "服务评价", self_submission: "自助申报",
  form_fill: "自助填表", self_copy: "自助复印",
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
    if (row.failed_prints) parts.push(`打印失败 ${row.failed_prints} 次`);
    if (row.cancelled_prints) parts.push(`取消打印 ${row.cancelled_prints} 次`);
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
  const ratings = renderBadRatings(hall);
  if (ratings) box.appendChild(ratings);
  const notifications = renderNotifications(hall);
  if (notifications) box.appendChild(notifications);
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
