"""Each 差评 is kept and followed up (核实 → 整改 → 办结) from the dashboard and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from collector.dashboard import Dashboard
from collector.rating_followup import BadRatingDesk
from core.events import Kind
from tests.hall_events import RecordedHall

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def rated(tmp_path):
    """A hall where a citizen rated window 1 不满意, another the kiosk's 生活缴费 非常不满意
    (and a third 满意, which is no 差评)."""
    hall = RecordedHall(tmp_path / "hall.db")
    hall.open(1)
    hall.issue("social")
    hall.call(1)
    hall.advance(240)
    ticket = hall.finish(1)
    hall.queue.record_rating(ticket, 2, "rating-pad-1")
    kiosk = hall.queue.transaction_journal("kiosk-1", hall.clock)
    kiosk.record(Kind.KIOSK_RATED, {"function": "bill_payment", "item": "水费", "ref": "W-1",
                                    "level": 1, "label": "非常不满意", "reason": "缴费后未出凭证"})
    kiosk.record(Kind.KIOSK_RATED, {"function": "bill_payment", "item": "电费", "ref": "E-1",
                                    "level": 4, "label": "满意", "reason": ""})
    desk = BadRatingDesk(tmp_path / "collector.db")
    events = hall.take()
    kept = desk.record(events)
    again = desk.record(events)  # the same batch once more
    yield desk, kept, again, tmp_path / "collector.db"
    desk.close()
    hall.close_db()


def test_only_bad_ratings_are_kept_and_each_once(rated):
    desk, kept, again, _ = rated

    assert [(r.source, r.level, r.label, r.state) for r in kept] == [
        ("window", 2, "不满意", "open"), ("kiosk", 1, "非常不满意", "open"),
    ]
    assert kept[1].reason == "缴费后未出凭证" and kept[1].function == "bill_payment"
    assert again == []
    assert desk.counts("hall-demo") == {"open": 2}


def post(url: str, body: object, content_type: str = "application/json") -> tuple[int, dict]:
    request = urllib.request.Request(url, json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_the_dashboard_moves_a_rating_through_its_follow_up(rated):
    desk, kept, _, _ = rated
    window_rating = kept[0]
    board = Dashboard(lambda: {"v": 1, "halls": []},
                      follow_up=lambda i, s, b, n: desk.step(i, s, b, n, time.time()).to_dict())
    board.start()
    try:
        url = f"{board.url}api/ratings/{window_rating.id}/follow-up"
        skipped = post(url, {"state": "closed", "by": "周经理"})
        verified = post(url, {"state": "verified", "by": "周经理", "note": "属实，等候时叫号未播报"})
        nobody = post(url, {"state": "rectified", "by": " "})
        rectified = post(url, {"state": "rectified", "by": "李科长", "note": "已修复叫号音箱"})
        closed = post(url, {"state": "closed", "by": "周经理", "note": "已电话回访，群众认可"})
        unknown = post(f"{board.url}api/ratings/999/follow-up", {"state": "verified", "by": "x"})
        form = post(url, {"state": "closed", "by": "x"}, content_type="text/plain")
    finally:
        board.stop()

    assert skipped[0] == 409 and skipped[1]["code"] == 520
    assert skipped[1]["message"] == "差评跟进状态不能这样变更"
    assert verified[0] == 200 and verified[1]["state_text"] == "已核实"
    assert nobody[0] == 409
    assert rectified[1]["next"] == ["closed"]
    assert closed[0] == 200 and closed[1]["state_text"] == "已办结" and closed[1]["next"] == []
    assert [(s["state_text"], s["by"]) for s in closed[1]["steps"]] == [
        ("已核实", "周经理"), ("已整改", "李科长"), ("已办结", "周经理"),
    ]
    assert unknown[0] == 404 and unknown[1]["code"] == 521
    assert form[0] == 415  # a cross-site form cannot post a follow-up


def test_the_cli_lists_and_closes_an_unfounded_rating(rated):
    _, kept, _, db = rated
    kiosk_rating = kept[1]

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(  # noqa: PLW1510
            [sys.executable, "main.py", "collector", *args, "--store", str(db)],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )

    listed = cli("ratings", "--state", "unclosed")
    assert listed.returncode == 0, listed.stderr
    assert "非常不满意 待核实 缴费后未出凭证" in listed.stdout
    verified = cli("follow-up", str(kiosk_rating.id), "verified", "--by", "周经理",
                   "--note", "核实不属实：凭证已打印，群众未取走")
    closed = cli("follow-up", str(kiosk_rating.id), "closed", "--by", "周经理")
    assert verified.returncode == 0 and closed.stdout.strip() == f"差评 {kiosk_rating.id}：已办结"
    again = cli("follow-up", str(kiosk_rating.id), "rectified", "--by", "周经理")
    assert again.returncode != 0 and "520" in again.stderr
