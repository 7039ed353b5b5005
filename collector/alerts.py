"""What each person is told: warnings and bad ratings as Chinese messages for their recipients.

Red goes to the office lead and the service's window leads, yellow and valley to the window
leads, a clear to those who were told of the level it ends (:mod:`collector.recipients`); a
差评 goes to the duty manager. A message's key names the event it is about (the transition's
hall time, the rating's id), so the same warning or rating never makes a second message.
"""

from __future__ import annotations

from collector.notify import Message
from collector.rating_followup import BadRating
from collector.recipients import RecipientBook
from collector.warnings import Transition
from core.clock import hall_time

LEVEL_TEXT = {"red": "红色预警", "yellow": "黄色预警", "valley": "低谷提示"}
METRIC_TEXT = {"wait_s": "等候时长", "time_in_hall_s": "办事耗时", "waiting_count": "等候人数"}
BASIS_TEXT = {"baseline": "本时段周基线", "promise": "服务承诺"}


def _amount(metric: str, value: float) -> str:
    if metric == "waiting_count":
        return f"{value:.0f}人"
    return f"{value / 60:.0f}分钟"


def warning_messages(
    t: Transition, book: RecipientBook, hall_name: str, service_name: str
) -> list[Message]:
    """The messages one warning transition sends."""
    clock = hall_time(t.at).strftime("%H:%M")
    if t.level == "clear":
        ended = t.previous or "yellow"
        people = book.for_warning(ended, t.service)
        what = "低谷提示" if ended == "valley" else LEVEL_TEXT.get(ended, ended)
        text = f"【预警解除】{hall_name} {service_name}{what}已解除（{clock}）。"
    elif t.level == "valley":
        people = book.for_warning("valley", t.service)
        advice = t.recommendation.text if t.recommendation else ""
        text = (f"【低谷提示】{hall_name} {service_name}窗口空闲，"
                f"等候不足{t.threshold / 60:.0f}分钟（{clock}）。{advice}。")  # fmt: skip
    else:
        people = book.for_warning(t.level, t.service)
        basis = BASIS_TEXT.get(t.basis or "promise", "")
        advice = t.recommendation.text if t.recommendation else ""
        text = (
            f"【{LEVEL_TEXT[t.level]}】{hall_name} {service_name}{METRIC_TEXT[t.metric]}"
            f"{_amount(t.metric, t.value)}，超过{basis}{_amount(t.metric, t.threshold)}"
            f"（{clock}）。{advice}。"
        )
    key = f"warning|{t.hall}|{t.service}|{t.metric}|{t.level}|{t.at:.3f}"
    return [Message(key, t.hall, "warning", t.level, p, text) for p in people]


def bad_rating_messages(rating: BadRating, book: RecipientBook, hall_name: str,
                        service_name: str | None) -> list[Message]:  # fmt: skip
    """The messages one 差评 sends (seed 002: 自动向值班经理发送短信)."""
    clock = hall_time(rating.rated_at).strftime("%m-%d %H:%M")
    if rating.source == "window":
        where = f"{rating.window}号窗口 {service_name or rating.service or ''} {rating.ticket_no}号"
    else:
        item = f" {rating.item}" if rating.item else ""
        where = f"自助终端{rating.device_id} {rating.function or ''}{item}"
    why = f"，原因：{rating.reason}" if rating.reason else ""
    text = (f"【差评提醒】{hall_name} {where}于{clock}评价“{rating.label}”{why}。"
            f"请核实处理（差评编号{rating.id}）。")  # fmt: skip
    key = f"bad_rating|{rating.hall}|{rating.id}"
    return [Message(key, rating.hall, "bad_rating", str(rating.level), p, text)
            for p in book.for_bad_rating()]  # fmt: skip
