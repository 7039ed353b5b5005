"""A test-only kiosk function for the kiosk-wide pieces: 键盘测试.

* :data:`RATING_TILE` is the built-in 服务评价 tile (:class:`flows.kiosk_rating.RatingTileFlow`).
* :data:`FORM` (键盘测试) is a form with the three keyboard layouts; 提交 shows what was
  typed and offers 评价, which hands the citizen to 服务评价 as any function's last step does.

``python -m tests.kiosk_extras <driver options> -- kiosk …`` is the UI driver with 键盘测试
registered in the app's process.
"""

from __future__ import annotations

from flows.kiosk_functions import KioskFunction, built_in

RATING_TILE = built_in("rating")

FORM = KioskFunction(
    id="form_probe",
    title="键盘测试",
    subtitle="仅供自动测试",
    order=1010,
    flow="tests.kiosk_extras.flow:FormProbeFlow",
    screens="tests.kiosk_extras.screens",
    colour="teal",
)

#: The rows a test registers itself (the built-in ones are registered in every process).
EXTRAS = (FORM,)
