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


class IdNumberInvalid(HallEdgeError):
    """A typed ID number is not one: wrong length or characters, no such date, or its check
    character (ISO 7064 MOD 11-2) does not match."""

    code = 240
    key = "id_number_invalid"


class OfflineTicketRefused(QueueError):
    """The hall box refused a ticket a kiosk issued while cut off: its number is not in a range
    reserved for that kiosk, or another ticket holds it (``docs/hall-api.md``, "Offline number
    ranges"). ``details``: ``ticket_no``, ``device_id``."""

    code = 206
    key = "offline_ticket_refused"


class NumberRangeExhausted(QueueError):
    """No block of offline numbers is left for a service on a business day (the band above
    the hall box's own numbers is used up). ``details``: ``service``, ``day``."""

    code = 207
    key = "number_range_exhausted"


class WindowPaused(QueueError):
    """The window paused its service (暂停服务); it calls nobody until it resumes.
    ``details``: ``window``."""

    code = 208
    key = "window_paused"


class TransferInvalid(QueueError):
    """A transfer (转移) names no target, the ticket's own service and window, or a service or
    window the hall does not have. ``details``: ``window``, ``service``, ``to_window``."""

    code = 209
    key = "transfer_invalid"


class SkipNotUndoable(QueueError):
    """A 过号 can no longer be undone: too late, another window's, the ticket is no longer
    skipped, or the window serves someone else now. ``details``: ``ticket_no``, ``window``."""

    code = 210
    key = "skip_not_undoable"


class ServiceItemNotFound(HallEdgeError):
    """No service item with this code in the kiosk's copy of the item catalog (事项目录).

    Withdrawn since the list was shown, or never synced. ``details``: ``item_code``."""

    code = 250
    key = "service_item_not_found"


class ItemCatalogEmpty(HallEdgeError):
    """The kiosk holds no copy of the item catalog yet (never reached the platform).

    Guides come from the copy (``flows/item_catalog.py``); it is filled at the first sync."""

    code = 251
    key = "item_catalog_empty"


# --- 260 a citizen's form and eligibility (kiosk functions) ------------------------------
# Raised by the kiosk's own checks and by a platform client for the same refusal from
# upstream (``details['upstream_code']`` then says so): the citizen sees one sentence either way.


class FormInvalid(HallEdgeError):
    """A required field of a citizen's form is empty or malformed. ``details``: ``field``."""

    code = 260
    key = "form_invalid"


class BankCardInvalid(FormInvalid):
    """A bank card number is not 16–19 digits or fails the Luhn check."""

    code = 262
    key = "bank_card_invalid"


class PhoneInvalid(FormInvalid):
    """A contact phone is not an 11-digit mobile number."""

    code = 263
    key = "phone_invalid"


class SubsidyUnderAge(HallEdgeError):
    """高龄补贴: the citizen is under 70 on the hall's (or the platform's) date."""

    code = 264
    key = "subsidy_under_age"


class SubsidyAlreadyCertified(HallEdgeError):
    """高龄补贴: this year's certification is done already."""

    code = 265
    key = "subsidy_already_certified"


class CardAlreadyLost(HallEdgeError):
    """社会保障卡挂失: the card is reported lost already."""

    code = 266
    key = "ssc_already_lost"


class CardNotLost(HallEdgeError):
    """社会保障卡解挂: the card is not reported lost."""

    code = 267
    key = "ssc_not_lost"


class HasRegisteredProperty(HallEdgeError):
    """无房证明: the real-estate register holds property in the citizen's name."""

    code = 268
    key = "has_registered_property"


class OutcomeUnknown(HallEdgeError):
    """A change was sent and no answer came back: it may or may not be done upstream until
    asked again with the same Idempotency-Key. ``details``: ``ref`` (the key)."""

    code = 269
    key = "outcome_unknown"


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


class SpeechFailed(DeviceError):
    """The kiosk could not read a screen aloud: no speech engine, or it failed.

    ``details``: ``engine``, ``reason``.
    """

    code = 370
    key = "speech_failed"


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


class ScanStorageFull(StorageFull):
    """Too little disk is free for a citizen's scans (自助申报): refused before the camera
    starts, so no half-captured case is left behind. ``details``: ``free``, ``reserve``."""

    code = 422
    key = "scan_storage_full"


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


class NotifyFailed(IngestError):
    """A warning or bad-rating message did not reach the notification gateway after its
    retries (unreachable, timed out, server error). It stays in the audit as ``failed``.
    ``details``: ``message_id``, ``attempts``."""

    code = 510
    key = "notify_failed"


class NotifyRefused(IngestError):
    """The notification gateway refused a message on its merits (HTTP 4xx: a phone number it
    does not accept, a text too long); it is not retried. ``details``: ``upstream_code``."""

    code = 511
    key = "notify_refused"


class FollowUpInvalid(IngestError):
    """A bad rating's follow-up cannot move to that state from where it is (verified →
    rectified → closed), or the step names nobody. ``details``: ``rating_id``, ``state``."""

    code = 520
    key = "followup_invalid"


class BadRatingNotFound(IngestError):
    """No bad rating has this id. ``details``: ``rating_id``."""

    code = 521
    key = "bad_rating_not_found"


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


class PageCovered(CaptureError):
    """Something (a hand, a pen, another sheet) lies over a corner or a stretch of the page's
    border, so where the page ends there is a guess. ``details``: ``corners`` (0–3, tl first),
    ``longest_run`` (share of a side)."""

    code = 612
    key = "page_covered"


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


# 810–829: bookings (预约) and cases (办件); the platform's refusal codes, typed.


class BookingRefused(PlatformRefused):
    """The platform refused a booking, cancellation or check-in for a reason of its own."""

    code = 810
    key = "booking_refused"


class SlotFull(BookingRefused):
    """The time slot has no places left (``SLOT_FULL``)."""

    code = 811
    key = "booking_slot_full"


class BookingDailyLimit(BookingRefused):
    """The citizen holds as many bookings for that day as the platform allows
    (``BOOKING_DAILY_LIMIT``)."""

    code = 812
    key = "booking_daily_limit"


class BookingSuspended(BookingRefused):
    """恶意预约: the citizen missed too many bookings lately and may not book for a while
    (``BOOKING_SUSPENDED``)."""

    code = 813
    key = "booking_suspended"


class BookingNotActive(BookingRefused):
    """The booking was cancelled, checked in or missed already (``BOOKING_NOT_ACTIVE``)."""

    code = 814
    key = "booking_not_active"


class CancelTooLate(BookingRefused):
    """The booked time has begun: it can no longer be cancelled (``CANCEL_TOO_LATE``)."""

    code = 815
    key = "booking_cancel_too_late"


class CheckInNotOpen(BookingRefused):
    """Check-in for the booking has not opened: another day, or too early
    (``CHECKIN_NOT_OPEN``)."""

    code = 816
    key = "checkin_not_open"


class CheckInTooLate(BookingRefused):
    """The booked time is over: the booking counts as missed (``CHECKIN_TOO_LATE``)."""

    code = 817
    key = "checkin_too_late"


class CaseNotFound(PlatformNotFound):
    """No case (办件) has that number, or none belongs to that ID number."""

    code = 820
    key = "case_not_found"


class SubmissionRefused(PlatformRefused):
    """The platform did not accept a self-submitted case (自助申报) on its merits: a required
    material missing, the situation unknown, the applicant not matching. Nothing was filed.
    ``details``: ``upstream_code``."""

    code = 821
    key = "submission_refused"


class PhoneFormExpired(PlatformError):
    """The phone form (扫码填表) a kiosk opened expired before the phone submitted it, or was
    closed. ``details``: ``session``."""

    code = 822
    key = "phone_form_expired"


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


class PaymentExpired(PaymentError):
    """The citizen did not pay in time; the kiosk closed the order and nothing was charged."""

    code = 855
    key = "payment_expired"


class PaymentReversed(PaymentError):
    """A payment arrived after the kiosk had given up on it; the channel gives it back."""

    code = 856
    key = "payment_reversed"


class PaymentPending(PaymentError):
    """The bill has an order whose outcome the kiosk is still settling with its channel; no
    second order is opened for it until that one is known."""

    code = 857
    key = "payment_pending"


class BillAlreadyPaid(PaymentError):
    """The bill was paid already (here, or through another order)."""

    code = 858
    key = "bill_already_paid"


class PaymentUnavailable(PaymentError):
    """This kiosk offers no payment channel, or has no way to reach the billers."""

    code = 859
    key = "payment_unavailable"


def all_error_types() -> list[type[HallEdgeError]]:
    """Every error class, root first, for the documentation table and its test."""
    found: list[type[HallEdgeError]] = []
    pending: list[type[HallEdgeError]] = [HallEdgeError]
    while pending:
        cls = pending.pop(0)
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return sorted(found, key=lambda c: c.code)
