"""Identify the citizen (识别身份): the step every kiosk function that needs to know who is
in front of it shares (预约, 办件查询, 高龄补贴, 证明打印, 便民查询 …).

The citizen taps one of the four cards on the ID reader (resident ID, 港澳台 residence permit,
the old and the 2023 foreigner card); a card pulled away before its read finished gets a
"place it again" screen; with no reader, or one that no longer works, the citizen types the
18-character ID number, which is checked (length, date of birth, ISO 7064 MOD 11-2 check
character) before anything is sent anywhere. The result is a small :class:`Citizen`.

How a function uses it (three lines of its own)::

    class MyFlow:
        def __init__(self, context):
            self.identify = IdentifyCitizen(context.id_reader)   # keeps nothing personal
            self.citizen = None

        def want_citizen(self) -> Screen:          # one of the function's own steps
            return self.identify.start()

        def identified(self, outcome: Screen | Citizen) -> Screen:
            if isinstance(outcome, Screen):        # still identifying: show its screen
                return outcome
            self.citizen = outcome                 # keep it only until leave()
            return self._next_screen()

        def leave(self) -> None:
            self.citizen = None

The identify screens (``identify_card``, ``identify_retry``, ``identify_manual``; drawn by
:mod:`kiosk.identify_screens`, which a function's ``SCREENS`` includes) call
``flow.identified(flow.identify.read_card())``, ``flow.identified(flow.identify.manual())``
and ``flow.identified(flow.identify.enter_id_number(text))``: a flow offering those two
names (:class:`IdentifyingFlow`) gets the screens for free.

Privacy: :class:`Citizen` prints masked; the step itself keeps no card, number or name (the
reader keeps the last number it read, for its own debounce).
"""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING, Protocol

from core.errors import (
    CardAuthFailed,
    CardReadFailed,
    CardRemoved,
    DeviceError,
    IdNumberInvalid,
    NoCard,
    SamFrameError,
    UnsupportedCard,
)
from core.personal import PersonalText
from flows.screens import Screen
from protocols.id_card import IdCard, check_digit

if TYPE_CHECKING:
    from devices.id_card_reader import IdCardReader

#: :attr:`Citizen.card_kind` of a citizen who typed their number instead of tapping a card.
TYPED = "typed"

#: Reader errors after which the citizen places the card again (the reader works).
CARD_RETRY = (CardRemoved, CardReadFailed, CardAuthFailed, UnsupportedCard, SamFrameError)

_ID_NUMBER = re.compile(r"[1-9][0-9]{16}[0-9X]")


class Citizen:
    """Who is in front of the kiosk, as far as a function needs to know.

    The number and the name are held in :class:`core.personal.PersonalText` buffers that
    :meth:`wipe` overwrites when the citizen leaves; :attr:`id_number` and :attr:`name` hand
    out short-lived ``str`` copies for the step that sends them (``docs/privacy.md``).

    Attributes:
        id_number: the 18-character number (15 for an old foreigner card), upper-case ``X``.
        name: the Chinese name on the card, else its English name; ``""`` when typed.
        birth: the date of birth.
        card_kind: a :class:`protocols.id_card.CardKind` value, or :data:`TYPED`.
    """

    __slots__ = ("_id_number", "_name", "birth", "card_kind")

    def __init__(self, id_number: str, name: str, birth: date, card_kind: str) -> None:
        self._id_number = PersonalText(id_number, "id_number")
        self._name = PersonalText(name, "name")
        self.birth = birth
        self.card_kind = card_kind

    @classmethod
    def from_card(cls, card: IdCard) -> Citizen:
        return cls(card.id_number.upper(), card.name or card.english_name, card.birth, card.kind.value)

    @property
    def id_number(self) -> str:
        return self._id_number.reveal()

    @property
    def name(self) -> str:
        return self._name.reveal()

    def wipe(self) -> None:
        """Overwrite the number and the name: the citizen left (a flow's ``leave()``)."""
        self._id_number.wipe()
        self._name.wipe()

    def masked(self) -> dict[str, str]:
        """What a screen, a log or an event may show: ``张**``, ``110101********1234``."""
        return {
            "name": self._name.masked(),
            "id_number": self._id_number.masked(),
            "card_kind": self.card_kind,
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Citizen):
            return NotImplemented
        return (self._id_number, self._name, self.birth, self.card_kind) == (
            other._id_number, other._name, other.birth, other.card_kind
        )

    __hash__ = None  # type: ignore[assignment]  # wiping changes it

    def __repr__(self) -> str:
        m = self.masked()
        return f"Citizen(kind={m['card_kind']}, name={m['name']!r}, id_number={m['id_number']!r})"

    __str__ = __repr__


def forget_citizen(citizen: Citizen | None) -> None:
    """Wipe a citizen a flow is about to drop (None: nothing to wipe)."""
    if citizen is not None:
        citizen.wipe()


def parse_id_number(text: str) -> tuple[str, date]:
    """A typed ID number, checked: the canonical number and the birth date it encodes.

    Accepts spaces and a lower-case ``x``. The 18-character numbers of the resident ID, the
    港澳台 permit and the 2023 foreigner card share the layout: region (6), birth (8),
    sequence (3), check character (ISO 7064 MOD 11-2).

    Raises:
        IdNumberInvalid (240): not 18 characters of that form, no such date, or a check
            character that does not match (one mistyped digit is always caught).
    """
    number = "".join(text.split()).upper()
    if not _ID_NUMBER.fullmatch(number):
        raise IdNumberInvalid("not 18 characters of digits and a check character", length=len(number))
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError as err:
        raise IdNumberInvalid("no such date of birth", reason="birth") from err
    if check_digit(number[:17]) != number[17]:
        raise IdNumberInvalid("check character does not match", reason="check_digit")
    return number, birth


class IdentifyingFlow(Protocol):
    """What :mod:`kiosk.identify_screens` needs of a function's flow."""

    identify: IdentifyCitizen

    def identified(self, outcome: Screen | Citizen) -> Screen: ...


class IdentifyCitizen:
    """The identify step. Each method returns the next identify :class:`Screen`, or the
    :class:`Citizen` once known.

    Screens it returns: ``identify_card`` (form: tap your card; ``error_key`` ``id_no_card``
    when 读取 was tapped with nothing on the reader), ``identify_retry`` (result: the card did
    not read, place it again; its ``error_key`` says why, e.g. ``id_card_removed``),
    ``identify_manual`` (form: type the number; ``error_key`` ``id_number_invalid``, or the
    reader's fault when the kiosk fell back to typing). ``data["reader"]`` says whether a
    card may still be tapped.

    Args:
        reader: the kiosk's ID card reader (``KioskContext.id_reader``), or None.
    """

    def __init__(self, reader: IdCardReader | None) -> None:
        self.reader = reader

    def start(self) -> Screen:
        """The first screen: tap a card, or type the number when the kiosk has no reader."""
        if self.reader is None:
            return self._manual(None)
        return self._card(None)

    def read_card(self) -> Screen | Citizen:
        """读取 tapped (the card is on the reader): read it."""
        if self.reader is None:
            return self._manual(None)
        try:
            card = self.reader.read_card()
        except NoCard as err:
            return self._card(err.key)
        except CARD_RETRY as err:
            return Screen("identify_retry", "result", {"reader": True}, err.key)
        except DeviceError as err:
            # Unplugged, timed out, a broken security module: typing still works.
            return self._manual(err.key)
        return Citizen.from_card(card)

    def poll(self) -> Screen | Citizen:
        """For a screen that polls by itself: the citizen once a card newly lies on the
        reader, else the card screen again (no prompt: nothing was asked of the citizen)."""
        if self.reader is None:
            return self._manual(None)
        try:
            card = self.reader.poll()
        except CARD_RETRY as err:
            return Screen("identify_retry", "result", {"reader": True}, err.key)
        except DeviceError as err:
            return self._manual(err.key)
        return self._card(None) if card is None else Citizen.from_card(card)

    def manual(self) -> Screen:
        """手动输入 tapped: the number pad."""
        return self._manual(None)

    def enter_id_number(self, text: str) -> Screen | Citizen:
        """The typed number submitted."""
        try:
            number, birth = parse_id_number(text)
        except IdNumberInvalid as err:
            return self._manual(err.key)
        return Citizen(number, "", birth, TYPED)

    def _card(self, error_key: str | None) -> Screen:
        return Screen("identify_card", "form", {"reader": True}, error_key)

    def _manual(self, error_key: str | None) -> Screen:
        return Screen("identify_manual", "form", {"reader": self.reader is not None}, error_key)
