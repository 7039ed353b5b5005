"""High-shot scanner (高拍仪) document capture: find the page, correct it, crop it, whiten it.

One job per module: :mod:`docscan.detect` finds the page quadrilateral, :mod:`docscan.cover`
refuses one whose border is hidden (a hand, a pen, glare), :mod:`docscan.warp`
maps it to a flat rectangle, :mod:`docscan.cleanup` gives the scan look, :mod:`docscan.quality`
judges a frame, :mod:`docscan.pipeline` chains them, :mod:`docscan.metric` scores a detection
(SmartDoc 2015 Jaccard), :mod:`docscan.dataset` reads image folders with ground truth and
:mod:`docscan.copies` lays out ID copies with a watermark. numpy and OpenCV are imported by these
modules, so the kiosk imports this package only when it captures.
"""
