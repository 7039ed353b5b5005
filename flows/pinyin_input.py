"""Pinyin input for the kiosk's on-screen keyboard: letters in, Simplified Chinese candidates out.

UI-free (the Kivy keyboard is :mod:`kiosk.keyboard`). The words and their weights are Rime's
明月拼音 (luna_pinyin) dictionary, as Debian's ``rime-data-luna-pinyin`` installs it: the
compiled table (``build/luna_pinyin.table.txt``, 350 000 words and phrases weighted by the
preset vocabulary's frequencies) or, without it, the source ``luna_pinyin.dict.yaml``. Rime
keeps traditional characters; OpenCC's ``t2s`` turns each word into Simplified Chinese, and
words that become the same (張 and 张) add their weights.

The table is converted once into an SQLite index under a cache directory (a few seconds, the
first time on a machine); later starts open the index and read only the rows a keystroke
needs, so a kiosk neither waits nor holds the dictionary in memory.

What a citizen can type:

* full pinyin, one syllable or many: ``bei`` → 被 北 …, ``beijing`` → 北京 背景;
* an unfinished last syllable: ``beij`` → 北京;
* initials only (abbreviations): ``bj`` → 比较 北京, ``zgrm`` → 中国人民;
* ``v`` for ü (``lv`` → 绿), ``'`` to split syllables by hand (``xi'an`` → 西安).

Picking a word that covers only the start of the letters keeps the rest for the next pick, as
every pinyin input method does: ``woaibeijing`` → 我爱 → 北京.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import ConfigError

log = logging.getLogger(__name__)

#: Where Debian's rime-data-luna-pinyin puts the dictionary: the compiled table first (it has
#: the phrase frequencies), the source dictionary as a fallback.
RIME_SOURCES = (
    Path("/usr/share/rime-data/build/luna_pinyin.table.txt"),
    Path("/usr/share/rime-data/luna_pinyin.dict.yaml"),
)
#: Bumped when the index's layout changes, so an old cache is rebuilt rather than misread.
INDEX_VERSION = 1
#: Syllables without a vowel (嗯 n, 呣 m, 哼 hng) are interjections; counting them as
#: syllables would make ``nh`` mean 嗯 + h instead of the abbreviation of 你好.
_VOWELS = frozenset("aeiouv")
#: The most candidates a lookup returns; a citizen pages through eight at a time.
MAX_CANDIDATES = 240
#: How many ways to split the letters into syllables are tried (``xian``: xian, xi'an).
MAX_SEGMENTATIONS = 6
#: Letters a citizen may type before picking a word.
MAX_LETTERS = 32
SEPARATOR = "'"


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/hall-edge`` or ``~/.cache/hall-edge``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hall-edge"


@dataclass(frozen=True)
class Candidate:
    """One word a citizen may pick.

    Attributes:
        text: the word, Simplified Chinese.
        letters: how many of the typed letters (separators included) it uses up.
        pinyin: its syllables, space separated (``bei jing``).
    """

    text: str
    letters: int
    pinyin: str


class PinyinDictionary:
    """The luna_pinyin index: candidates for typed letters, best first.

    Open it with :meth:`open`; one instance serves every keyboard of a process and may be used
    from any thread.

    Args:
        connection: the index (read only after it is built).
        syllables: every syllable with a vowel the dictionary uses.
    """

    def __init__(self, connection: sqlite3.Connection, syllables: frozenset[str]) -> None:
        self._db = connection
        self._lock = threading.Lock()
        self.syllables = syllables
        self._prefixes = frozenset(s[:i] for s in syllables for i in range(1, len(s) + 1))

    @classmethod
    def open(cls, source: Path | None = None, cache_dir: Path | None = None) -> PinyinDictionary:
        """Open the index, building it first if the cache has none for this source.

        Args:
            source: a Rime table or ``.dict.yaml``; None takes the first of
                :data:`RIME_SOURCES` that exists.
            cache_dir: where the index is kept; None is :func:`default_cache_dir`.

        Raises:
            ConfigError (100): no dictionary is installed (the message names the package).
        """
        source = source or next((p for p in RIME_SOURCES if p.exists()), None)
        if source is None or not source.exists():
            raise ConfigError(
                "no pinyin dictionary: install the Debian package rime-data-luna-pinyin "
                f"(looked for {', '.join(map(str, RIME_SOURCES))})",
                package="rime-data-luna-pinyin",
            )
        stat = source.stat()
        # The index is named after the source's identity, so a dictionary update is picked up
        # and two kiosks on one machine share one build.
        name = f"pinyin-v{INDEX_VERSION}-{source.stem}-{stat.st_size}-{int(stat.st_mtime)}.sqlite"
        index = (cache_dir or default_cache_dir()) / name
        if not index.exists():
            _build_index(source, index)
        db = sqlite3.connect(f"file:{index}?mode=ro", uri=True, check_same_thread=False)
        syllables = frozenset(row[0] for row in db.execute("SELECT syllable FROM syllables"))
        return cls(db, syllables)

    def close(self) -> None:
        self._db.close()

    # --- lookups --------------------------------------------------------------------------

    def candidates(self, letters: str, limit: int = MAX_CANDIDATES) -> list[Candidate]:
        """The words for ``letters``, best first.

        Words that use up all the letters come first; among them, words whose syllables match
        exactly come before words that match an unfinished syllable or an initial; then the
        more frequent word. Words for the first syllables only follow (``beijing``: 北京, then
        被 北 …), so a citizen can pick a long input word by word.
        """
        letters = letters.lower()[:MAX_LETTERS]
        scored: dict[tuple[str, int], tuple[int, float, int, str]] = {}
        for tokens in self.segmentations(letters):
            for used in range(len(tokens), 0, -1):
                head = tokens[:used]
                consumed = _consumed(letters, head)
                for text, pinyin, weight, inexact in self._matches(head, used == len(tokens)):
                    key = (text, consumed)
                    score = (inexact, -weight, len(scored), pinyin)
                    if key not in scored or score < scored[key]:
                        scored[key] = score
        ranked = sorted(scored.items(), key=lambda kv: (-kv[0][1], kv[1][0], kv[1][1]))
        seen: set[str] = set()
        found: list[Candidate] = []
        for (text, consumed), (_inexact, _w, _n, pinyin) in ranked:
            if text in seen:
                continue
            seen.add(text)
            found.append(Candidate(text, consumed, pinyin))
            if len(found) >= limit:
                break
        return found

    def segmentations(self, letters: str) -> list[tuple[str, ...]]:
        """Ways to read ``letters`` as syllables, the likeliest first.

        A token is a whole syllable or the start of one (an initial, an unfinished syllable).
        Fewer unfinished tokens is likelier, then fewer tokens: ``xian`` is 先 before 西安, and
        ``bj`` can only be initials.
        """
        parts = [p for p in letters.split(SEPARATOR) if p]
        readings: list[tuple[tuple[int, int], tuple[str, ...]]] = [((0, 0), ())]
        for part in parts:
            readings = [
                ((c1 + c2, n1 + n2), t1 + t2)
                for (c1, n1), t1 in readings
                for (c2, n2), t2 in self._split(part)
            ]
            readings.sort()
            readings = readings[:MAX_SEGMENTATIONS]
        return [tokens for _cost, tokens in readings if tokens]

    def _split(self, part: str) -> list[tuple[tuple[int, int], tuple[str, ...]]]:
        # best[i]: the cheapest readings of part[:i]; cost = (unfinished tokens, tokens).
        best: list[list[tuple[tuple[int, int], tuple[str, ...]]]] = [[] for _ in part] + [[]]
        best[0] = [((0, 0), ())]
        for end in range(1, len(part) + 1):
            options = []
            for start in range(max(0, end - 6), end):
                token = part[start:end]
                if token in self.syllables:
                    extra = 0
                elif token in self._prefixes:
                    extra = 1
                else:
                    continue
                for (unfinished, count), tokens in best[start]:
                    options.append(((unfinished + extra, count + 1), (*tokens, token)))
            options.sort()
            best[end] = options[:MAX_SEGMENTATIONS]
        return best[len(part)]

    def _matches(
        self, tokens: tuple[str, ...], last_open: bool
    ) -> Iterator[tuple[str, str, float, int]]:
        """Words whose syllables match ``tokens``: (text, pinyin, weight, unfinished matches).

        A whole syllable matches itself; an unfinished one matches every syllable it starts;
        with ``last_open`` (the citizen may still be typing it) the last token matches any
        syllable it starts, as well as itself.
        """
        initials = "".join(t[0] for t in tokens)
        with self._lock:
            rows = self._db.execute(
                "SELECT text, pinyin, weight FROM words WHERE initials = ? ORDER BY weight DESC",
                (initials,),
            ).fetchall()
        last = len(tokens) - 1
        for text, pinyin, weight in rows:
            syllables = pinyin.split(" ")
            inexact = 0
            for i, (token, syllable) in enumerate(zip(tokens, syllables)):
                if token == syllable:
                    continue
                open_token = token not in self.syllables or (last_open and i == last)
                if not (open_token and syllable.startswith(token)):
                    break
                inexact += 1
            else:
                yield text, pinyin, weight, inexact


def _consumed(letters: str, tokens: Iterable[str]) -> int:
    """How many characters of ``letters`` (separators included) ``tokens`` cover."""
    wanted = "".join(tokens)
    count = taken = 0
    for ch in letters:
        if taken == len(wanted):
            break
        count += 1
        if ch != SEPARATOR:
            taken += 1
    return count


def _read_rime(source: Path) -> Iterator[tuple[str, str, float]]:
    """(word, pinyin, weight) rows of a Rime table or ``.dict.yaml`` (its YAML head skipped)."""
    with source.open(encoding="utf-8") as lines:
        in_body = source.suffix != ".yaml"
        for line in lines:
            if not in_body:
                in_body = line.rstrip() == "..."
                continue
            if line.startswith("#") or "\t" not in line:
                continue
            text, _, rest = line.rstrip("\n").partition("\t")
            pinyin, _, weight = rest.partition("\t")
            if not pinyin or not all(ch.isascii() and (ch.isalpha() or ch == " ") for ch in pinyin):
                continue
            yield text, pinyin, _weight(weight)


def _weight(text: str) -> float:
    """A Rime weight: a count, or a percentage for one reading of a polyphone (``bo 0%``)."""
    text = text.strip()
    try:
        return float(text.rstrip("%")) if text else 0.0
    except ValueError:
        return 0.0


def _build_index(source: Path, index: Path) -> None:
    """Convert the Rime dictionary into the SQLite index at ``index`` (atomically)."""
    import opencc  # only the build needs it

    log.info("building the pinyin index %s from %s", index, source)
    rows = list(_read_rime(source))
    # One conversion call for the whole table: t2s per word would take twenty times longer.
    simplified = opencc.OpenCC("t2s").convert("\n".join(r[0] for r in rows)).split("\n")
    if len(simplified) != len(rows):  # t2s never adds a line break; refuse if it ever did
        simplified = [opencc.OpenCC("t2s").convert(r[0]) for r in rows]
    weights: dict[tuple[str, str], float] = {}
    for (_trad, pinyin, weight), text in zip(rows, simplified):
        weights[(text, pinyin)] = weights.get((text, pinyin), 0.0) + weight
    syllables = {s for _t, p, _w in rows for s in p.split(" ") if _VOWELS & set(s)}
    index.parent.mkdir(parents=True, exist_ok=True)
    partial = index.with_name(f"{index.name}.{os.getpid()}.{threading.get_ident()}.part")
    db = sqlite3.connect(partial)
    try:
        db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
            "CREATE TABLE words (text TEXT, pinyin TEXT, initials TEXT, weight REAL);"
            "CREATE TABLE syllables (syllable TEXT PRIMARY KEY);"
        )
        db.executemany(
            "INSERT INTO words VALUES (?, ?, ?, ?)",
            (
                (text, pinyin, "".join(s[0] for s in pinyin.split(" ")), weight)
                for (text, pinyin), weight in weights.items()
            ),
        )
        db.executemany("INSERT INTO syllables VALUES (?)", ((s,) for s in sorted(syllables)))
        db.execute("CREATE INDEX words_by_initials ON words (initials, weight DESC)")
        db.commit()
    finally:
        db.close()
    # Another kiosk process may have built it meanwhile; either copy is the same.
    partial.replace(index)


_shared: PinyinDictionary | None = None
_shared_lock = threading.Lock()


def shared_dictionary() -> PinyinDictionary:
    """The process's dictionary, opened (and built, the first time on a machine) on first use.

    Call it once from a background thread at start-up so the first keystroke does not wait.
    """
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = PinyinDictionary.open()
        return _shared


def dictionary_if_ready() -> PinyinDictionary | None:
    """The process's dictionary if it is open already, else None (never blocks)."""
    return _shared


_warming: threading.Thread | None = None


def warm_up() -> None:
    """Open the process's dictionary on a thread of its own, once; returns at once.

    The kiosk calls it at start-up; a keyboard calls it too in case nobody did. A failure
    (the package is missing) is logged, and the keyboard goes on without candidates.
    """
    global _warming

    def open_it() -> None:
        try:
            shared_dictionary()
        except ConfigError as err:
            log.error("error %d (%s): %s", err.code, err.key, err)

    with _shared_lock:
        if _warming is not None or _shared is not None:
            return
        _warming = threading.Thread(target=open_it, name="pinyin-dictionary", daemon=True)
    _warming.start()


@dataclass
class PinyinComposer:
    """What a citizen is composing on the pinyin keyboard: the letters typed and the words
    picked so far, before they go into the field.

    Args:
        dictionary: the words.
        page_size: candidates shown at once.

    Attributes:
        letters: everything typed since the last commit.
        picked: the words picked so far, with how many letters each used up.
        page: which page of candidates is shown.
    """

    dictionary: PinyinDictionary | None
    page_size: int = 8
    letters: str = ""
    picked: list[tuple[str, int]] = field(default_factory=list)
    page: int = 0
    _cache: tuple[str, list[Candidate]] | None = None

    @property
    def pending(self) -> str:
        """The letters no picked word covers yet."""
        return self.letters[sum(n for _t, n in self.picked) :]

    @property
    def preedit(self) -> str:
        """What the composing line shows: the picked words, then the letters still open."""
        return "".join(t for t, _n in self.picked) + self.pending

    @property
    def composing(self) -> bool:
        return bool(self.letters)

    def type(self, key: str) -> None:
        """A letter (or ``'``) tapped."""
        if len(self.letters) < MAX_LETTERS and (key.isalpha() or key == SEPARATOR):
            self.letters += key.lower()
            self.page = 0

    def backspace(self) -> bool:
        """Take back the last letter, or the last picked word; False when nothing was left."""
        if not self.letters:
            return False
        if self.picked and not self.pending:
            self.picked.pop()
        else:
            self.letters = self.letters[:-1]
        self.page = 0
        return True

    def candidates(self) -> list[Candidate]:
        """Every candidate for the open letters (cached until they change)."""
        pending = self.pending.strip(SEPARATOR)
        if not pending or self.dictionary is None:
            return []
        if self._cache is None or self._cache[0] != pending:
            self._cache = (pending, self.dictionary.candidates(pending))
        return self._cache[1]

    def shown(self) -> list[Candidate]:
        """The candidates on the current page."""
        start = self.page * self.page_size
        return self.candidates()[start : start + self.page_size]

    def has_next_page(self) -> bool:
        return (self.page + 1) * self.page_size < len(self.candidates())

    def next_page(self) -> None:
        if self.has_next_page():
            self.page += 1

    def previous_page(self) -> None:
        self.page = max(0, self.page - 1)

    def pick(self, position: int) -> str | None:
        """Pick the candidate at ``position`` on the page shown.

        Returns:
            the text to put into the field once the picked words cover every letter, else
            None (the rest of the letters are still open).
        """
        shown = self.shown()
        if not 0 <= position < len(shown):
            return None
        chosen = shown[position]
        # The letters used up count from the open part, separators before it included.
        offset = len(self.pending) - len(self.pending.lstrip(SEPARATOR))
        self.picked.append((chosen.text, chosen.letters + offset))
        self.page = 0
        if self.pending.strip(SEPARATOR):
            return None
        return self.commit_picked()

    def commit_picked(self) -> str:
        """The picked words, ending the composition."""
        text = "".join(t for t, _n in self.picked)
        self.clear()
        return text

    def commit_letters(self) -> str:
        """The picked words and the open letters as typed (a citizen spelling a latin name)."""
        text = self.preedit.replace(SEPARATOR, "")
        self.clear()
        return text

    def clear(self) -> None:
        self.letters, self.picked, self.page = "", [], 0
