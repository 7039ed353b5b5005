"""The simulated government platform (政务服务平台): every domain's routes on one server.

Each domain module (``DOMAINS``) has ``routes(people) -> list[Route]`` over the shared
simulated citizens (:mod:`upstream_sim.people`) and keeps its own state (bookings made, cases,
cards reported lost). ``docs/gov-platform.md`` documents the API; ``GET /openapi.json`` on a
running simulator is its OpenAPI description, built from the routes.
"""

from __future__ import annotations

import importlib
from datetime import date

from upstream_sim.people import People, Person, make_people
from upstream_sim.server import Route, UpstreamServer

TITLE = "政务服务平台 (simulated)"
#: The platform's domains, one module each.
DOMAINS = (
    "upstream_sim.catalog",
    "upstream_sim.bookings",
    "upstream_sim.cases",
    "upstream_sim.queries",
    "upstream_sim.certificates",
    "upstream_sim.subsidy",
    "upstream_sim.utility_bills",
    "upstream_sim.submissions",
)


def platform_routes(people: People, domains: tuple[str, ...] = DOMAINS) -> list[Route]:
    """Every route of ``domains`` over ``people``."""
    routes: list[Route] = []
    for name in domains:
        routes += importlib.import_module(name).routes(people)
    return routes


#: The simulated citizens' seed and count (:func:`upstream_sim.people.make_people`).
SEED, COUNT = 20261207, 300


def sample_people(n: int = 3, *, today: date | None = None) -> list[Person]:
    """A few of the platform's citizens, for a demo user to type at the kiosk (one of them 70
    or older, for 高龄认证)."""
    people = make_people(COUNT, SEED, today)
    old = [p for p in people if p.age_on(today or date.today()) >= 70][:1]
    return people[: n - len(old)] + old


def platform_server(
    port: int = 0, *, seed: int = SEED, today: date | None = None, count: int = COUNT
) -> UpstreamServer:
    """The whole simulated platform, not yet started (``with platform_server() as sim:``).

    Args:
        port: 0 picks a free port.
        seed: the simulated citizens' seed (:func:`upstream_sim.people.make_people`).
        today: the day ages and dates are judged on.
        count: how many citizens.
    """
    people = People(make_people(count, seed, today))
    return UpstreamServer(TITLE, platform_routes(people), port=port)
