"""The platform's item catalog (事项目录) as a kiosk reads it: typed service items, and the
incremental export that keeps a kiosk's local copy current (``docs/gov-platform.md``,
"Item catalog").

This is the platform's catalog of *service items* (事项: 居民身份证换领, 个体工商户设立登记 …),
each with its guide (办事指南). It is not the hall's list of ticket services
(:mod:`agent.service_catalog`, 社保业务 / 不动产业务 at the queue), and neither names the other.

Every answer is checked as it is read: a field missing or of the wrong type is a
:class:`~core.errors.PlatformBadResponse` (804), so a half-read item never reaches a cache.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from core.errors import PlatformBadResponse
from govplatform.http import PlatformHttp

#: Items per page of ``/catalog/changes`` (the platform allows up to 200).
PAGE_SIZE = 100


@dataclass(frozen=True)
class Situation:
    """A 办理情形: one of the ways an item is applied for (有效期满换领, 委托他人代办)."""

    code: str
    name: str


@dataclass(frozen=True)
class Material:
    """One required material (申请材料).

    Attributes:
        id: stable within its item (``M03``).
        name: what to bring.
        form: ``原件``, ``复印件`` or ``原件及复印件``.
        copies: how many.
        required: False for a material that may be supplied later (容缺).
        situations: the situation codes that need it; empty: every situation does.
        note: a remark (photo size, a stamp needed).
    """

    id: str
    name: str
    form: str
    copies: int
    required: bool
    situations: tuple[str, ...]
    note: str = ""

    def needed_in(self, situation: str | None) -> bool:
        """Whether a citizen in ``situation`` must bring it (None: no situation chosen yet,
        so only the materials every situation needs)."""
        return not self.situations or situation in self.situations


@dataclass(frozen=True)
class ServiceItem:
    """One service item and its whole guide.

    Attributes:
        code: the 31-character item code (事项实施编码).
        name: 居民身份证换领.
        item_type: 事项类型 (行政许可, 公共服务 …).
        audiences: ``个人`` and/or ``法人``.
        themes: 户籍办理, 社会保障 ….
        department_code, department: the implementing body (实施主体).
        legal_time_limit, promised_time_limit: 法定时限 and 承诺时限, as the platform words them.
        phone: 咨询电话.
        complaint_phone: 监督投诉电话.
        address: where it is handled.
        office_hours: 办理时间.
        fee: 收费标准.
        conditions: 受理条件.
        materials: 申请材料.
        legal_basis: 设定依据.
        situations: 办理情形; empty when the item has one way only.
        guide_url: the guide on the platform's public site (its QR code's content).
        version: the catalog version in which it last changed.
        updated_at: the date of that change.
    """

    code: str
    name: str
    item_type: str
    audiences: tuple[str, ...]
    themes: tuple[str, ...]
    department_code: str
    department: str
    legal_time_limit: str
    promised_time_limit: str
    phone: str
    complaint_phone: str
    address: str
    office_hours: str
    fee: str
    conditions: tuple[str, ...]
    materials: tuple[Material, ...]
    legal_basis: tuple[str, ...]
    situations: tuple[Situation, ...]
    guide_url: str
    version: int
    updated_at: str

    def materials_for(self, situation: str | None) -> list[Material]:
        """The materials a citizen in ``situation`` brings (办理情形 narrows the list)."""
        return [m for m in self.materials if m.needed_in(situation)]

    def situation(self, code: str) -> Situation | None:
        return next((s for s in self.situations if s.code == code), None)


@dataclass(frozen=True)
class CatalogChanges:
    """What changed in the catalog after a version.

    Attributes:
        version: the catalog's version when the export began; the next ``since``.
        items: every item changed (or added) after ``since``.
        removed: the codes withdrawn after ``since``.
    """

    version: int
    items: tuple[ServiceItem, ...]
    removed: tuple[str, ...]


class CatalogClient:
    """The catalog's endpoints, over the kiosk's one HTTP path to the platform.

    Args:
        http: the platform (:class:`govplatform.http.PlatformHttp`).
        page_size: items per page of the export.
    """

    def __init__(self, http: PlatformHttp, page_size: int = PAGE_SIZE) -> None:
        self.http = http
        self.page_size = page_size

    def version(self) -> int:
        """The catalog's current version.

        Raises:
            PlatformError: one of 801–806.
        """
        answer = _object(self.http.get("/catalog/version"), "/catalog/version")
        return _int(answer, "version", "/catalog/version")

    def changes(self, since: int = 0) -> CatalogChanges:
        """Everything changed after version ``since`` (0: the whole catalog), every page read.

        The version recorded is the first page's: an item that changes while the pages are
        read has a later version and comes again in the next export, so nothing is missed.

        Raises:
            PlatformError: one of 801–806; nothing is returned for a partial export.
        """
        items: list[ServiceItem] = []
        removed: list[str] = []
        version: int | None = None
        for page in self._pages(since):
            if version is None:
                version = _int(page, "version", "/catalog/changes")
                removed = [str(c) for c in _list(page, "removed", "/catalog/changes")]
            items += [parse_item(raw) for raw in _list(page, "items", "/catalog/changes")]
        assert version is not None  # _pages yields at least one page
        return CatalogChanges(version, tuple(items), tuple(removed))

    def item(self, code: str) -> ServiceItem:
        """One item, fresh from the platform.

        Raises:
            PlatformNotFound (806): no such item (withdrawn).
            PlatformError: one of 801–805.
        """
        return parse_item(self.http.get(f"/catalog/items/{code}"))

    def _pages(self, since: int) -> Iterator[dict[str, Any]]:
        after: str | None = None
        while True:
            params: dict[str, Any] = {"since": since, "limit": self.page_size}
            if after:
                params["after"] = after
            page = _object(self.http.get("/catalog/changes", params), "/catalog/changes")
            yield page
            after = page.get("next")
            if not after:
                return
            if not isinstance(after, str):
                raise PlatformBadResponse("/catalog/changes: 'next' is not a code")


def parse_item(raw: Any) -> ServiceItem:
    """A :class:`ServiceItem` from the platform's JSON (also the form a cache stores).

    Raises:
        PlatformBadResponse (804): a field missing or of the wrong type.
    """
    where = "catalog item"
    item = _object(raw, where)
    department = _object(item.get("department"), where + " department")
    limits = _object(item.get("time_limit"), where + " time_limit")
    situations = tuple(
        Situation(_str(s, "code", where), _str(s, "name", where))
        for s in (_object(x, where) for x in _list(item, "situations", where))
    )
    materials = tuple(
        Material(
            id=_str(m, "id", where),
            name=_str(m, "name", where),
            form=_str(m, "form", where),
            copies=_int(m, "copies", where),
            required=bool(m.get("required", True)),
            situations=tuple(str(c) for c in _list(m, "situations", where)),
            note=str(m.get("note") or ""),
        )
        for m in (_object(x, where) for x in _list(item, "materials", where))
    )
    return ServiceItem(
        code=_str(item, "item_code", where),
        name=_str(item, "name", where),
        item_type=str(item.get("item_type") or ""),
        audiences=tuple(str(a) for a in _list(item, "audiences", where)),
        themes=tuple(str(t) for t in _list(item, "themes", where)),
        department_code=_str(department, "code", where),
        department=_str(department, "name", where),
        legal_time_limit=str(limits.get("legal") or ""),
        promised_time_limit=_str(limits, "promised", where),
        phone=_str(item, "phone", where),
        complaint_phone=str(item.get("complaint_phone") or ""),
        address=_str(item, "address", where),
        office_hours=str(item.get("office_hours") or ""),
        fee=str(item.get("fee") or ""),
        conditions=tuple(str(c) for c in _list(item, "conditions", where)),
        materials=materials,
        legal_basis=tuple(str(b) for b in _list(item, "legal_basis", where)),
        situations=situations,
        guide_url=str(item.get("guide_url") or ""),
        version=_int(item, "version", where),
        updated_at=str(item.get("updated_at") or ""),
    )


def item_to_json(item: ServiceItem) -> dict[str, Any]:
    """The platform's JSON of an item: ``parse_item(item_to_json(i)) == i`` (a cache stores
    items in the platform's own form, so one parser reads both)."""
    return {
        "item_code": item.code,
        "name": item.name,
        "item_type": item.item_type,
        "audiences": list(item.audiences),
        "themes": list(item.themes),
        "department": {"code": item.department_code, "name": item.department},
        "time_limit": {"legal": item.legal_time_limit, "promised": item.promised_time_limit},
        "phone": item.phone,
        "complaint_phone": item.complaint_phone,
        "address": item.address,
        "office_hours": item.office_hours,
        "fee": item.fee,
        "conditions": list(item.conditions),
        "materials": [
            {
                "id": m.id,
                "name": m.name,
                "form": m.form,
                "copies": m.copies,
                "required": m.required,
                "situations": list(m.situations),
                "note": m.note,
            }
            for m in item.materials
        ],
        "legal_basis": list(item.legal_basis),
        "situations": [{"code": s.code, "name": s.name} for s in item.situations],
        "guide_url": item.guide_url,
        "version": item.version,
        "updated_at": item.updated_at,
    }


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PlatformBadResponse(f"{where}: expected an object", path=where)
    return value


def _list(value: dict[str, Any], name: str, where: str) -> list[Any]:
    found = value.get(name)
    if not isinstance(found, list):
        raise PlatformBadResponse(f"{where}: '{name}' is not a list", path=where)
    return found


def _str(value: dict[str, Any], name: str, where: str) -> str:
    found = value.get(name)
    if not isinstance(found, str) or not found:
        raise PlatformBadResponse(f"{where}: '{name}' missing", path=where)
    return found


def _int(value: dict[str, Any], name: str, where: str) -> int:
    found = value.get(name)
    if not isinstance(found, int) or isinstance(found, bool):
        raise PlatformBadResponse(f"{where}: '{name}' is not an integer", path=where)
    return found
