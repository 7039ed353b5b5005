"""Personal text (an ID number, a name, a bank card) in a buffer the kiosk owns and overwrites.

CPython never zeroes the memory of a freed ``str``: an ID number held as ``str`` for a whole
visit leaves its bytes in the heap until something else happens to reuse them. A
:class:`PersonalText` keeps the text as UTF-8 in a ``bytearray`` and :meth:`PersonalText.wipe`
overwrites it with zeros, so what a kiosk function holds *across steps* is gone from memory
when the citizen leaves (``docs/privacy.md``, "After the citizen leaves").

What it cannot do: a caller that needs a ``str`` (a request to the platform, a label) gets a
fresh copy from :meth:`PersonalText.reveal`; that copy lives for the step that made it and is
freed, not zeroed. Keep reveals short-lived and never store one.
"""

from __future__ import annotations

from core.privacy import mask_name, mask_number


class PersonalText:
    """One piece of personal text in an owned, wipeable buffer.

    Its ``repr``, ``str`` and ``format`` are masked, so it cannot leak into a log line by
    accident; :meth:`reveal` is the one way to the clear text.

    Args:
        text: the clear text; the caller should drop its own reference soon after.
        kind: ``id_number`` or ``name`` (how :meth:`masked` masks it), else ``text`` (fully
            masked).
    """

    __slots__ = ("_buffer", "kind")

    def __init__(self, text: str = "", kind: str = "text") -> None:
        self._buffer = bytearray(text.encode("utf-8"))
        self.kind = kind

    def reveal(self) -> str:
        """The clear text, as a new ``str`` (freed but not zeroed after use: see the module)."""
        return self._buffer.decode("utf-8")

    def masked(self) -> str:
        """What a screen or a log may show: ``110101********1234``, ``张**``, ``****``."""
        text = self.reveal()
        if self.kind == "id_number":
            return mask_number(text)
        if self.kind == "name":
            return mask_name(text)
        return "*" * len(text)

    def wipe(self) -> None:
        """Overwrite the buffer with zeros and empty it."""
        buffer = self._buffer
        buffer[:] = bytes(len(buffer))  # same length: overwritten in place, never reallocated
        self._buffer = bytearray()

    @property
    def wiped(self) -> bool:
        return not self._buffer

    def __bool__(self) -> bool:
        return bool(self._buffer)

    def __len__(self) -> int:
        return len(self.reveal())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PersonalText):
            return self._buffer == other._buffer
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable: wiping changes it

    def __repr__(self) -> str:
        return f"PersonalText({self.masked()!r})"

    __str__ = masked

    def __format__(self, spec: str) -> str:
        return format(self.masked(), spec)

    def __reduce__(self) -> tuple[object, ...]:
        # Never pickled into a file or a queue in clear.
        raise TypeError("PersonalText is not picklable")


def wipe_all(*texts: PersonalText | None) -> None:
    """Wipe every given text (None is skipped)."""
    for text in texts:
        if text is not None:
            text.wipe()
