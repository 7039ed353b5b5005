"""The kiosk's one HTTP path to the platform (govplatform/http.py) against the simulated
platform's faults: what is retried, what is not, and which typed error (801–806) a flow gets.

Requests are counted in the simulator's own log, so "retried three times" means three
requests reached the server, and "sent once" means one did.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from core.errors import (
    PlatformBadResponse,
    PlatformNotFound,
    PlatformRefused,
    PlatformServerError,
    PlatformTimeout,
    PlatformUnreachable,
)
from core.strings_zh import error_text
from govplatform.http import PlatformHttp
from upstream_sim import catalog
from upstream_sim.people import People, make_people
from upstream_sim.server import Request, Response, Route, UpstreamServer, ok

VERSION = "/catalog/version"
RECEIPTS = "/receipts"
LOOKUP = "/records/search"
NUMBER = "110101199003077777"


class Receipts:
    """A platform-style POST: each new Idempotency-Key makes one receipt, a repeated key is
    answered with its first receipt (as the platform's state-changing endpoints do)."""

    def __init__(self) -> None:
        self.by_key: dict[str, dict[str, Any]] = {}
        self.made = 0

    def route(self) -> Route:
        return Route("POST", RECEIPTS, self.post)

    def post(self, request: Request) -> Response:
        key = request.headers.get("idempotency-key")
        if key and key in self.by_key:
            return ok(self.by_key[key])
        self.made += 1
        receipt = {"receipt_no": f"R{self.made:04d}"}
        if key:
            self.by_key[key] = receipt
        return ok(receipt)


@pytest.fixture
def receipts() -> Receipts:
    return Receipts()


def records_search(request: Request) -> Response:
    """A platform-style lookup: the ID number in the body, the answer echoes what it got."""
    return ok({"id_number": request.fields().get("id_number"), "query": request.query})


@pytest.fixture
def sim(receipts: Receipts) -> Iterator[UpstreamServer]:
    routes = [*catalog.routes(People(make_people(5, 3))), receipts.route(),
              Route("POST", LOOKUP, records_search)]  # fmt: skip
    with UpstreamServer("政务服务平台", routes) as server:
        yield server


@pytest.fixture
def http(sim: UpstreamServer) -> Iterator[PlatformHttp]:
    client = PlatformHttp(sim.url, "kiosk-1", connect_timeout_s=1.0, read_timeout_s=1.0)
    try:
        yield client
    finally:
        client.close()


def requests_to(sim: UpstreamServer, path: str) -> list[int]:
    """The statuses of the requests ``path`` received, oldest first (0: held unanswered)."""
    return [status for _, p, status in sim.log if p == path]


def test_an_answer_is_the_envelopes_data(http: PlatformHttp, sim: UpstreamServer) -> None:
    assert http.get(VERSION) == {"version": 1, "items": len(catalog.build_items())}
    assert requests_to(sim, VERSION) == [200]


def test_a_slow_answer_within_the_read_timeout_is_waited_for(
    http: PlatformHttp, sim: UpstreamServer
) -> None:
    sim.fault("slow", delay_s=0.4, count=1)
    started = time.monotonic()
    assert http.get(VERSION)["version"] == 1
    assert time.monotonic() - started >= 0.4
    assert requests_to(sim, VERSION) == [200]


def test_a_get_is_retried_after_a_500_and_succeeds_when_the_platform_recovers(
    http: PlatformHttp, sim: UpstreamServer
) -> None:
    sim.fault("error500", count=2)
    assert http.get(VERSION)["version"] == 1
    assert requests_to(sim, VERSION) == [500, 500, 200]


def test_a_get_that_keeps_failing_is_a_server_error_after_three_attempts(
    http: PlatformHttp, sim: UpstreamServer
) -> None:
    # Set over HTTP, as a technician does with curl.
    requests.post(f"{sim.url}/_sim/faults", json={"mode": "error500"}, timeout=5).raise_for_status()
    with pytest.raises(PlatformServerError) as caught:
        http.get(VERSION)
    assert caught.value.code == 803
    assert error_text(caught.value) == "政务服务平台繁忙，请稍后再试"
    assert requests_to(sim, VERSION) == [500, 500, 500]
    requests.delete(f"{sim.url}/_sim/faults", timeout=5).raise_for_status()
    assert http.get(VERSION)["version"] == 1


def test_a_malformed_answer_is_a_bad_response_and_not_asked_again(
    http: PlatformHttp, sim: UpstreamServer
) -> None:
    sim.fault("malformed", count=1)
    with pytest.raises(PlatformBadResponse) as caught:
        http.get(VERSION)
    assert caught.value.code == 804
    assert error_text(caught.value) == "政务服务平台返回的信息有误，请稍后再试或联系工作人员"
    assert requests_to(sim, VERSION) == [200]


def test_a_get_held_past_the_read_timeout_is_a_timeout_after_three_attempts(
    http: PlatformHttp, sim: UpstreamServer
) -> None:
    sim.fault("timeout", delay_s=1.5)
    started = time.monotonic()
    with pytest.raises(PlatformTimeout) as caught:
        http.get(VERSION)
    assert caught.value.code == 802
    assert error_text(caught.value) == "政务服务平台响应超时，请稍后再试"
    assert requests_to(sim, VERSION) == [0, 0, 0]
    assert time.monotonic() - started < 3 * 1.5  # each attempt gave up at the read timeout


def test_a_refused_connection_is_unreachable_and_the_same_address_works_once_cleared(
    http: PlatformHttp, sim: UpstreamServer
) -> None:
    http.get(VERSION)  # the kiosk's connection is open (kept alive) when the uplink goes
    sim.fault("refuse")
    with pytest.raises(PlatformUnreachable) as caught:
        http.get(VERSION)
    assert caught.value.code == 801
    assert error_text(caught.value) == "网络连接中断，暂时无法连接政务服务平台，请稍后再试"
    assert requests_to(sim, VERSION) == [200]
    sim.clear_faults()
    assert http.get(VERSION)["version"] == 1


def test_a_post_without_an_idempotency_key_is_sent_once(
    http: PlatformHttp, sim: UpstreamServer, receipts: Receipts
) -> None:
    sim.fault("error500", path_prefix=RECEIPTS, count=1)
    with pytest.raises(PlatformServerError):
        http.post(RECEIPTS, {"kind": "feedback"})
    assert requests_to(sim, RECEIPTS) == [500]

    sim.fault("timeout", path_prefix=RECEIPTS, count=1, delay_s=1.5)
    with pytest.raises(PlatformTimeout):
        http.post(RECEIPTS, {"kind": "feedback"})
    assert requests_to(sim, RECEIPTS) == [500, 0]
    assert receipts.made == 0


def test_a_post_with_an_idempotency_key_is_retried_and_made_once(
    http: PlatformHttp, sim: UpstreamServer, receipts: Receipts
) -> None:
    sim.fault("error500", path_prefix=RECEIPTS, count=2)
    first = http.post(RECEIPTS, {"kind": "booking"}, idempotency_key="order-0001")
    assert requests_to(sim, RECEIPTS) == [500, 500, 200]
    # The kiosk asks again after losing the answer: the same receipt, nothing made twice.
    again = http.post(RECEIPTS, {"kind": "booking"}, idempotency_key="order-0001")
    assert first == again == {"receipt_no": "R0001"}
    assert receipts.made == 1


def test_a_refusal_on_the_merits_carries_the_platforms_code_and_is_not_retried(
    http: PlatformHttp, sim: UpstreamServer
) -> None:
    with pytest.raises(PlatformNotFound) as missing:
        http.get("/catalog/items/11632801000000000X0700000000000")
    assert missing.value.code == 806
    assert missing.value.details["upstream_code"] == "ITEM_NOT_FOUND"
    assert error_text(missing.value) == "未查询到相关信息，请核对后重试"

    with pytest.raises(PlatformRefused) as bad:
        http.get("/catalog/changes", {"limit": 5000})
    assert bad.value.code == 805 and bad.value.details["upstream_code"] == "BAD_PARAM"
    assert requests_to(sim, "/catalog/changes") == [400]


def test_a_lookup_carries_the_id_number_in_its_body_and_is_retried_like_a_get(
    http: PlatformHttp, sim: UpstreamServer
) -> None:
    """A lookup is a POST only to keep the ID number out of the URL: it changes nothing, so
    it is retried after a 500 or a timeout, as a GET is."""
    assert http.lookup(LOOKUP, {"id_number": NUMBER}) == {"id_number": NUMBER, "query": {}}
    sim.fault("error500", path_prefix=LOOKUP, count=2)
    assert http.lookup(LOOKUP, {"id_number": NUMBER})["id_number"] == NUMBER
    sim.fault("timeout", path_prefix=LOOKUP, count=3, delay_s=1.5)
    with pytest.raises(PlatformTimeout):
        http.lookup(LOOKUP, {"id_number": NUMBER})
    assert requests_to(sim, LOOKUP) == [200, 500, 500, 200, 0, 0, 0]


def test_a_failed_lookup_names_no_id_number_in_its_error_or_any_log_line(
    http: PlatformHttp, sim: UpstreamServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The ID number is in the body: neither the error of a lookup that failed (its retries
    logged on the way), nor urllib3's request lines, nor the platform's access line hold it."""
    sim.fault("refuse")
    with caplog.at_level("DEBUG"), pytest.raises(PlatformUnreachable) as caught:
        http.lookup(LOOKUP, {"id_number": NUMBER})
    sim.clear_faults()
    with caplog.at_level("DEBUG"), pytest.raises(PlatformNotFound):
        http.lookup("/no-such-lookup", {"id_number": NUMBER})
    assert LOOKUP in str(caught.value)
    assert NUMBER not in str(caught.value) and NUMBER not in repr(caught.value.as_dict())
    lines = {r.name: r.getMessage() for r in caplog.records if "/no-such-lookup" in r.getMessage()}
    assert {"urllib3.connectionpool", "upstream_sim.server"} <= set(lines)  # both were heard
    assert not any(NUMBER in r.getMessage() for r in caplog.records)


def test_a_failed_get_leaves_its_query_out_of_the_error(
    http: PlatformHttp, sim: UpstreamServer
) -> None:
    """requests puts the whole URL in its errors, and an error may be journaled and leave the
    kiosk: what a query carries (the words of a catalog search) stays out of it."""
    sim.fault("refuse")
    with pytest.raises(PlatformUnreachable) as caught:
        http.get("/catalog/items", {"q": "王小明 户口迁移"})
    assert "/catalog/items" in str(caught.value) and "王小明" not in str(caught.value)
