"""How many modules wide a QR symbol for some data is, as a printer's firmware would pick it.

Shared by the ticket printer (to choose a module size that fits the paper) and the printer
simulator (to refuse a symbol wider than the paper, as the firmware does). Only the symbol
version matters, so no matrix is built: building one evaluates all eight mask patterns and
costs tens of milliseconds per ticket.
"""

from __future__ import annotations

EC_LEVELS = ("L", "M", "Q", "H")


def qr_modules(data: bytes, ec: str) -> int:
    """Modules per side of the smallest QR symbol holding ``data`` at error correction ``ec``.

    Raises:
        ValueError: ``data`` is too long for any QR version, or ``ec`` is not L/M/Q/H.
    """
    import qrcode  # only layout needs it
    from qrcode.exceptions import DataOverflowError

    levels = {
        "L": qrcode.ERROR_CORRECT_L,
        "M": qrcode.ERROR_CORRECT_M,
        "Q": qrcode.ERROR_CORRECT_Q,
        "H": qrcode.ERROR_CORRECT_H,
    }
    if ec not in levels:
        raise ValueError(f"no QR error correction level {ec!r}")
    symbol = qrcode.QRCode(error_correction=levels[ec], border=0)
    symbol.add_data(data)
    try:
        version = symbol.best_fit()
    except DataOverflowError as err:
        raise ValueError(f"QR payload of {len(data)} bytes is too long") from err
    return version * 4 + 17
