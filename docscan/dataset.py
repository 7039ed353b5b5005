"""A folder of frames with ground-truth corners, for the benchmark and for real test sets.

Layout: image files plus ``groundtruth.csv`` in the same folder, one row per image, header
``image,tl_x,tl_y,tr_x,tr_y,br_x,br_y,bl_x,bl_y`` in frame pixels (pixel centres at integer
coordinates, corners of the document as it lies: top-left of the page's own text, clockwise).
Two optional columns ``width_mm,height_mm`` give the document's true size for the metric;
without them the page is taken to be A4. Two more, ``border_hidden`` (the largest share of one side
of the page that something lies over) and ``corner_hidden`` (0/1), say whether a capture must
refuse the frame rather than crop it (:attr:`Sample.covered`); without them nothing is hidden.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from core.errors import DatasetInvalid

CORNER_COLUMNS = ("tl_x", "tl_y", "tr_x", "tr_y", "br_x", "br_y", "bl_x", "bl_y")


@dataclass(frozen=True)
class Sample:
    """One frame: its path, its true quad (tl, tr, br, bl), the document size in mm and how
    much of its border something hides."""

    path: Path
    quad: list[tuple[float, float]]
    size_mm: tuple[float, float]
    border_hidden: float = 0.0
    corner_hidden: bool = False

    @property
    def covered(self) -> bool:
        """Something hides a corner, or more of a side than a capture tolerates
        (:data:`docscan.cover.MAX_RUN`: a fingertip across the margin and nothing else): the
        right outcome is a refusal, ``PageCovered``."""
        from docscan.cover import MAX_RUN

        return self.corner_hidden or self.border_hidden > MAX_RUN


def load(folder: Path) -> list[Sample]:
    """Read ``folder/groundtruth.csv``.

    Raises:
        DatasetInvalid (611): the CSV is missing, lacks a column, has a bad number or names a
            missing image.
    """
    csv_path = Path(folder) / "groundtruth.csv"
    if not csv_path.is_file():
        raise DatasetInvalid(path=str(csv_path), reason="missing")
    samples = []
    with csv_path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"image", *CORNER_COLUMNS} - set(reader.fieldnames or ())
        if missing:
            raise DatasetInvalid(path=str(csv_path), missing=sorted(missing))
        for line, row in enumerate(reader, start=2):
            try:
                values = [float(row[c]) for c in CORNER_COLUMNS]
                size = (float(row.get("width_mm") or 210), float(row.get("height_mm") or 297))
                hidden = float(row.get("border_hidden") or 0)
                corner = bool(int(row.get("corner_hidden") or 0))
            except ValueError as err:
                raise DatasetInvalid(path=str(csv_path), line=line) from err
            image = Path(folder) / row["image"]
            if not image.is_file():
                raise DatasetInvalid(path=str(image), line=line, reason="image missing")
            quad = [(values[i], values[i + 1]) for i in range(0, 8, 2)]
            samples.append(Sample(image, quad, size, hidden, corner))
    return samples
