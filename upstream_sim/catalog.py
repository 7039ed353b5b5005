"""The simulated platform's item catalog (事项目录): a few hundred service items and their
guides, served for a kiosk to sync incrementally (``docs/gov-platform.md``, "Item catalog").

Built from the tables of :mod:`upstream_sim.catalog_data`: each template becomes one item per
sub-item (子项), and each delegated one (下放事项) is implemented again by every street and
township service centre, as a county-level city's catalog is.

**Item codes** (事项实施编码) have 31 characters, after the national implementation code:

=========  ====  ===============================================================
chars      len   what
=========  ====  ===============================================================
1–18       18    the implementing body's 统一社会信用代码 (``11`` 机关, region
                 ``632801``, a 9-character organisation code, GB 32100 check)
19–20      2     事项类型: 01 行政许可, 07 行政确认, 08 行政给付, 10 其他行政权力,
                 11 行政备案, 20 公共服务
21–25      5     主项 number within the catalog
26–28      3     子项 number (``000`` for an item without sub-items)
29–31      3     实施 number: ``000`` the city's department, ``001``… a service centre
=========  ====  ===============================================================

**Versions.** Every item carries the catalog version in which it last changed; the catalog's
version is the highest. ``GET /catalog/changes?since=V`` returns the items changed after ``V``
(everything for ``since=0``) in code order, a page at a time with an ``after`` cursor, and the
codes removed after ``V``. ``POST /_sim/catalog/revise`` changes or removes an item, as the
platform's editors do, so a test or a technician can watch a kiosk pick the change up.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Any

from upstream_sim import catalog_data as data
from upstream_sim.catalog_data import Department, Mat, Template
from upstream_sim.people import People
from upstream_sim.server import Request, Response, Route, ok, refused

#: The platform's public site, where a guide's QR code leads (``--public-url`` changes it).
PUBLIC_URL = "https://zwfw.qinghai.gov.cn/gem"
#: The largest page of ``/catalog/changes`` and ``/catalog/items``.
MAX_PAGE = 200
#: When the simulated catalog was published (its items' ``updated_at`` before any revision).
PUBLISHED = "2026-10-28"

# GB 32100-2015: the unified social credit code's alphabet and weights.
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# GB 11714-1997: the organisation code's weights.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_CN_DIGITS = "零一二三四五六七八九"


def credit_code(rng: random.Random) -> str:
    """A government body's 统一社会信用代码: ``11``, the region, an organisation code and the
    GB 32100 check character."""
    body = "".join(rng.choice("0123456789") for _ in range(8))
    total = sum(int(c) * w for c, w in zip(body, _ORG_WEIGHTS))
    check = 11 - total % 11
    org = body + ("X" if check == 10 else "0" if check == 11 else str(check))
    first17 = "11" + data.REGION + org
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS))
    return first17 + _USCC_CHARS[(31 - total % 31) % 31]


def chinese_number(n: int) -> str:
    """An article number as written in Chinese law: 1→一, 11→十一, 35→三十五, 105→一百零五."""
    if n < 10:
        return _CN_DIGITS[n]
    if n < 20:
        return "十" + (_CN_DIGITS[n % 10] if n % 10 else "")
    if n < 100:
        return _CN_DIGITS[n // 10] + "十" + (_CN_DIGITS[n % 10] if n % 10 else "")
    rest = n % 100
    tail = "" if rest == 0 else ("零" + chinese_number(rest) if rest < 10 else chinese_number(rest))
    if 10 <= rest < 20:
        tail = "一" + tail
    return _CN_DIGITS[n // 100] + "百" + tail


def _days(days: int) -> str:
    return "即办" if days == 0 else f"{days}个工作日"


@dataclass(frozen=True)
class _Body:
    """An implementing body: a city department or a street or township service centre."""

    code: str
    name: str
    address: str
    phone: str
    impl: int


def _bodies(rng: random.Random) -> tuple[dict[str, _Body], list[_Body]]:
    departments: dict[str, _Body] = {}
    for n, d in enumerate(data.DEPARTMENTS):
        departments[d.key] = _Body(
            credit_code(rng),
            d.name,
            f"{data.CENTRE}{d.floor}{d.name.removeprefix(data.CITY)}窗口",
            f"{d.phone_prefix}{12001 + n * 37:05d}",
            0,
        )
    centres = [
        _Body(
            credit_code(rng),
            f"{data.CITY}{name}便民服务中心",
            f"{data.CITY}{name}便民服务中心（{street}）综合窗口",
            f"0979-86{23110 + n * 53:05d}",
            n + 1,
        )
        for n, (name, street) in enumerate(data.TOWNSHIPS)
    ]
    return departments, centres


def _material(n: int, m: Mat, situation_codes: dict[str, str]) -> dict[str, Any]:
    return {
        "id": f"M{n:02d}",
        "name": m.name,
        "form": m.form,
        "copies": m.copies,
        "required": m.required,
        "situations": [situation_codes[s] for s in m.only],
        "note": m.note,
    }


def build_items(public_url: str = PUBLIC_URL, seed: int = 632801) -> list[dict[str, Any]]:
    """Every item of the simulated catalog, in code order, as the platform serves it.

    Args:
        public_url: the public site's base; each item's ``guide_url`` is under it.
        seed: the same seed gives the same codes and phones.
    """
    rng = random.Random(seed)
    departments, centres = _bodies(rng)
    items: list[dict[str, Any]] = []
    for main, template in enumerate(data.TEMPLATES, start=1):
        subs = template.subs or ("",)
        for sub_no, sub in enumerate(subs, start=1 if template.subs else 0):
            bodies = [departments[template.dept]] + (centres if template.delegated else [])
            for body in bodies:
                items.append(_item(template, main, sub, sub_no, body, public_url))
    return sorted(items, key=lambda i: i["item_code"])


def _item(
    t: Template, main: int, sub: str, sub_no: int, body: _Body, public_url: str
) -> dict[str, Any]:
    code = f"{body.code}{data.ITEM_TYPES[t.item_type]}{main:05d}{sub_no:03d}{body.impl:03d}"
    situation_codes = {name: f"{n:02d}" for n, name in enumerate(t.situations, start=1)}
    mats = t.materials + t.sub_materials.get(sub, ())
    law, article, text = t.law
    dept: Department = data.department(t.dept)
    return {
        "item_code": code,
        "name": f"{t.name}（{sub}）" if sub else t.name,
        "item_type": t.item_type,
        "audiences": list(t.audiences),
        "themes": list(t.themes),
        "department": {"code": body.code, "name": body.name, "competent": dept.name},
        "time_limit": {
            "legal": _days(t.legal),
            "promised": _days(t.promised),
            "promised_days": t.promised,
        },
        "phone": body.phone,
        "complaint_phone": "12345",
        "address": body.address,
        "office_hours": data.OFFICE_HOURS,
        "fee": t.fee,
        "conditions": list(t.conditions),
        "materials": [_material(n, m, situation_codes) for n, m in enumerate(mats, start=1)],
        "legal_basis": [f"{law}第{chinese_number(article)}条：{text}。"],
        "situations": [{"code": c, "name": name} for name, c in situation_codes.items()],
        "guide_url": f"{public_url.rstrip('/')}/guide/{code}",
        "version": 1,
        "updated_at": PUBLISHED,
    }


class ItemCatalogSim:
    """The platform's catalog and its history of versions; thread-safe (the server answers
    each request on its own thread).

    Args:
        public_url: the public site's base for each item's ``guide_url``.
    """

    def __init__(self, public_url: str = PUBLIC_URL) -> None:
        self._lock = threading.Lock()
        self._items = {i["item_code"]: i for i in build_items(public_url)}
        #: Removed codes, each with the version that removed it.
        self._removed: dict[str, int] = {}
        self.version = 1

    # --- what the platform's editors do -------------------------------------------------

    def revise(self, item_code: str, **fields: Any) -> int:
        """Change an item's fields (a new phone, a time limit); returns the new version.

        Raises:
            KeyError: no such item.
        """
        with self._lock:
            item = self._items[item_code]
            self.version += 1
            self._items[item_code] = {
                **item, **fields, "version": self.version, "updated_at": _today_of(self.version)
            }
            return self.version

    def remove(self, item_code: str) -> int:
        """Withdraw an item from the catalog; returns the new version.

        Raises:
            KeyError: no such item.
        """
        with self._lock:
            del self._items[item_code]
            self.version += 1
            self._removed[item_code] = self.version
            return self.version

    def codes(self) -> list[str]:
        with self._lock:
            return sorted(self._items)

    def item(self, item_code: str) -> dict[str, Any] | None:
        with self._lock:
            return self._items.get(item_code)

    # --- routes -------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        return [
            Route("GET", "/catalog/version", self._version, _VERSION_DOC),
            Route("GET", "/catalog/changes", self._changes, _CHANGES_DOC),
            Route("GET", "/catalog/items", self._list, _LIST_DOC),
            Route("GET", "/catalog/items/{item_code}", self._one, _ITEM_DOC),
            Route("POST", "/_sim/catalog/revise", self._revise, _REVISE_DOC),
        ]

    def _etag(self) -> dict[str, str]:
        return {"ETag": f'"{self.version}"'}

    def _version(self, request: Request) -> Response:
        with self._lock:
            if request.headers.get("if-none-match") == f'"{self.version}"':
                return Response(304, raw=b"", headers=self._etag())
            answer = ok({"version": self.version, "items": len(self._items)})
            answer.headers.update(self._etag())
            return answer

    def _changes(self, request: Request) -> Response:
        since = _int_param(request, "since", 0)
        limit = _int_param(request, "limit", 100)
        if since is None or since < 0 or limit is None or not 1 <= limit <= MAX_PAGE:
            return refused(400, "BAD_PARAM", f"since ≥ 0，limit 为 1–{MAX_PAGE}")
        after = request.query.get("after", "")
        with self._lock:
            changed = sorted(
                (i for i in self._items.values() if i["version"] > since and i["item_code"] > after),
                key=lambda i: i["item_code"],
            )
            page = changed[:limit]
            removed = (
                sorted(c for c, v in self._removed.items() if v > since) if not after else []
            )
            answer = ok(
                {
                    "version": self.version,
                    "since": since,
                    "items": page,
                    "removed": removed,
                    "next": page[-1]["item_code"] if len(changed) > limit else None,
                }
            )
            answer.headers.update(self._etag())
            return answer

    def _list(self, request: Request) -> Response:
        page_no = _int_param(request, "page", 1)
        size = _int_param(request, "page_size", 20)
        if page_no is None or page_no < 1 or size is None or not 1 <= size <= MAX_PAGE:
            return refused(400, "BAD_PARAM", f"page ≥ 1，page_size 为 1–{MAX_PAGE}")
        q = request.query
        with self._lock:
            found = [
                i
                for i in sorted(self._items.values(), key=lambda i: i["item_code"])
                if (not q.get("audience") or q["audience"] in i["audiences"])
                and (not q.get("theme") or q["theme"] in i["themes"])
                and (not q.get("department") or q["department"] == i["department"]["code"])
                and (not q.get("q") or q["q"] in i["name"])
            ]
        rows = found[(page_no - 1) * size : page_no * size]
        return ok(
            {
                "total": len(found),
                "page": page_no,
                "page_size": size,
                "items": [_summary(i) for i in rows],
            }
        )

    def _one(self, request: Request) -> Response:
        item = self.item(request.params["item_code"])
        if item is None:
            return refused(404, "ITEM_NOT_FOUND", "未找到该事项")
        return ok(item)

    def _revise(self, request: Request) -> Response:
        body = request.body if isinstance(request.body, dict) else {}
        code = str(body.get("item_code", ""))
        fields = body.get("fields") or {}
        if not isinstance(fields, dict) or "item_code" in fields:
            return refused(400, "BAD_PARAM", "fields 须为对象，且不能修改 item_code")
        try:
            version = self.remove(code) if body.get("remove") else self.revise(code, **fields)
        except KeyError:
            return refused(404, "ITEM_NOT_FOUND", "未找到该事项")
        return ok({"version": version})


def _today_of(version: int) -> str:
    # Revisions are dated after the publication, one day per version: plain and repeatable.
    return f"2026-11-{min(28, version):02d}"


def _int_param(request: Request, name: str, default: int) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        return None


def _summary(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "item_code": item["item_code"],
        "name": item["name"],
        "audiences": item["audiences"],
        "themes": item["themes"],
        "department": item["department"],
        "version": item["version"],
    }


def routes(people: People, public_url: str = PUBLIC_URL) -> list[Route]:
    """The catalog's routes over a fresh catalog (the catalog has no use for ``people``: it is
    the same for every citizen)."""
    return ItemCatalogSim(public_url).routes()


# --- OpenAPI fragments ------------------------------------------------------------------------

_STR = {"type": "string"}
_ENVELOPE_PROPS = {"code": {"type": "string", "example": "0"}, "message": _STR}
_MATERIAL = {
    "type": "object",
    "required": ["id", "name", "form", "copies", "required", "situations"],
    "properties": {
        "id": _STR,
        "name": _STR,
        "form": {"type": "string", "enum": ["原件", "复印件", "原件及复印件"]},
        "copies": {"type": "integer", "minimum": 1},
        "required": {"type": "boolean", "description": "false: 非必要材料（容缺）"},
        "situations": {
            "type": "array",
            "items": _STR,
            "description": "situation codes that need it; empty: every situation",
        },
        "note": _STR,
    },
}
_DEPARTMENT = {
    "type": "object",
    "required": ["code", "name"],
    "properties": {
        "code": {"type": "string", "description": "统一社会信用代码 of the implementing body"},
        "name": _STR,
        "competent": {"type": "string", "description": "the competent city department"},
    },
}
_ITEM = {
    "type": "object",
    "required": [
        "item_code", "name", "audiences", "themes", "department", "time_limit", "phone",
        "address", "conditions", "materials", "legal_basis", "situations", "version",
    ],
    "properties": {
        "item_code": {"type": "string", "pattern": "^[0-9A-Z]{18}[0-9]{13}$",
                      "example": "11632801MB0000000X0700001000000"},
        "name": _STR,
        "item_type": _STR,
        "audiences": {"type": "array", "items": {"type": "string", "enum": ["个人", "法人"]}},
        "themes": {"type": "array", "items": _STR},
        "department": _DEPARTMENT,
        "time_limit": {
            "type": "object",
            "properties": {"legal": _STR, "promised": _STR, "promised_days": {"type": "integer"}},
        },
        "phone": _STR,
        "complaint_phone": _STR,
        "address": _STR,
        "office_hours": _STR,
        "fee": _STR,
        "conditions": {"type": "array", "items": _STR},
        "materials": {"type": "array", "items": _MATERIAL},
        "legal_basis": {"type": "array", "items": _STR},
        "situations": {
            "type": "array",
            "items": {"type": "object", "properties": {"code": _STR, "name": _STR}},
        },
        "guide_url": {"type": "string", "format": "uri"},
        "version": {"type": "integer"},
        "updated_at": {"type": "string", "format": "date"},
    },
}  # fmt: skip


def _answer(data_schema: dict[str, Any], description: str = "成功") -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["code", "message", "data"],
                    "properties": {**_ENVELOPE_PROPS, "data": data_schema},
                }
            }
        },
    }


def _refusal(description: str) -> dict[str, Any]:
    return _answer({"nullable": True}, description)


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}  # fmt: skip


_VERSION_DOC = {
    "operationId": "catalogVersion",
    "tags": ["事项目录"],
    "summary": "The catalog's version (also its ETag)",
    "parameters": [
        {"name": "If-None-Match", "in": "header", "required": False, "schema": _STR,
         "description": "the ETag last seen; 304 when unchanged"},
    ],
    "responses": {
        "200": _answer({"type": "object", "properties": {
            "version": {"type": "integer"}, "items": {"type": "integer"}}}),
        "304": {"description": "unchanged since the ETag given"},
    },
}  # fmt: skip
_CHANGES_DOC = {
    "operationId": "catalogChanges",
    "tags": ["事项目录"],
    "summary": "Items changed, and codes removed, after a version: incremental sync",
    "description": (
        "Items in code order, `limit` at a time; pass the last page's `next` as `after` for "
        "the next page. `removed` comes with the first page. Record the first page's "
        "`version` as the next `since`: an item changed while paging is then fetched again."
    ),
    "parameters": [
        _query("since", {"type": "integer", "minimum": 0, "default": 0},
               "the version the caller holds; 0 for everything"),
        _query("after", _STR, "the cursor: the last item_code of the previous page"),
        _query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 100},
               "items per page"),
    ],
    "responses": {
        "200": _answer({"type": "object", "properties": {
            "version": {"type": "integer"},
            "since": {"type": "integer"},
            "items": {"type": "array", "items": _ITEM},
            "removed": {"type": "array", "items": _STR},
            "next": {"type": "string", "nullable": True},
        }}),
        "400": _refusal("BAD_PARAM: since or limit out of range"),
    },
}  # fmt: skip
_LIST_DOC = {
    "operationId": "catalogItems",
    "tags": ["事项目录"],
    "summary": "Search the catalog online: item summaries, a page at a time",
    "parameters": [
        _query("audience", {"type": "string", "enum": ["个人", "法人"]}, "服务对象"),
        _query("theme", _STR, "主题 (户籍办理, 社会保障 …)"),
        _query("department", _STR, "the implementing body's code"),
        _query("q", _STR, "part of the item's name"),
        _query("page", {"type": "integer", "minimum": 1, "default": 1}, "page number"),
        _query("page_size", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE,
                             "default": 20}, "items per page"),
    ],
    "responses": {
        "200": _answer({"type": "object", "properties": {
            "total": {"type": "integer"}, "page": {"type": "integer"},
            "page_size": {"type": "integer"},
            "items": {"type": "array", "items": {"type": "object", "properties": {
                "item_code": _STR, "name": _STR, "department": _DEPARTMENT,
                "audiences": {"type": "array", "items": _STR},
                "themes": {"type": "array", "items": _STR}, "version": {"type": "integer"}}}},
        }}),
        "400": _refusal("BAD_PARAM: page or page_size out of range"),
    },
}  # fmt: skip
_ITEM_DOC = {
    "operationId": "catalogItem",
    "tags": ["事项目录"],
    "summary": "One item's whole guide (办事指南)",
    "parameters": [
        {"name": "item_code", "in": "path", "required": True, "schema": _STR,
         "description": "the 31-character item code (事项实施编码)"},
    ],
    "responses": {"200": _answer(_ITEM), "404": _refusal("ITEM_NOT_FOUND")},
}  # fmt: skip
_REVISE_DOC = {
    "operationId": "simCatalogRevise",
    "tags": ["模拟器"],
    "summary": "Simulator only: change or withdraw an item, as the platform's editors do",
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {
            "type": "object", "required": ["item_code"],
            "properties": {
                "item_code": _STR,
                "fields": {"type": "object", "description": "fields to replace (phone, name …)"},
                "remove": {"type": "boolean", "description": "withdraw the item"},
            },
        }}},
    },
    "responses": {
        "200": _answer({"type": "object", "properties": {"version": {"type": "integer"}}}),
        "400": _refusal("BAD_PARAM"),
        "404": _refusal("ITEM_NOT_FOUND"),
    },
}  # fmt: skip
