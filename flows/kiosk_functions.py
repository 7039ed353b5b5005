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
from core.events import Kind
from flows.kiosk_rating import RATE, RATING_SCREENS, KioskRating
from flows.screens import Screen
from flows.transactions import TransactionJournal, transaction_journal_for

if TYPE_CHECKING:
    from pathlib import Path

    from core.clock import Clock
    from core.config import HallConfig
    from devices.document_camera import DocumentCamera
    from devices.document_printer import DocumentPrinter
    from devices.id_card_reader import IdCardReader
    from devices.ticket_printer import TicketPrinter
    from flows.queue_port import QueuePort
    from govplatform.http import PlatformHttp
    from payments.channel import PaymentChannel

#: Seconds without a tap after which a kiosk inside a function goes back to its home screen.
IDLE_TIMEOUT_S = 60.0
#: A citizen waiting for 远程帮办 waits longer than an idle timeout before the kiosk gives up
#: on them: the helper may take a few minutes to answer.
HELP_WAIT_S = 300.0

#: The kiosk's own screens, drawn by the window whatever function the citizen is in: the
#: home tiles, and 远程帮办's "请稍候" over the screen the citizen asked from.
HOME = "home"
HELP = "help"

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
        At the end of a visit every flow's ``leave()`` runs, the one in use and the others
        (``docs/privacy.md``, "After the citizen leaves"): it must be harmless to call twice
        or on a flow the citizen never opened.
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
        document_camera: the high-shot document camera (高拍仪), or None.
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
    document_camera: DocumentCamera | None = None

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
    KioskFunction(
        id="appointments",
        title="预约取号",
        subtitle="网上预约，到场取号",
        order=20,
        flow="flows.appointments:AppointmentFlow",
        screens="kiosk.functions.appointments",
        colour="green",
    ),
    KioskFunction(
        id="service_guide",
        title="办事指南",
        subtitle="查询事项办理要求",
        order=30,
        flow="flows.service_guide:ServiceGuideFlow.for_kiosk",
        screens="kiosk.functions.service_guide",
        colour="teal",
    ),
    KioskFunction(
        id="case_progress",
        title="办件查询",
        subtitle="查看办件进度",
        order=40,
        flow="flows.case_progress:CaseProgressFlow",
        screens="kiosk.functions.case_progress",
        colour="teal",
    ),
    KioskFunction(
        id="bill_payment",
        title="生活缴费",
        subtitle="水电气固话缴费",
        order=50,
        flow="flows.bill_payment:BillPaymentFlow.for_kiosk",
        screens="kiosk.functions.bill_payment",
        colour="green",
    ),
    KioskFunction(
        id="certificates",
        title="证明打印",
        subtitle="缴费凭证无房证明",
        order=60,
        flow="flows.certificates:CertificatesFlow",
        screens="kiosk.functions.certificates",
        colour="blue",
    ),
    KioskFunction(
        id="convenience_queries",
        title="便民查询",
        subtitle="社保公积金等查询",
        order=70,
        flow="flows.convenience_queries:ConvenienceQueriesFlow",
        screens="kiosk.functions.convenience_queries",
        colour="teal",
    ),
    KioskFunction(
        id="elderly_subsidy",
        title="高龄认证",
        subtitle="70岁以上补贴认证",
        order=80,
        flow="flows.elderly_subsidy:ElderlySubsidyFlow",
        screens="kiosk.functions.elderly_subsidy",
        colour="amber",
    ),
    KioskFunction(
        id="self_submission",
        title="自助申报",
        subtitle="网上申报材料上传",
        order=100,
        flow="flows.self_submission:SelfSubmissionFlow",
        screens="kiosk.functions.self_submission",
        colour="blue",
    ),
    KioskFunction(
        id="form_fill",
        title="自助填表",
        subtitle="填写打印申请表",
        order=110,
        flow="flows.form_print:FormPrintFlow",
        screens="kiosk.functions.form_fill",
        colour="teal",
    ),
    KioskFunction(
        id="self_copy",
        title="自助复印",
        subtitle="证件材料原大复印",
        order=120,
        flow="flows.self_copy:SelfCopyFlow",
        screens="kiosk.functions.self_copy",
        colour="amber",
    ),
    KioskFunction(
        id="rating",
        title="服务评价",
        subtitle="评价本次服务",
        order=200,
        flow="flows.kiosk_rating:RatingTileFlow",
        screens="kiosk.functions.rating",
        colour="green",
    ),
)

def built_in(function_id: str) -> KioskFunction:
    """The row of :data:`BUILT_IN` with this id (tests build a home of one function with it).

    Raises:
        KeyError: no built-in function has this id.
    """
    for row in BUILT_IN:
        if row.id == function_id:
            return row
    raise KeyError(function_id)


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

    Kiosk-wide steps, available on every screen whatever the function: :meth:`toggle_care`
    (关爱模式, :attr:`care`), :meth:`request_help` and :meth:`cancel_help` (远程帮办), and
    :meth:`rate` (服务评价: a function hands the citizen to it by returning
    :func:`flows.kiosk_rating.rate_screen`). A per-function idle timeout, when one is needed,
    is a field of :class:`KioskFunction` that :meth:`tick` reads.

    Args:
        context: the kiosk's devices, hall and clock.
        functions: the functions offered, in tile order (see :func:`enabled`).

    Attributes:
        screen: the screen shown now.
        active: the id of the function the citizen is in; None on the home screen.
        flows: each offered function's flow, by id.
        care: 关爱模式 is on: the window draws larger, plainer, fewer choices at a time. It
            stays on while the citizen goes from function to function, and is off again for
            the next citizen (the kiosk went idle).
        rating: the 服务评价 in progress, while its screens are shown; else None.
    """

    def __init__(self, context: KioskContext, functions: Sequence[KioskFunction]) -> None:
        self.context = context
        self.functions = tuple(functions)
        self.flows: dict[str, KioskFlow] = {f.id: f.build_flow(context) for f in self.functions}
        self.active: str | None = None
        self.care = False
        self.rating: KioskRating | None = None
        # The screen under 远程帮办's "请稍候", shown again when the citizen cancels.
        self._before_help: Screen | None = None
        # The last transaction handed to rating in this visit and not rated yet: what the
        # 服务评价 tile rates when the citizen skipped rating it at the time.
        self._unrated: tuple[str, str, str] | None = None
        # Steps come from the worker thread one at a time, as at a real kiosk.
        self._lock = threading.RLock()
        #: Run on the worker whenever a citizen's visit ends (返回首页, the idle timeout), after
        #: every flow's ``leave()``: the kiosk's session purge (:mod:`kiosk.session_purge`).
        self.on_session_end: list[Callable[[], None]] = []
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
            self._end_session()
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
            return self._show_function(function_id, self.flows[function_id].start())

    def step(self, function_id: str, action: Callable[[Any], Screen]) -> Screen:
        """One of a function's own steps, e.g. ``lambda flow: flow.take("social")``.

        A tap that arrives for a function the citizen is no longer in (the kiosk went home
        while it travelled) does nothing: the screen shown stays.
        """
        with self._lock:
            if function_id != self.active or self._before_help is not None:
                return self.screen
            return self._show_function(function_id, action(self.flows[function_id]))

    def rate(self, function_id: str, action: Callable[[KioskRating], Screen]) -> Screen:
        """A tap on a 服务评价 screen, e.g. ``lambda rating: rating.choose(5)``.

        Like :meth:`step`, a tap for a rating no longer shown does nothing.
        """
        with self._lock:
            if function_id != self.active or self.rating is None or self._before_help:
                return self.screen
            screen = action(self.rating)
            if self.rating.done:
                self._unrated = None
            return self._show(replace(screen, function=function_id))

    def toggle_care(self) -> Screen:
        """关爱模式 tapped: on, or off again; the same screen, for the window to redraw."""
        with self._lock:
            self.care = not self.care
            return self._show(self.screen)

    def request_help(self) -> Screen:
        """远程帮办 tapped: journal where the citizen is stuck, then "请稍候" with 取消.

        The event names the function and the screen, nothing of the citizen. A second tap
        while waiting journals nothing more.

        Raises:
            StorageFull (420): the request could not be journaled; the screen stays.
        """
        with self._lock:
            if self._before_help is not None:
                return self.screen
            where = {"function": self.active or "", "screen": self.screen.name}
            self.context.transactions.record(Kind.KIOSK_HELP_REQUESTED, where)
            self._before_help = self.screen
            return self._show(Screen(HELP, "result", where))

    def cancel_help(self) -> Screen:
        """取消 on "请稍候": back to the screen the citizen asked from."""
        with self._lock:
            before, self._before_help = self._before_help, None
            return self._show(before if before is not None else self.screen)

    def tick(self, touched: bool = False) -> Screen:
        """Go home once a function's screen has waited ``idle_timeout_s`` without a tap
        (:data:`HELP_WAIT_S` while the citizen waits for 远程帮办); the next citizen starts
        with care mode off.

        Args:
            touched: the screen was touched since the last tick without a step (a key of the
                on-screen keyboard, a scroll): the citizen is still there.
        """
        with self._lock:
            if touched:
                self._shown_at = self.context.clock.now()
            waited = self.context.clock.now() - self._shown_at
            limit = HELP_WAIT_S if self._before_help is not None else self.context.idle_timeout_s
            if waited < limit:
                return self.screen
            if self.active is None and self._before_help is None:
                self.care = False  # the home screen stays; the next citizen starts plain
                return self.screen
            self._end_session()
            self.care = False
            self._unrated = None
            return self._show(self._home())

    # --- internals --------------------------------------------------------------------

    def _home(self) -> Screen:
        tiles = [
            {"id": f.id, "title": f.title, "subtitle": f.subtitle, "colour": f.colour}
            for f in self.functions
        ]
        return Screen(HOME, "menu", {"hall_name": self.context.hall.name, "functions": tiles})

    def _show_function(self, function_id: str, screen: Screen) -> Screen:
        """A function's screen; a :func:`flows.kiosk_rating.rate_screen` starts the rating."""
        if screen.name == RATE:
            rated = (function_id, screen.data.get("item", ""), screen.data.get("ref", ""))
            if screen.data.get("last") and self._unrated is not None:
                rated = self._unrated  # the 服务评价 tile: what the citizen just did here
            elif not screen.data.get("last"):
                self._unrated = rated
            self.rating = KioskRating(self.context.transactions, *rated)
            screen = self.rating.screen()
        elif screen.name not in RATING_SCREENS:
            self.rating = None
        return self._show(replace(screen, function=function_id))

    def _leave(self) -> None:
        active, self.active = self.active, None
        self.rating = None
        self._before_help = None
        if active is not None:
            self.flows[active].leave()

    def _end_session(self) -> None:
        """The citizen's visit is over: the function in use is left, and every other flow
        forgets too (``leave()`` again is harmless, and whatever a flow picked up outside its
        own visit must not outlast the citizen); then the purges."""
        left = self.active
        self._leave()
        for function_id, flow in self.flows.items():
            if function_id != left:
                flow.leave()
        for purge in self.on_session_end:
            purge()

    def _show(self, screen: Screen) -> Screen:
        self.screen = screen
        self._shown_at = self.context.clock.now()
        return screen
