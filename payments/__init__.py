"""Payment channels for the kiosk's bill payment (生活缴费): Alipay face-to-face through its
maintained SDK, and the ICBC and CCB channels behind the same interface. Imports only
:mod:`core`; ``docs/payments.md`` describes the channels and ``upstream_sim`` simulates them.
"""
