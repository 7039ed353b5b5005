"""The kiosk's functions (取号, later 办事指南, 预约, 办件查询 …): the registry of what each one is,
which ones a kiosk offers, and :class:`KioskHome`, the step machine of the home screen that
hosts them. UI-free: nothing here imports Kivy or :mod:`kiosk`.

A kiosk function is three pieces (``docs/kiosk-functions.md`` walks through adding one):

* its flow, a UI-free step machine in ``flows/`` (a :class:`KioskFlow`), built from the
  kiosk's :class:`KioskContext` by a factory;
* its screens, one module in ``kiosk/functions/`` that draws the flow's screens;
* one row in :data:`BUILT_IN`, naming both by dotted path. A kiosk imports only the functions it
  offers, as pip's ``commands_dict`` imports only the command that runs.

Which functions a kiosk offers is configuration: ``[kiosk] functions`` in the hall config
(:attr:`core.config.HallConfig.kiosk_functions`), or :attr:`KioskContext.functions` when the
launcher passes its own list. Tiles follow the registry's ``order``, whatever the list's order.
"""

from __future__ import annotations

import difflib
import importlib
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from core.errors import ConfigError
from flows.screens import Screen
from flows.transactions import TransactionJournal, transaction_journal_for

if TYPE_CHECKING:
    from pathlib import Path

    from core.clock import Clock
    from core.config import HallConfig
    from devices.document_printer import DocumentPrinter
    from devices.id_card_reader import IdCardReader
    from devices.ticket_printer import TicketPrinter
    from flows.queue_port import QueuePort
    from govplatform.http import PlatformHttp
    from payments.channel import PaymentChannel

#: Seconds without a tap after which a kiosk inside a function goes back to its home screen.
IDLE_TIMEOUT_S = 60.0

#: Tile colours a function may ask for; :data:`kiosk.widgets.TILE_COLOURS` maps each to the
#: hall palette.
COLOURS = ("blue", "green", "teal", "amber")

#: The longest title and subtitle, in characters, that fit a tile when twelve share the screen.
TITLE_MAX = 5
SUBTITLE_MAX = 9

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_DOTTED = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


class KioskFlow(Protocol):
    """What the kiosk asks of every function's flow; its other steps are its own.

    A step returns the :class:`flows.screens.Screen` to show next: a name, the facts, an error
    *key*; never a widget, never Chinese sentences built in code (those come from the key).
    Steps run one at a time on the kiosk's worker thread and may block (SQLite, devices).
    """

    def start(self) -> Screen:
        """The function's first screen, when a citizen taps its tile."""
        ...

    def leave(self) -> None:
        """The citizen is done (返回首页, or the kiosk went idle): forget everything about them.

        A function holding personal data (an ID card read, a phone number) drops it here.
        """
        ...


@dataclass
class KioskContext:
    """What a kiosk function's flow is built from: one per kiosk process.

    A function that needs a device the kiosk does not have yet (an ID card reader, a document
    printer) adds it here as a typed field defaulting to None, and the launcher opens it.

    Attributes:
        queue: the hall queue; ``queue.hall`` is the hall configuration in force.
        device_id: this kiosk (``kiosk-1``).
        clock: the hall clock.
        printer: the ticket printer, or None when the kiosk has none.
        idle_timeout_s: seconds without a tap before the kiosk goes home.
        functions: the ids of the functions to offer, when the launcher was told (a launch
            argument); None takes the hall config's ``[kiosk] functions``.
        journal: where the kiosk's transactions are journaled; None takes the queue's
            (:func:`flows.transactions.transaction_journal_for`), see :attr:`transactions`.
        data_dir: the kiosk's own directory (the item catalog's cache, the payment order
            book); None for a kiosk that keeps nothing of its own.
        platform: the government platform (:mod:`govplatform`), or None when the kiosk has
            no uplink configured.
        payment_channels: the payment channels offered, by id (``alipay``, ``icbc``,
            ``ccb``).
        id_reader: the ID card reader, or None.
        document_printer: the A4 printer (certificates, guides, receipts), or None.
    """

    queue: QueuePort
    device_id: str
    clock: Clock
    printer: TicketPrinter | None = None
    idle_timeout_s: float = IDLE_TIMEOUT_S
    functions: Sequence[str] | None = None
    journal: TransactionJournal | None = None
    data_dir: Path | None = None
    platform: PlatformHttp | None = None
    payment_channels: Mapping[str, PaymentChannel] = field(default_factory=dict)
    id_reader: IdCardReader | None = None
    document_printer: DocumentPrinter | None = None

    @property
    def transactions(self) -> TransactionJournal:
        """Where this kiosk's functions journal what citizens did.

        Raises:
            TypeError: no journal was given and the queue has none.
        """
        if self.journal is None:
            self.journal = transaction_journal_for(self.queue, self.device_id, self.clock)
        return self.journal

    @property
    def hall(self) -> HallConfig:
        """The hall configuration in force (a catalog refresh swaps it on the queue)."""
        return self.queue.hall


@dataclass(frozen=True)
class KioskFunction:
    """One row of the registry: a kiosk function as the home screen knows it.

    Attributes:
        id: the stable id, as written in ``[kiosk] functions``, logs and tests (``ticket``).
        title: its home tile's title, Simplified Chinese (``取号``), at most
            :data:`TITLE_MAX` characters.
        subtitle: one short line under the title (``选择业务，打印号票``), at most
            :data:`SUBTITLE_MAX` characters.
        order: tiles are shown by ascending order; built-ins step by 10, so a new one can go
            between two.
        flow: ``"module:callable"``, the factory that builds the function's :class:`KioskFlow`
            from a :class:`KioskContext` (a class, or a dotted attribute such as
            ``TicketFlow.for_kiosk``).
        screens: the module that draws its screens, ``kiosk.functions.<id>`` (see
            :mod:`kiosk.functions`).
        colour: its tile's colour, one of :data:`COLOURS`.

    Raises:
        ValueError: a malformed row (bad id, dotted path or colour, a title or subtitle too
            long for its tile); a programming error, caught by the test that imports every row.
    """

    id: str
    title: str
    subtitle: str
    order: int
    flow: str
    screens: str
    colour: str = "blue"

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise ValueError(f"kiosk function id {self.id!r}: lower case letters, digits, _")
        if not _DOTTED.match(self.flow):
            raise ValueError(f"kiosk function {self.id!r}: flow wants 'module:callable'")
        if not self.screens or ":" in self.screens:
            raise ValueError(f"kiosk function {self.id!r}: screens wants a module name")
        if self.colour not in COLOURS:
            raise ValueError(f"kiosk function {self.id!r}: colour not one of {COLOURS}")
        if not 0 < len(self.title) <= TITLE_MAX or len(self.subtitle) > SUBTITLE_MAX:
            raise ValueError(
                f"kiosk function {self.id!r}: a title of 1 to {TITLE_MAX} characters and a "
                f"subtitle of at most {SUBTITLE_MAX} fit its tile"
            )

    def flow_factory(self) -> Callable[[KioskContext], KioskFlow]:
        """Import the flow's module and return its factory.

        An import error inside the module is raised as it is, so its real cause shows (a
        registry that turned it into "unknown function" would hide a missing dependency).
        """
        module_name, _, attribute = self.flow.partition(":")
        found: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            found = getattr(found, part)
        factory: Callable[[KioskContext], KioskFlow] = found
        return factory

    def build_flow(self, context: KioskContext) -> KioskFlow:
        """The function's flow for this kiosk."""
        return self.flow_factory()(context)


#: The kiosk functions this tree ships, one row each. Adding a function is adding its row
#: here (plus its flow module and its screens module); nothing else names it.
BUILT_IN: tuple[KioskFunction, ...] = (
    KioskFunction(
        id="ticket",
        title="取号",
        subtitle="选择业务，打印号票",
        order=10,
        flow="flows.ticketing:TicketFlow.for_kiosk",
        screens="kiosk.functions.ticket",
    ),
)

_registry: dict[str, KioskFunction] = {}
_registry_lock = threading.Lock()


def register(function: KioskFunction) -> None:
    """Add a function to the registry (tests add their own; the shipped ones are rows of
    :data:`BUILT_IN`).

    Raises:
        ValueError: a function with that id is registered already; a second one never
            silently replaces the first.
    """
    with _registry_lock:
        if function.id in _registry:
            raise ValueError(f"kiosk function {function.id!r} is registered already")
        _registry[function.id] = function


def unregister(function_id: str) -> None:
    """Take a function out of the registry (a test's clean-up). Unknown ids are ignored."""
    with _registry_lock:
        _registry.pop(function_id, None)


def registered() -> list[KioskFunction]:
    """Every registered function, in tile order (``order``, then ``id``)."""
    with _registry_lock:
        functions = list(_registry.values())
    return sorted(functions, key=lambda f: (f.order, f.id))


def enabled(ids: Iterable[str] | None = None) -> list[KioskFunction]:
    """The functions a kiosk offers, in tile order.

    Args:
        ids: the configured ids (``[kiosk] functions``); None offers every registered one.

    Raises:
        ConfigError (100): an id names no registered function (the message names it, the
            known ids and the nearest one), the list is empty, or it names one id twice.
    """
    known = registered()
    if ids is None:
        return known
    wanted = list(ids)
    by_id = {f.id: f for f in known}
    unknown = [i for i in wanted if i not in by_id]
    if unknown:
        hints = [difflib.get_close_matches(i, list(by_id), n=1) for i in unknown]
        near = ", ".join(f"{u!r} → {h[0]!r}" for u, h in zip(unknown, hints) if h)
        raise ConfigError(
            f"[kiosk] functions: no kiosk function {', '.join(map(repr, unknown))}; known: "
            f"{', '.join(by_id)}" + (f" (did you mean {near}?)" if near else ""),
            functions=unknown,
            known=list(by_id),
        )
    if not wanted:
        raise ConfigError("[kiosk] functions is empty: a kiosk needs at least one function")
    if len(set(wanted)) != len(wanted):
        raise ConfigError(f"[kiosk] functions lists an id twice: {wanted}", functions=wanted)
    return [f for f in known if f.id in wanted]


for _row in BUILT_IN:
    register(_row)


class KioskHome:
    """The kiosk's own step machine: the home screen of function tiles, the function a citizen
    is in, and the way back home (返回首页, or no tap for ``idle_timeout_s``).

    Every function's flow is built once, when the kiosk starts, and kept: a broken factory
    stops the kiosk at start-up rather than at a citizen's tap, and what a flow remembers across
    citizens (which device faults it journaled) stays. What it remembers of a citizen, it
    forgets in :meth:`KioskFlow.leave`.

    Where later features plug in (coming in later issues): care mode (关怀模式) is a flag here,
    sent to the screens with every :class:`Screen`; a per-function idle timeout is a field of
    :class:`KioskFunction` that :meth:`tick` reads; the 远程帮办 help button is a step here,
    available from every screen, that journals the request.

    Args:
        context: the kiosk's devices, hall and clock.
        functions: the functions offered, in tile order (see :func:`enabled`).

    Attributes:
        screen: the screen shown now.
        active: the id of the function the citizen is in; None on the home screen.
        flows: each offered function's flow, by id.
    """

    def __init__(self, context: KioskContext, functions: Sequence[KioskFunction]) -> None:
        self.context = context
        self.functions = tuple(functions)
        self.flows: dict[str, KioskFlow] = {f.id: f.build_flow(context) for f in self.functions}
        self.active: str | None = None
        # Steps come from the worker thread one at a time, as at a real kiosk.
        self._lock = threading.RLock()
        self._shown_at = context.clock.now()
        self.screen = self._show(self._home())

    @classmethod
    def for_context(cls, context: KioskContext) -> KioskHome:
        """The home offering the functions the launcher or else the hall config names.

        Raises:
            ConfigError (100): see :func:`enabled`.
        """
        ids = context.functions if context.functions is not None else context.hall.kiosk_functions
        return cls(context, enabled(ids))

    def function(self, function_id: str) -> KioskFunction:
        """An offered function's row.

        Raises:
            ConfigError (100): this kiosk does not offer it.
        """
        for f in self.functions:
            if f.id == function_id:
                return f
        raise ConfigError(
            f"kiosk function {function_id!r} is not offered here", function=function_id
        )

    # --- steps ------------------------------------------------------------------------

    def home(self) -> Screen:
        """返回首页: the function in use forgets the citizen; the tiles again."""
        with self._lock:
            self._leave()
            return self._show(self._home())

    def open(self, function_id: str) -> Screen:
        """A tile tapped: the function's first screen.

        Raises:
            ConfigError (100): this kiosk does not offer the function.
        """
        with self._lock:
            self.function(function_id)
            self._leave()
            self.active = function_id
            return self._show(replace(self.flows[function_id].start(), function=function_id))

    def step(self, function_id: str, action: Callable[[Any], Screen]) -> Screen:
        """One of a function's own steps, e.g. ``lambda flow: flow.take("social")``.

        A tap that arrives for a function the citizen is no longer in (the kiosk went home
        while it travelled) does nothing: the screen shown stays.
        """
        with self._lock:
            if function_id != self.active:
                return self.screen
            return self._show(replace(action(self.flows[function_id]), function=function_id))

    def tick(self) -> Screen:
        """Go home once a function's screen has waited ``idle_timeout_s`` without a tap."""
        with self._lock:
            idle = self.context.clock.now() - self._shown_at >= self.context.idle_timeout_s
            if self.active is not None and idle:
                self._leave()
                return self._show(self._home())
            return self.screen

    # --- internals --------------------------------------------------------------------

    def _home(self) -> Screen:
        tiles = [
            {"id": f.id, "title": f.title, "subtitle": f.subtitle, "colour": f.colour}
            for f in self.functions
        ]
        return Screen("home", "menu", {"hall_name": self.context.hall.name, "functions": tiles})

    def _leave(self) -> None:
        active, self.active = self.active, None
        if active is not None:
            self.flows[active].leave()

    def _show(self, screen: Screen) -> Screen:
        self.screen = screen
        self._shown_at = self.context.clock.now()
        return screen
