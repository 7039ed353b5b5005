"""One table of error codes for the whole runtime.

Every error a technician may have to look up is a subclass of :class:`HallEdgeError` with a
fixed numeric ``code`` and a ``key``. The key names the citizen-facing sentence in
:mod:`core.strings_zh`; the code is what logs, telemetry and the technician screen show.
Facts (device id, port, ticket) travel as attributes, never inside the message string.

Code ranges:

* 100–199 configuration
* 200–299 queue and citizen flows
* 300–399 devices and drivers
* 400–499 journal and telemetry
* 500–599 collector ingestion
* 600–629 document capture
* 700–799 hall network (the hall API, ``docs/hall-api.md``)
* 800–849 the government platform (``govplatform``, ``docs/gov-platform.md``)
* 850–899 payment channels (``payments``, ``docs/payments.md``)
"""

from __future__ import annotations

from typing import Any


class HallEdgeError(Exception):
    """Root of every Hall Edge error.

    Attributes:
        code: stable number from the table in ``docs/error-codes.md``.
        key: stable name; also the key of the Chinese sentence shown to citizens.
        details: facts about this occurrence (device id, port, ticket ...).
    """

    code: int = 1
    key: str = "internal_error"

    def __init__(self, message: str = "", **details: Any) -> None:
        super().__init__(message or self.key)
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        """The error as a JSON-ready dict for telemetry and logs."""
        return {"code": self.code, "key": self.key, "message": str(self), **self.details}


# --- 100 configuration -------------------------------------------------------------------


class ConfigError(HallEdgeError):
    code = 100
    key = "config_invalid"


# --- 200 queue and flows -----------------------------------------------------------------


class QueueError(HallEdgeError):
    code = 200
    key = "queue_error"


class UnknownService(QueueError):
    code = 201
    key = "unknown_service"


class UnknownWindow(QueueError):
    code = 202
    key = "unknown_window"


class WindowNotOpen(QueueError):
    code = 203
    key = "window_not_open"


class NoCurrentTicket(QueueError):
    code = 204
    key = "no_current_ticket"


class TicketInService(QueueError):
    """The window still serves a ticket; finish or skip it before calling the next."""

    code = 205
    key = "ticket_in_service"


# --- 300 devices and drivers -------------------------------------------------------------


class DeviceError(HallEdgeError):
    code = 300
    key = "device_error"


class DeviceNotFound(DeviceError):
    code = 301
    key = "device_not_found"


class DeviceUnplugged(DeviceError):
    code = 302
    key = "device_unplugged"


class DeviceTimeout(DeviceError):
    code = 303
    key = "device_timeout"


class BadResponse(DeviceError):
    code = 304
    key = "bad_response"


class DeviceRejected(DeviceError):
    """The device refused a command (``ERR``), or the host refused to send one it would refuse.

    A host or configuration bug, not a hardware fault.
    """

    code = 305
    key = "device_rejected"


class PaperOut(DeviceError):
    code = 310
    key = "paper_out"


class CoverOpen(DeviceError):
    code = 311
    key = "cover_open"


class PrinterOffline(DeviceError):
    code = 312
    key = "printer_offline"


# 330–349: the A4 document printer (CUPS) and the document camera (高拍仪).


class PrintJobFailed(DeviceError):
    """A print job ended without printing (aborted or canceled by CUPS or the printer)."""

    code = 330
    key = "print_job_failed"


class PrintJobTimeout(DeviceTimeout):
    """A print job did not finish in the time the kiosk waits for it."""

    code = 331
    key = "print_job_timeout"


class PrinterStopped(DeviceError):
    """The print queue is stopped or paused: jobs wait until a technician resumes it."""

    code = 332
    key = "printer_stopped"


class TonerEmpty(DeviceError):
    code = 333
    key = "toner_empty"


class PaperJam(DeviceError):
    code = 334
    key = "paper_jam"


class PrintFileUnsupported(DeviceRejected):
    """The document is neither a PDF nor an image the printer path accepts."""

    code = 335
    key = "print_file_unsupported"


class PrintServiceUnavailable(DeviceError):
    """The CUPS scheduler cannot be reached."""

    code = 336
    key = "print_service_unavailable"


class CameraNoFrames(DeviceTimeout):
    """The document camera delivered no frame in time."""

    code = 340
    key = "camera_no_frames"


class CameraBadFrame(BadResponse):
    """A frame could not be decoded (a corrupt JPEG in the stream)."""

    code = 341
    key = "camera_bad_frame"


class CameraUnplugged(DeviceUnplugged):
    """The camera, or the stream it is read from, is gone."""

    code = 342
    key = "camera_unplugged"


class CameraDarkFrame(DeviceError):
    """The frame is black: lamp off, lens covered or the sensor not delivering light."""

    code = 343
    key = "camera_dark_frame"


# --- 320 ID card reader (二代证阅读器, SAM module) ------------------------------------------


class IdReaderError(DeviceError):
    """The SAM module answered with a status no narrower error covers (SW3 24 and the like)."""

    code = 320
    key = "id_reader_error"


class SamFrameError(DeviceError):
    """A SAM frame is malformed: bad checksum, impossible length, or cut short."""

    code = 321
    key = "id_frame_invalid"


class NoCard(IdReaderError):
    """No card on the reader when one was needed (a poll that finds none is not an error)."""

    code = 322
    key = "id_no_card"


class CardRemoved(IdReaderError):
    """The card left the reader before its read finished."""

    code = 323
    key = "id_card_removed"


class CardReadFailed(IdReaderError):
    """The card is there but could not be read (SW3 41, 47, 33, 81)."""

    code = 324
    key = "id_card_read_failed"


class CardAuthFailed(IdReaderError):
    """The card and the SAM did not authenticate each other (SW3 31, 32)."""

    code = 325
    key = "id_card_auth_failed"


class UnsupportedCard(IdReaderError):
    """Not a card this reader decodes (SW3 40, or an unknown card-type flag)."""

    code = 326
    key = "id_card_unsupported"


class SamFault(IdReaderError):
    """The security module is unusable: self-test failed, not authorised (SW3 60, 66, 23)."""

    code = 327
    key = "id_sam_fault"


class SamRejectedFrame(IdReaderError):
    """The module refused our frame: checksum, length or command error (SW3 10, 11, 21)."""

    code = 328
    key = "id_frame_rejected"


class CallerFrameInvalid(BadResponse):
    """A window caller or rating pad frame (``FF 68 … 16``) broke the frame rules.

    ``details["reason"]``: ``truncated``, ``bad_length``, ``length_mismatch``, ``bad_start``
    or ``bad_end``.
    """

    code = 350
    key = "caller_frame_invalid"


class CallerChecksum(CallerFrameInvalid):
    """A caller frame whose CS is not (A + F + sum of data) mod 256."""

    code = 351
    key = "caller_checksum"


class CallerKeyUnknown(CallerFrameInvalid):
    """A well-formed key frame whose key (or key sequence) is in no key table."""

    code = 352
    key = "caller_key_unknown"


class RatingKeyInvalid(CallerFrameInvalid):
    """A 4-key rating pad sent a key value outside 0–3."""

    code = 353
    key = "rating_key_invalid"


class RatingNotRequested(BadResponse):
    """A rating arrived while no rating was asked for (a stray or repeated key press)."""

    code = 354
    key = "rating_not_requested"


# 360–369: the device's own computer.


class ClockWentBack(DeviceError):
    """The device's clock read earlier than the last time a ticket already carries.

    Not raised: the queue dates the event at that earlier-written time instead, so a
    ticket's times still run forward, and journals this as the device's health (warning),
    once per step back. ``details``: ``device_id``, ``behind_s``.
    """

    code = 360
    key = "clock_went_back"


# --- 400 journal and telemetry -----------------------------------------------------------


class JournalError(HallEdgeError):
    code = 400
    key = "journal_error"


class BrokerUnavailable(JournalError):
    code = 410
    key = "broker_unavailable"


class StorageFull(JournalError):
    """The hall disk is nearly full: new tickets are refused, calls and finishes go on.

    The reserve left keeps room for the citizens already waiting and their journaled events.
    """

    code = 420
    key = "storage_full"


class JournalTooNew(JournalError):
    """The hall database was migrated by a newer Hall Edge than this one; refusing to write."""

    code = 421
    key = "journal_too_new"


class RemoteError(JournalError):
    """A command or configuration from the collector could not be carried out."""

    code = 450
    key = "remote_error"


class CommandRejected(RemoteError):
    """A command for another device, an unknown command, or bad arguments: not attempted."""

    code = 451
    key = "command_rejected"


class ConfigRejected(RemoteError):
    """A pushed configuration failed validation or is not newer; nothing changed."""

    code = 452
    key = "config_rejected"


class ConfigApplyFailed(RemoteError):
    """A valid configuration failed while being applied; the previous one was restored."""

    code = 453
    key = "config_apply_failed"


class MqttAuthRefused(BrokerUnavailable):
    """The broker refused this device's username or password (or its ACL forbids the client).

    Like any outage, nothing is lost: the journal keeps the events until the credentials are
    fixed; but only a technician can fix this one.
    """

    code = 470
    key = "mqtt_auth_refused"


class MqttTlsFailed(BrokerUnavailable):
    """The TLS handshake failed: an unknown CA, another host name, or no TLS on the listener."""

    code = 471
    key = "mqtt_tls_failed"


class PrivacyKeyMissing(HallEdgeError):
    """No per-hall secret is configured, so no pseudonymous key may be made from an ID."""

    code = 472
    key = "privacy_key_missing"


# --- 500 collector -----------------------------------------------------------------------


class IngestError(HallEdgeError):
    code = 500
    key = "ingest_error"


class MalformedMessage(IngestError):
    """A message on a collector topic that is not a valid event batch."""

    code = 501
    key = "malformed_message"


# --- 600 document capture ----------------------------------------------------------------


class CaptureError(HallEdgeError):
    code = 600
    key = "capture_error"


class NoPageFound(CaptureError):
    """No document-shaped quadrilateral in the frame."""

    code = 601
    key = "no_page_found"


class TwoPagesFound(CaptureError):
    """Two or more documents of similar size lie side by side in the frame."""

    code = 602
    key = "two_pages_found"


class PageOutOfFrame(CaptureError):
    """The page touches the frame edge, so part of it is cut off."""

    code = 603
    key = "page_out_of_frame"


class BlankFrame(CaptureError):
    """The frame is all black (lens covered, lamp off) or all white (overexposed)."""

    code = 604
    key = "blank_frame"


class CorruptImage(CaptureError):
    """The bytes do not decode as an image (truncated or damaged JPEG)."""

    code = 605
    key = "corrupt_image"


class ImageSizeInvalid(CaptureError):
    """The image is too small to read or too large to process safely."""

    code = 606
    key = "image_size_invalid"


class LowConfidence(CaptureError):
    """A page-like shape was found but not trusted enough to crop; the citizen re-places it."""

    code = 607
    key = "low_confidence"


class FrameBlurry(CaptureError):
    code = 608
    key = "frame_blurry"


class FrameGlare(CaptureError):
    code = 609
    key = "frame_glare"


class HandInFrame(CaptureError):
    """Something still covers the page (a hand), so the capture waits."""

    code = 610
    key = "hand_in_frame"


class DatasetInvalid(CaptureError):
    """A ground-truth CSV row is malformed or names a missing image."""

    code = 611
    key = "dataset_invalid"


# --- 700 hall network (the hall API between the hall box and its kiosks and PADs) ------


class HallNetError(HallEdgeError):
    """A request between a kiosk or PAD and the hall box failed."""

    code = 700
    key = "hall_net_error"


class HallBoxUnreachable(HallNetError):
    """The hall box did not answer (refused, timed out, connection lost) after the retries.

    Nothing is known about the request's effect: a state change may have been made. Repeat it
    with the same ``Idempotency-Key`` (the client does) and the hall box answers with the first
    result instead of doing it twice. ``details``: ``address``, ``path``.
    """

    code = 701
    key = "hall_box_unreachable"


class DeviceNotAuthorized(HallNetError):
    """The hall box does not know this device, or its secret: not in the device list, removed
    from it, or a wrong secret (HTTP 401). ``details``: ``device_id``."""

    code = 702
    key = "device_not_authorized"


class DeviceForbidden(HallNetError):
    """The device may not do this: its role (a kiosk calling a ticket) or its window (a PAD
    bound to window 3 calling for window 1), or it names another device (HTTP 403)."""

    code = 703
    key = "device_forbidden"


class IdempotencyKeyReused(HallNetError):
    """An ``Idempotency-Key`` already answered a different request of this device (HTTP 422)."""

    code = 704
    key = "idempotency_key_reused"


class BadRequest(HallNetError):
    """The hall box refused a malformed request: not JSON, a field missing, no key (HTTP 400)."""

    code = 705
    key = "bad_request"


class HallBoxBadResponse(HallNetError):
    """The hall box answered something a client cannot use: a server error, not JSON, or
    another hall than the device file names."""

    code = 706
    key = "hall_box_bad_response"


# --- 800 the government platform ----------------------------------------------------------


class PlatformError(HallEdgeError):
    """The government platform could not answer the kiosk (``govplatform``)."""

    code = 800
    key = "platform_error"


class PlatformUnreachable(PlatformError):
    """No connection to the platform: refused, reset, no route, DNS."""

    code = 801
    key = "platform_unreachable"


class PlatformTimeout(PlatformError):
    """The platform did not answer within the call's timeout. For a call that changes state
    the outcome is unknown until it is asked again."""

    code = 802
    key = "platform_timeout"


class PlatformServerError(PlatformError):
    """The platform answered with a server error (HTTP 5xx)."""

    code = 803
    key = "platform_server_error"


class PlatformBadResponse(PlatformError):
    """The platform answered something the kiosk cannot read: not JSON, or a field missing or
    of the wrong type."""

    code = 804
    key = "platform_bad_response"


class PlatformRefused(PlatformError):
    """The platform refused the request on its merits (HTTP 4xx with its own ``code``): no such
    case, a booking limit reached, a form field it does not accept. ``details['upstream_code']``
    carries the platform's code."""

    code = 805
    key = "platform_refused"


class PlatformNotFound(PlatformRefused):
    """Nothing upstream matches what the citizen asked for (HTTP 404)."""

    code = 806
    key = "platform_not_found"


# --- 850 payment channels -----------------------------------------------------------------


class PaymentError(HallEdgeError):
    """A payment channel (Alipay, ICBC, CCB) could not complete a call (``payments``)."""

    code = 850
    key = "payment_error"


class PaymentChannelUnreachable(PaymentError):
    """No connection to the channel."""

    code = 851
    key = "payment_channel_unreachable"


class PaymentTimeout(PaymentError):
    """The channel did not answer in time; the order's state is unknown until it is queried."""

    code = 852
    key = "payment_timeout"


class PaymentRefused(PaymentError):
    """The channel refused the call on its merits (its ``sub_code`` in
    ``details['upstream_code']``)."""

    code = 853
    key = "payment_refused"


class PaymentBadResponse(PaymentError):
    """The channel's answer cannot be trusted: unreadable, or its signature does not verify."""

    code = 854
    key = "payment_bad_response"


def all_error_types() -> list[type[HallEdgeError]]:
    """Every error class, root first, for the documentation table and its test."""
    found: list[type[HallEdgeError]] = []
    pending: list[type[HallEdgeError]] = [HallEdgeError]
    while pending:
        cls = pending.pop(0)
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return sorted(found, key=lambda c: c.code)
