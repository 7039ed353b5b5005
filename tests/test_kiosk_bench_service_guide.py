"""办事指南 at the speed of typing (issue 12's bench): its search screen is drawn once and then
changed in place, its guide's QR code painted from the modules the flow made on the worker.
What a citizen notices of that, in a real window: each letter narrows the list, a chip shows
whether it is chosen, the QR code on screen opens the guide, 返回列表 finds the search as left.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.clock import SystemClock
from flows.catalog_sync import CatalogSync
from flows.item_catalog import ItemCatalog
from flows.service_guide import ServiceGuideFlow, qr_rows
from govplatform.catalog import CatalogClient
from govplatform.http import PlatformHttp
from kiosk.widgets import BLUE, GREY
from tests.ui.fixtures import UiLauncher
from upstream_sim import catalog
from upstream_sim.people import People, make_people
from upstream_sim.server import UpstreamServer


@pytest.fixture
def platform() -> Iterator[UpstreamServer]:
    with UpstreamServer("政务服务平台", catalog.routes(People(make_people(10, 7)))) as server:
        yield server


def _guide_flow(platform: UpstreamServer, data_dir: Path) -> ServiceGuideFlow:
    """The flow a kiosk runs, on its own copy of the same catalog: what the screen must show."""
    copy = ItemCatalog.in_dir(data_dir)
    sync = CatalogSync(copy, CatalogClient(PlatformHttp(platform.url, "test")), SystemClock())
    assert sync.sync_now().ok
    return ServiceGuideFlow(copy, sync, SystemClock())


def _decoded(modules: list[str] | tuple[str, ...], scale: int = 8) -> str:
    """What a phone's camera reads from these modules drawn ``scale`` pixels each."""
    dark = np.array([[c == "1" for c in row] for row in modules])
    image = np.where(dark, 0, 255).astype(np.uint8).repeat(scale, 0).repeat(scale, 1)
    text, _points, _code = cv2.QRCodeDetector().detectAndDecode(image)
    return str(text)


def test_the_guides_qr_modules_open_the_guide_on_a_phone(
    platform: UpstreamServer, tmp_path: Path
) -> None:
    flow = _guide_flow(platform, tmp_path / "copy")
    code = flow.set_text("s").data["results"][0]["code"]
    guide = flow.open_item(code)
    assert guide.data["qr_rows"] == list(qr_rows(guide.data["qr_url"]))
    assert _decoded(guide.data["qr_rows"]) == f"{catalog.PUBLIC_URL}/guide/{code}"
    flow.close()


def test_a_sync_that_brings_a_new_theme_shows_its_chip(
    platform: UpstreamServer, tmp_path: Path
) -> None:
    flow = _guide_flow(platform, tmp_path / "copy")
    themes = {t["value"] for t in flow.start().data["themes"]}
    item = flow.catalog.item(flow.start().data["results"][0]["code"])
    flow.catalog.apply([replace(item, themes=("新主题",))], [], version=99, at=0.0)
    after = {t["value"] for t in flow.start().data["themes"]}
    assert "新主题" in after and "新主题" not in themes
    flow.close()


@pytest.mark.ui
@pytest.mark.slow
def test_typing_narrows_the_list_chips_show_their_state_and_the_qr_code_reads(
    ui: UiLauncher, platform: UpstreamServer, tmp_path: Path
) -> None:
    expected = _guide_flow(platform, tmp_path / "expected")
    sf = expected.set_text("sf").data
    first = sf["results"][0]["code"]
    result = ui.run(
        ["kiosk", "--hall-db", str(tmp_path / "hall.db"), "--printer", "sim://usb-printer",
         "--platform", platform.url, "--data-dir", str(tmp_path / "kiosk"),
         "--functions", "service_guide"],
        [
            {"op": "tap", "id": "function_service_guide"},
            {"op": "tap", "id": "service_guide_text_fold"},
            {"op": "tap", "id": "service_guide_text_key_s"},
            {"op": "wait_text", "id": "service_guide_text_preedit", "match": "^s$"},
            {"op": "wait_text", "id": "service_guide_total", "match": r"^共找到[1-9]\d*项$"},
            {"op": "snapshot", "name": "s"},
            {"op": "tap", "id": "service_guide_text_key_f"},
            {"op": "wait_text", "id": "service_guide_text_preedit", "match": "^sf$"},
            {"op": "wait_text", "id": "service_guide_total", "match": f"^共找到{sf['total']}项$"},
            {"op": "snapshot", "name": "sf"},
            {"op": "screenshot", "name": "search"},
            # 收起: the keys fold away and the filter chips come back.
            {"op": "tap", "id": "service_guide_text_fold"},
            {"op": "wait_text", "id": "service_guide_text_fold", "match": "^输入$"},
            {"op": "tap", "id": "service_guide_audience_个人"},
            {"op": "pause", "seconds": 0.5},
            {"op": "colours", "name": "chosen"},
            {"op": "tap", "id": "service_guide_audience_个人"},
            {"op": "pause", "seconds": 0.5},
            {"op": "colours", "name": "unchosen"},
            {"op": "tap", "id": f"service_guide_item_{first}"},
            {"op": "wait", "id": "service_guide_qr"},
            {"op": "pause", "seconds": 0.3},
            {"op": "screenshot", "name": "guide"},
            {"op": "tap", "id": "service_guide_back"},
            {"op": "wait", "id": "service_guide_text_fold"},
            {"op": "snapshot", "name": "back"},
        ],
    )
    assert result["ok"], result.get("error")
    snaps = result["snapshots"]

    def rows(snap: dict[str, str]) -> list[str]:
        return [k.removeprefix("service_guide_item_") for k in snap
                if k.startswith("service_guide_item_")]  # fmt: skip

    # Each letter narrows the list: the rows are the flow's results, first to last.
    assert rows(snaps["sf"]) == [r["code"] for r in sf["results"]]
    assert int(re.findall(r"\d+", snaps["s"]["service_guide_total"])[0]) > sf["total"]

    def chip(shot: str) -> list[float]:
        return next(c["background"] for c in result["colours"][shot]
                    if c["ui_id"] == "service_guide_audience_个人")  # fmt: skip

    assert chip("chosen") == pytest.approx(list(BLUE))
    assert chip("unchosen") == pytest.approx(list(GREY))
    shot = cv2.imread(result["screenshots"]["guide"])
    text, _points, _code = cv2.QRCodeDetector().detectAndDecode(shot)
    assert text == f"{catalog.PUBLIC_URL}/guide/{first}"
    # 返回列表: the search as it was left.
    # 收起 put the letters into the box: it shows what the list was searched for.
    assert snaps["back"]["service_guide_text"] == "sf"
    assert rows(snaps["back"]) == rows(snaps["sf"])
    expected.close()
