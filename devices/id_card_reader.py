"""The second-generation ID card reader (二代证阅读器): find, select and read a card over SAM frames.

:class:`IdCardReader` holds a byte driver (:class:`drivers.serial_port.SerialPort`) and speaks the
SAM module protocol through :mod:`protocols.sam_frame`. Every exchange starts clean (stale bytes
dropped), resynchronises past line noise, and ends in a frame, a typed error or
``DeviceTimeout``. A read is always find → select → read (reference §1.10); when select or read
fails, one more find tells a card that was pulled away (:class:`CardRemoved`) from one that
could not be read.

Card presence is health too: no card on the reader is ``ok`` with the reason ``no_card``; a card
pulled mid-read is ``ok`` with ``card_removed`` — the reader works, the citizen must try again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from core.errors import (
    CardAuthFailed,
    CardReadFailed,
    CardRemoved,
    DeviceError,
    DeviceTimeout,
    IdReaderError,
    NoCard,
    SamFault,
    SamFrameError,
    SamRejectedFrame,
    UnsupportedCard,
)
from devices.health import Health, HealthState, Reason
from protocols.id_card import IdCard, PhotoDecoder, decode_card
from protocols.sam_frame import Cmd, FrameParser, Response, Sw3, encode_command, response_of

log = logging.getLogger(__name__)


class IdReason:
    """Health reasons of the ID card reader, beside :class:`devices.health.Reason`."""

    NO_CARD = "no_card"
    CARD_REMOVED = "card_removed"
    CARD_UNREADABLE = "card_unreadable"
    CARD_AUTH_FAILED = "card_auth_failed"
    CARD_UNSUPPORTED = "card_unsupported"
    SAM_FAULT = "sam_fault"
    FRAME_REJECTED = "frame_rejected"
    SAM_ERROR = "sam_error"


#: SW3 → the error it means (reference §1.4).
SW3_ERRORS: dict[int, type[IdReaderError]] = {
    Sw3.NO_CARD: NoCard,
    Sw3.SELECT_FAILED: CardReadFailed,
    Sw3.READ_FAILED: CardReadFailed,
    Sw3.RANDOM_FAILED: CardReadFailed,
    Sw3.VERIFY_FAILED: CardReadFailed,
    Sw3.NO_CONTENT: CardReadFailed,
    Sw3.CARD_AUTH_SAM_FAILED: CardAuthFailed,
    Sw3.SAM_AUTH_CARD_FAILED: CardAuthFailed,
    Sw3.WRONG_CARD_TYPE: UnsupportedCard,
    Sw3.SELF_TEST_FAILED: SamFault,
    Sw3.SAM_NOT_AUTHORISED: SamFault,
    Sw3.UNAUTHORISED_OPERATION: SamFault,
    Sw3.CHECKSUM_ERROR: SamRejectedFrame,
    Sw3.LENGTH_ERROR: SamRejectedFrame,
    Sw3.COMMAND_ERROR: SamRejectedFrame,
}

#: The health each reader error implies. Card errors leave the reader ``ok``: the device works,
#: the citizen tries again or goes to a window.
ERROR_HEALTH: dict[type[DeviceError], tuple[HealthState, str]] = {
    NoCard: (HealthState.OK, IdReason.NO_CARD),
    CardRemoved: (HealthState.OK, IdReason.CARD_REMOVED),
    CardReadFailed: (HealthState.OK, IdReason.CARD_UNREADABLE),
    CardAuthFailed: (HealthState.OK, IdReason.CARD_AUTH_FAILED),
    UnsupportedCard: (HealthState.OK, IdReason.CARD_UNSUPPORTED),
    SamFault: (HealthState.ERROR, IdReason.SAM_FAULT),
    SamRejectedFrame: (HealthState.ERROR, IdReason.FRAME_REJECTED),
    IdReaderError: (HealthState.ERROR, IdReason.SAM_ERROR),
    SamFrameError: (HealthState.UNKNOWN, Reason.BAD_FRAME),
}

#: At most this many reads drain stale input before a command.
_STALE_READS = 16


class SerialDriver(Protocol):
    """What the reader needs of its byte driver (:class:`drivers.serial_port.SerialPort`)."""

    def open(self) -> None: ...

    def write(self, data: bytes) -> None: ...

    def read_available(self, timeout_s: float) -> bytes: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ReaderProfile:
    """One reader model's settings. Quirks are data, not subclasses.

    Attributes:
        model: the profile's name.
        baudrate: line speed (the module's default is 115200, reference §1.1).
        status_timeout_s: wait for reset / status / SAM id answers.
        find_timeout_s: wait for a find answer ([H3] waits 800 ms).
        select_timeout_s: wait for a select answer ([H3] waits 300 ms).
        read_timeout_s: wait for the whole read answer ([H3] waits 1100 ms).
        poll_period_s: how often :meth:`IdCardReader.watch` looks for a card ([H2]: 1 s).
        with_fingerprint: read with ``30 10`` (text, photo and fingerprints) instead of ``30 01``.
    """

    model: str
    baudrate: int = 115200
    status_timeout_s: float = 0.5
    find_timeout_s: float = 0.8
    select_timeout_s: float = 0.3
    read_timeout_s: float = 1.1
    poll_period_s: float = 1.0
    with_fingerprint: bool = False


#: Known models, by the name used in device URLs (``?profile=…``).
PROFILES: dict[str, ReaderProfile] = {
    "sam-uart": ReaderProfile("sam-uart"),
    "sam-uart-fingerprint": ReaderProfile("sam-uart-fingerprint", with_fingerprint=True),
}


class IdCardReader:
    """An ID card reader with a SAM module.

    Args:
        driver: the serial byte driver (opened on first use).
        profile: the model's settings.
        device_id: the hall's name for the reader (``id-reader-1``).
        on_health: called with the new :class:`Health` whenever it changes.
        photo_decoder: turns the WLT photo into an image (a vendor library); none is shipped,
            so by default cards carry the photo as opaque bytes only.
        on_close: called by :meth:`close` after the port is released.
    """

    def __init__(
        self,
        driver: SerialDriver,
        profile: ReaderProfile = PROFILES["sam-uart"],
        device_id: str = "id-reader",
        on_health: Callable[[Health], None] | None = None,
        photo_decoder: PhotoDecoder | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.driver = driver
        self.profile = profile
        self.device_id = device_id
        self.on_health = on_health
        self.photo_decoder = photo_decoder
        self.on_close = on_close
        self._parser = FrameParser()
        self._health = Health.unknown(device_id)
        self._lock = threading.Lock()
        self._last_number: str | None = None
        #: Bytes written and read in the last exchanges, for wire-time accounting.
        self.bytes_out = self.bytes_in = 0

    @property
    def last_health(self) -> Health:
        return self._health

    def close(self) -> None:
        """Release the port, then call ``on_close``."""
        self.driver.close()
        if self.on_close is not None:
            self.on_close()

    def health(self) -> Health:
        """Ask the module for its status now. Never raises."""
        with self._lock:
            try:
                with self._recording():
                    self._exchange(Cmd.STATUS, self.profile.status_timeout_s)
            except DeviceError:
                return self._health  # recorded: the health the error implies
            self._set_health(Health.ok(self.device_id))
            return self._health

    def sam_id(self) -> str:
        """The security module's number, as printed on the module (``05.01-…``).

        Raises:
            SamFault (327), DeviceTimeout (303), DeviceUnplugged (302), SamFrameError (321).
        """
        with self._lock, self._recording():
            data = self._exchange(Cmd.SAM_ID, self.profile.status_timeout_s).data
            if len(data) < 16:
                raise SamFrameError("SAM id answer too short", fault="length")
        words = [int.from_bytes(data[i : i + 4], "little") for i in (4, 8, 12)]
        return f"{data[0]:02d}.{data[2]:02d}-{words[0]}-{words[1]:09d}-{words[2]:09d}"

    def read_card(self) -> IdCard:
        """Find, select and read the card on the reader.

        Returns:
            The decoded card.

        Raises:
            NoCard (322): no card on the reader.
            CardRemoved (323): the card left the reader during select or read.
            CardReadFailed (324): the card is there but did not read.
            CardAuthFailed (325): card and SAM did not authenticate each other.
            UnsupportedCard (326): not one of the four card layouts.
            SamFault (327): the security module is unusable.
            SamRejectedFrame (328): the module refused a frame (line noise towards it).
            SamFrameError (321): the module's answer was malformed.
            DeviceTimeout (303): no answer in time.
            DeviceUnplugged (302) / DeviceNotFound (301): the cable is out.
        """
        with self._lock, self._recording():
            card = self._read_locked()
            self._last_number = card.id_number
            return card

    def poll(self) -> IdCard | None:
        """One presence check: the card when one newly lies on the reader, else None.

        A card left on the reader is returned once (debounced on its number, since some modules
        keep answering find for it, reference §1.10); lifting it re-arms the poll.

        Raises:
            the errors of :meth:`read_card` except NoCard.
        """
        with self._lock:
            try:
                with self._recording():
                    card = self._read_locked()
            except NoCard:
                self._last_number = None
                return None
            if card.id_number == self._last_number:
                return None
            self._last_number = card.id_number
            return card

    def watch(
        self,
        on_card: Callable[[IdCard], None],
        stop: threading.Event,
        on_error: Callable[[DeviceError], None] | None = None,
    ) -> None:
        """Poll every ``profile.poll_period_s`` until ``stop`` is set; run it on a thread.

        Args:
            on_card: called with each newly placed card.
            stop: set it to end the loop.
            on_error: called with each device error (the loop keeps polling: a replugged
                reader comes back by itself).
        """
        while not stop.is_set():
            started = time.monotonic()
            try:
                card = self.poll()
            except DeviceError as err:
                if on_error is not None:
                    on_error(err)
            else:
                if card is not None:
                    on_card(card)
            stop.wait(max(0.0, self.profile.poll_period_s - (time.monotonic() - started)))

    # --- the read cycle ---------------------------------------------------------------------

    def _read_locked(self) -> IdCard:
        self._exchange(Cmd.FIND_CARD, self.profile.find_timeout_s)
        try:
            self._exchange(Cmd.SELECT_CARD, self.profile.select_timeout_s)
            command = (
                Cmd.READ_WITH_FINGERPRINT if self.profile.with_fingerprint else Cmd.READ_TEXT_PHOTO
            )
            answer = self._exchange(command, self.profile.read_timeout_s)
        except CardReadFailed as err:
            self._raise_if_removed(err)
            raise
        card = self._decode(answer.data)
        self._set_health(Health.ok(self.device_id))
        return card

    def _raise_if_removed(self, err: CardReadFailed) -> None:
        """After a failed select or read, one find says whether the card is still there."""
        try:
            self._exchange(Cmd.FIND_CARD, self.profile.find_timeout_s)
        except NoCard as gone:
            raise CardRemoved(
                "card left the reader during the read", sw3=err.details.get("sw3")
            ) from gone
        except DeviceError:
            pass  # the original failure says more than this one

    def _decode(self, data: bytes) -> IdCard:
        fingerprint = self.profile.with_fingerprint
        head = 6 if fingerprint else 4
        if len(data) < head:
            raise SamFrameError("read answer without sizes", fault="length")
        text_len = int.from_bytes(data[0:2], "big")
        photo_len = int.from_bytes(data[2:4], "big")
        finger_len = int.from_bytes(data[4:6], "big") if fingerprint else 0
        if len(data) != head + text_len + photo_len + finger_len:
            raise SamFrameError(
                "read answer sizes do not add up",
                fault="length",
                text=text_len,
                photo=photo_len,
                fingerprint=finger_len,
                got=len(data),
            )
        text = data[head : head + text_len]
        photo = data[head + text_len : head + text_len + photo_len]
        prints = data[head + text_len + photo_len :]
        return decode_card(text, photo, prints, self.photo_decoder)

    # --- one exchange -----------------------------------------------------------------------

    def _exchange(self, command: Cmd, timeout_s: float) -> Response:
        """Send one command and wait for its answer.

        Raises:
            the SW3 error of :data:`SW3_ERRORS`, SamFrameError (321), DeviceTimeout (303),
            DeviceUnplugged (302), DeviceNotFound (301).
        """
        answer = self._transact(command, timeout_s)
        if not answer.ok:
            raise self._sw3_error(command, answer)
        return answer

    def _transact(self, command: Cmd, timeout_s: float) -> Response:
        self.driver.open()
        self._drop_stale_input()
        self._parser.reset()
        request = encode_command(command)
        self.driver.write(request)
        self.bytes_out += len(request)
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if self._parser.pending:
                    raise SamFrameError(
                        f"answer to {command.name} cut short",
                        fault="truncated",
                        command=command.name,
                        pending=self._parser.pending,
                    )
                raise DeviceTimeout(f"no answer to {command.name}", command=command.name)
            chunk = self.driver.read_available(remaining)
            self.bytes_in += len(chunk)
            self._parser.feed(chunk)
            for body in self._parser.frames():
                return response_of(body)

    def _drop_stale_input(self) -> None:
        """Drop what arrived since the last exchange: a late answer to an earlier command
        must not pass for this one's. Read rather than flushed, so a cable pulled since is
        reported as unplugged by the driver; bounded, so a babbling line cannot hold us."""
        for _ in range(_STALE_READS):
            if not self.driver.read_available(0.0):
                return

    def _sw3_error(self, command: Cmd, answer: Response) -> IdReaderError:
        kind = SW3_ERRORS.get(answer.sw3, IdReaderError)
        return kind(
            f"{command.name} answered SW3 {answer.sw3:02X}", sw3=answer.sw3, command=command.name
        )

    @contextmanager
    def _recording(self) -> Iterator[None]:
        """Every device error leaving a public call sets the health it implies, once."""
        try:
            yield
        except DeviceError as err:
            err.details.setdefault("device", self.device_id)
            self._record(err)
            raise

    def _record(self, err: DeviceError) -> None:
        """Set the health ``err`` implies."""
        mapped = ERROR_HEALTH.get(type(err))
        if mapped is None:
            self._set_health(Health.from_error(self.device_id, err))
            return
        state, reason = mapped
        # No card is the reader's resting state, not a fault worth a code.
        code = None if isinstance(err, NoCard) else err.code
        self._set_health(Health(self.device_id, state, (reason,), code))

    def _set_health(self, health: Health) -> None:
        changed = health != self._health
        self._health = health
        if changed and self.on_health is not None:
            self.on_health(health)
