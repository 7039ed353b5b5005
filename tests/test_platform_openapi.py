"""The simulated platform documents itself: ``GET /openapi.json`` is a valid OpenAPI 3.0
description listing every route, and ``python main.py upstream-sim`` serves it.

``openapi-spec-validator`` is not in the lock, so the structure is checked here against the
OpenAPI 3.0.3 rules a reader or a code generator relies on: versions, paths, operations,
parameters (every ``{name}`` of a path declared), request bodies, responses and schemas.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import re
import threading
import time
from contextlib import redirect_stdout
from typing import Any

import requests

from upstream_sim import cli
from upstream_sim.people import People, make_people
from upstream_sim.platform import DOMAINS, TITLE, platform_routes
from upstream_sim.server import UpstreamServer

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
PATH_ITEM_KEYS = METHODS | {"summary", "description", "servers", "parameters"}
TYPES = {"string", "number", "integer", "boolean", "array", "object"}


def available_domains() -> tuple[str, ...]:
    """The platform's domains whose modules exist in this tree (others are being written);
    each one that exists must import and describe itself."""
    return tuple(d for d in DOMAINS if importlib.util.find_spec(d) is not None)


def problems_of_schema(schema: Any, where: str) -> list[str]:
    if not isinstance(schema, dict):
        return [f"{where}: schema is not an object"]
    found: list[str] = []
    if "$ref" in schema:
        return [f"{where}: $ref {schema['$ref']} (no components are published)"]
    kind = schema.get("type")
    if kind is not None and kind not in TYPES:
        found.append(f"{where}: type {kind!r}")
    if kind == "array":
        if "items" not in schema:
            found.append(f"{where}: array without items")
        else:
            found += problems_of_schema(schema["items"], where + ".items")
    properties = schema.get("properties", {})
    if not isinstance(properties, dict):
        found.append(f"{where}: properties is not an object")
        properties = {}
    for name, sub in properties.items():
        found += problems_of_schema(sub, f"{where}.{name}")
    for name in schema.get("required", []):
        if name not in properties:
            found.append(f"{where}: required {name!r} is not a property")
    if "enum" in schema and not (isinstance(schema["enum"], list) and schema["enum"]):
        found.append(f"{where}: empty enum")
    return found


def problems_of_operation(path: str, method: str, op: Any, seen_ids: set[str]) -> list[str]:
    where = f"{method.upper()} {path}"
    if not isinstance(op, dict):
        return [f"{where}: not an object"]
    found: list[str] = []
    if not op.get("summary"):
        found.append(f"{where}: no summary")
    op_id = op.get("operationId")
    if op_id is not None:
        if op_id in seen_ids:
            found.append(f"{where}: operationId {op_id} used twice")
        seen_ids.add(op_id)
    declared: set[str] = set()
    for n, param in enumerate(op.get("parameters", [])):
        pw = f"{where} parameter {n}"
        if not isinstance(param, dict) or not param.get("name"):
            found.append(f"{pw}: no name")
            continue
        if param.get("in") not in {"query", "header", "path", "cookie"}:
            found.append(f"{pw}: in {param.get('in')!r}")
        if param.get("in") == "path":
            declared.add(param["name"])
            if param.get("required") is not True:
                found.append(f"{pw}: a path parameter must be required")
        if "schema" in param:
            found += problems_of_schema(param["schema"], pw)
        elif "content" not in param:
            found.append(f"{pw}: neither schema nor content")
    for name in re.findall(r"\{(\w+)\}", path):
        if name not in declared:
            found.append(f"{where}: path parameter {{{name}}} not declared")
    body = op.get("requestBody")
    if body is not None:
        content = body.get("content") if isinstance(body, dict) else None
        if not isinstance(content, dict) or not content:
            found.append(f"{where}: requestBody without content")
        else:
            for media, entry in content.items():
                found += problems_of_schema(entry.get("schema", {}), f"{where} body {media}")
    responses = op.get("responses")
    if not isinstance(responses, dict) or not responses:
        return [*found, f"{where}: no responses"]
    for status, answer in responses.items():
        if not (status == "default" or re.fullmatch(r"[1-5](\d\d|XX)", status)):
            found.append(f"{where}: response key {status!r}")
        if not isinstance(answer, dict) or not isinstance(answer.get("description"), str):
            found.append(f"{where} {status}: no description")
            continue
        for media, entry in answer.get("content", {}).items():
            found += problems_of_schema(entry.get("schema", {}), f"{where} {status} {media}")
    return found


def problems_of(doc: Any) -> list[str]:
    """Everything wrong with an OpenAPI 3.0 document, as sentences (empty: valid)."""
    if not isinstance(doc, dict):
        return ["not an object"]
    found: list[str] = []
    if not re.fullmatch(r"3\.0\.\d+", str(doc.get("openapi", ""))):
        found.append(f"openapi {doc.get('openapi')!r} is not 3.0.x")
    info = doc.get("info")
    if not isinstance(info, dict) or not info.get("title") or not info.get("version"):
        found.append("info needs title and version")
    for server in doc.get("servers", []):
        if not str(server.get("url", "")).startswith("http"):
            found.append(f"server url {server!r}")
    paths = doc.get("paths")
    if not isinstance(paths, dict) or not paths:
        return [*found, "no paths"]
    seen_ids: set[str] = set()
    for path, item in paths.items():
        if not path.startswith("/"):
            found.append(f"path {path!r} does not start with /")
        for key, op in item.items():
            if key not in PATH_ITEM_KEYS:
                found.append(f"{path}: unknown key {key!r}")
            elif key in METHODS:
                found += problems_of_operation(path, key, op, seen_ids)
    return found


def test_the_whole_platforms_description_is_valid_openapi_and_lists_every_route() -> None:
    domains = available_domains()
    assert "upstream_sim.catalog" in domains
    routes = platform_routes(People(make_people(20, 11)), domains)
    with UpstreamServer(TITLE, routes) as sim:
        answer = requests.get(f"{sim.url}/openapi.json", timeout=5)
    assert answer.status_code == 200
    doc = answer.json()
    assert problems_of(doc) == []
    for route in routes:
        assert route.method.lower() in doc["paths"].get(route.pattern, {}), (
            f"{route.method} {route.pattern} is not described"
        )
    # The server's own endpoints are documented with the rest, faults included.
    assert {"post", "delete"} <= set(doc["paths"]["/_sim/faults"])
    assert doc["servers"][0]["url"] == sim.url


def test_the_catalog_routes_describe_their_answers() -> None:
    routes = platform_routes(People(make_people(5, 1)), ("upstream_sim.catalog",))
    doc = UpstreamServer(TITLE, routes).openapi()
    changes = doc["paths"]["/catalog/changes"]["get"]
    assert {p["name"] for p in changes["parameters"]} == {"since", "after", "limit"}
    item = doc["paths"]["/catalog/items/{item_code}"]["get"]["responses"]["200"]
    schema = item["content"]["application/json"]["schema"]["properties"]["data"]
    assert {"materials", "situations", "legal_basis", "time_limit"} <= set(schema["required"])


def test_no_operation_takes_an_id_number_in_its_url() -> None:
    """A citizen's ID number travels in a lookup's JSON body, never in a query or a path
    (docs/gov-platform.md, "Personal data"): the description says so for every operation."""
    routes = platform_routes(People(make_people(5, 1)), available_domains())
    doc = UpstreamServer(TITLE, routes).openapi()
    in_url = [
        f"{method.upper()} {path}: {param['name']}"
        for path, item in doc["paths"].items()
        for method, op in item.items() if method in METHODS
        for param in op.get("parameters", [])
        if param.get("in") in ("query", "path") and "id_number" in param["name"]
    ]  # fmt: skip
    assert in_url == []
    lookups = ["/cases/search", "/bookings/search", "/queries/social-security-card",
               "/certificates/no-house", "/subsidy/elderly/eligibility"]  # fmt: skip
    for path in lookups:
        body = doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        assert "id_number" in body["schema"]["required"], path
    school = doc["paths"]["/queries/school-records"]["post"]["requestBody"]["content"]
    assert {"student_id_number", "student_name"} <= set(school["application/json"]["schema"]["required"])


def test_the_checker_catches_what_it_should() -> None:
    bad = {
        "openapi": "2.0",
        "info": {"title": "x"},
        "paths": {"/items/{code}": {"get": {"summary": "s", "responses": {"ok": {}}}}},
    }
    found = problems_of(bad)
    assert any("3.0.x" in p for p in found)
    assert any("title and version" in p for p in found)
    assert any("{code} not declared" in p for p in found)
    assert any("response key 'ok'" in p for p in found)


def test_the_upstream_sim_command_serves_the_platform_until_stopped() -> None:
    args = argparse.Namespace(port=0, seed=5, count=10, today=None, domains="catalog")
    stop = threading.Event()
    out = io.StringIO()

    def serve() -> None:
        with redirect_stdout(out):
            cli.run(args, stop)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while "OpenAPI: " not in out.getvalue():
        assert time.monotonic() < deadline, out.getvalue()
        time.sleep(0.05)
    url = re.search(r"OpenAPI: (\S+)", out.getvalue()).group(1)  # type: ignore[union-attr]
    try:
        doc = requests.get(url, timeout=5).json()
        assert "/catalog/changes" in doc["paths"] and problems_of(doc) == []
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
