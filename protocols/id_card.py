"""What a second-generation ID card read says: the decoded card, its four text layouts, masking.

The reader returns a 256-byte text block in UCS-2 little-endian, padded with spaces; the
character at byte 248 says which layout it is (reference §1.7): ``' '`` resident ID card,
``'J'`` Hong Kong/Macao/Taiwan residence permit, ``'I'`` foreigner permanent residence card
(old), ``'Y'`` foreigner permanent residence card (2023). Each layout is a table of
``(field, offset, size)``, so decoding and the simulator's encoding read the same table.

The 2023 foreigner card's middle fields are disputed between two published layouts (reference
§1.7, §7). The offsets both agree on are always decoded, and the disputed spans are always kept
as raw bytes in :attr:`IdCard.raw_fields`, keyed by ``"offset:size"``. The span at 220 is then
read per card (:func:`resolve_foreigner_2023`): a card whose span holds Latin name text after a
full first name span continues its English name there (characters 36–46, [H4]); one whose span
holds a number and an issue count follows [H5]. :attr:`IdCard.layout` says which was used.

Personal data never leaves through ``repr``/``str``: they show the kind, a masked name and a
masked number; :meth:`IdCard.masked` is the dict for logs and events.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from enum import Enum

from core.errors import CardReadFailed, UnsupportedCard
from core.privacy import mask_name, mask_number

#: Bytes of the text block and of the WLT photo in a read answer (reference §1.6).
TEXT_LEN, PHOTO_LEN = 256, 1024
#: Where the card-type character sits in the text block.
FLAG_OFFSET = 248
#: What the valid-to field holds for a card that does not expire.
LONG_TERM = "长期"

#: A photo decoder: WLT bytes in, an image (a 102×126 BMP from vendor libraries) out.
PhotoDecoder = Callable[[bytes], bytes]


class CardKind(str, Enum):
    """The card layouts, by the type character at text offset 248."""

    RESIDENT = "resident"
    HK_MACAO_TAIWAN = "hk_macao_taiwan"
    FOREIGNER = "foreigner"
    FOREIGNER_2023 = "foreigner_2023"


class Foreigner2023Layout(str, Enum):
    """How one 2023 foreigner card fills its disputed spans (reference §1.7 [CONFLICT]).

    Attributes:
        AGREED: the span at 220 is blank: the name fits 35 characters and nothing disputed
            is used; both sources read such a card the same way.
        NAME_CONTINUES: [H4] ``Johann356/readinfo: PCSCGetData.h`` struct
            ``t_idforeigner2023``: 220 (22 bytes) holds English name characters 36–46.
        PASS_NUMBER: [H5] the yzfuture ``readCardInfo`` SDK struct ``ForeignerInfoNew``:
            220 (18) 通行证类号码, 238 (4) 签发次数, 158 (30) 签发机关.
        UNREADABLE: the span fits neither reading; only the agreed fields are decoded.
    """

    AGREED = "agreed"
    NAME_CONTINUES = "h4_readinfo"
    PASS_NUMBER = "h5_yzfuture"
    UNREADABLE = "unreadable"


#: Type character → layout.
FLAGS: dict[str, CardKind] = {
    " ": CardKind.RESIDENT,
    "J": CardKind.HK_MACAO_TAIWAN,
    "I": CardKind.FOREIGNER,
    "Y": CardKind.FOREIGNER_2023,
}
FLAG_OF = {kind: flag for flag, kind in FLAGS.items()}

_COMMON_RESIDENT = (
    ("name", 0, 30),
    ("sex_code", 30, 2),
    ("birth", 36, 16),
    ("address", 52, 70),
    ("id_number", 122, 36),
    ("issuer", 158, 30),
    ("valid_from", 188, 16),
    ("valid_to", 204, 16),
)

#: Decoded fields per layout: (field, byte offset, byte size) in the text block.
LAYOUTS: dict[CardKind, tuple[tuple[str, int, int], ...]] = {
    CardKind.RESIDENT: (*_COMMON_RESIDENT, ("nation_code", 32, 4)),
    # The nation slot is reserved on the permit (reference §1.7).
    CardKind.HK_MACAO_TAIWAN: (
        *_COMMON_RESIDENT,
        ("pass_number", 220, 18),
        ("issue_count", 238, 4),
    ),
    CardKind.FOREIGNER: (
        ("english_name", 0, 120),
        ("sex_code", 120, 2),
        ("id_number", 122, 30),
        ("nationality", 152, 6),
        ("name", 158, 30),
        ("valid_from", 188, 16),
        ("valid_to", 204, 16),
        ("birth", 220, 16),
        ("card_version", 236, 4),
        ("authority_code", 240, 8),
    ),
    # Only the offsets both published layouts agree on.
    CardKind.FOREIGNER_2023: (
        ("name", 0, 30),
        ("sex_code", 30, 2),
        ("birth", 36, 16),
        ("english_name", 52, 70),
        ("id_number", 122, 36),
        ("valid_from", 188, 16),
        ("valid_to", 204, 16),
        ("nationality", 242, 6),
    ),
}

#: Spans kept raw because the sources disagree on them (2023 foreigner card, reference §1.7):
#: 32 换证次数 or 民族; 158 reserved or 签发机关; 220 English name 36–46 or 通行证号码 + 签发次数;
#: 250 the link to a previous card's number.
RAW_SPANS: dict[CardKind, tuple[tuple[int, int], ...]] = {
    CardKind.FOREIGNER_2023: ((32, 4), (158, 30), (220, 22), (250, 6)),
}

#: Characters of the first English name span (52, 70 bytes) and of its continuation at 220
#: (22 bytes) under [H4].
NAME_HEAD_CHARS, NAME_TAIL_CHARS = 35, 11
#: What a Machine Readable Zone name may hold once printed on the card: upper-case Latin
#: letters, with space, comma, hyphen, apostrophe and full stop between the parts. No digits:
#: that is what tells a name continuation from [H5]'s pass number.
_LATIN_NAME = re.compile(r"[A-Z][A-Z ,.'\-]*")
#: [H5]'s 通行证类号码: letters and digits, at least one digit; its 签发次数: two digits.
_PASS_NUMBER = re.compile(r"[A-Z0-9]*[0-9][A-Z0-9]*")
_ISSUE_COUNT = re.compile(r"[0-9]{2}")

#: 性别 codes (GB/T 2261.1).
SEXES = {"0": "未知", "1": "男", "2": "女", "9": "未说明"}

#: 民族 codes as stored on the card (GB 3304 order, reference §1.8).
_NATION_NAMES = [
    "汉",
    "蒙古",
    "回",
    "藏",
    "维吾尔",
    "苗",
    "彝",
    "壮",
    "布依",
    "朝鲜",
    "满",
    "侗",
    "瑶",
    "白",
    "土家",
    "哈尼",
    "哈萨克",
    "傣",
    "黎",
    "傈僳",
    "佤",
    "畲",
    "高山",
    "拉祜",
    "水",
    "东乡",
    "纳西",
    "景颇",
    "柯尔克孜",
    "土",
    "达斡尔",
    "仫佬",
    "羌",
    "布朗",
    "撒拉",
    "毛南",
    "仡佬",
    "锡伯",
    "阿昌",
    "普米",
    "塔吉克",
    "怒",
    "乌孜别克",
    "俄罗斯",
    "鄂温克",
    "德昂",
    "保安",
    "裕固",
    "京",
    "塔塔尔",
    "独龙",
    "鄂伦春",
    "赫哲",
    "门巴",
    "珞巴",
    "基诺",
]
NATIONS: dict[str, str] = {
    **{f"{code:02d}": name for code, name in enumerate(_NATION_NAMES, start=1)},
    "97": "其他",
    "98": "外国血统中国籍人士",
}

_DATE_FIELDS = ("birth", "valid_from", "valid_to")


@dataclass(frozen=True, repr=False, eq=True)
class IdCard:
    """One card as read. Text fields are stripped of padding; absent ones are ``""``.

    Attributes:
        kind: the layout.
        name: 姓名 (Chinese name; for foreigners the Chinese name, possibly empty).
        sex_code: ``1`` 男, ``2`` 女, ``0`` 未知, ``9`` 未说明.
        birth: 出生日期.
        id_number: 公民身份号码, 居住证 number, or 永久居留身份证 number.
        valid_from: first day of validity.
        valid_to: last day of validity; None when the card is 长期 (long term).
        address: 住址 (resident ID and 港澳台 permit).
        issuer: 签发机关 (resident ID and 港澳台 permit).
        nation_code: 民族 code (resident ID only), see :data:`NATIONS`.
        english_name: foreigner cards; on a 2023 card, characters 36–46 too when the card
            continues its name at 220 (:class:`Foreigner2023Layout`).
        nationality: foreigner cards, GB/T 2659 three-letter code.
        pass_number: 港澳台 permit: 通行证号码 (and a 2023 foreigner card read per [H5]).
        issue_count: 港澳台 permit: 签发次数 (and a 2023 foreigner card read per [H5]).
        card_version: old foreigner card: 证件版本号.
        authority_code: old foreigner card: 当次申请受理机关代码.
        raw_fields: spans whose meaning is disputed, ``"offset:size"`` → bytes.
        layout: 2023 foreigner cards: which reading of the disputed spans this card follows
            (decoding sets it; the simulator's encoder writes that variant); None otherwise.
        photo: the WLT photo as read (opaque; 1024 bytes).
        photo_image: the photo as decoded by a pluggable decoder, None without one.
        fingerprint: fingerprint templates when read with ``30 10`` (opaque), else empty.
    """

    kind: CardKind
    name: str
    sex_code: str
    birth: date
    id_number: str
    valid_from: date
    valid_to: date | None
    address: str = ""
    issuer: str = ""
    nation_code: str = ""
    english_name: str = ""
    nationality: str = ""
    pass_number: str = ""
    issue_count: str = ""
    card_version: str = ""
    authority_code: str = ""
    raw_fields: dict[str, bytes] = field(default_factory=dict)
    layout: Foreigner2023Layout | None = None
    photo: bytes = b""
    photo_image: bytes | None = None
    fingerprint: bytes = b""

    @property
    def sex(self) -> str:
        """性别 in Chinese."""
        return SEXES.get(self.sex_code, "未说明")

    @property
    def nation(self) -> str:
        """民族 in Chinese, ``""`` for cards without one."""
        return NATIONS.get(self.nation_code, "")

    @property
    def long_term(self) -> bool:
        return self.valid_to is None

    def valid_on(self, day: date) -> bool:
        """True when the card is valid on ``day``."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def masked(self) -> dict[str, str]:
        """What logs and events may carry about this card: no full name, no full number."""
        return {
            "kind": self.kind.value,
            "name": mask_name(self.name or self.english_name),
            "id_number": mask_number(self.id_number),
        }

    def __repr__(self) -> str:
        m = self.masked()
        return f"IdCard(kind={m['kind']}, name={m['name']!r}, id_number={m['id_number']!r})"

    __str__ = __repr__


def check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of an 18-character ID number."""
    total = sum(int(c) * (2 ** (17 - i) % 11) for i, c in enumerate(first17))
    return "10X98765432"[total % 11]


def decode_card(
    text: bytes,
    photo: bytes = b"",
    fingerprint: bytes = b"",
    photo_decoder: PhotoDecoder | None = None,
) -> IdCard:
    """Decode a read answer's text block.

    Args:
        text: the 256-byte text block.
        photo: the WLT photo bytes, kept opaque.
        fingerprint: fingerprint bytes, kept opaque.
        photo_decoder: turns the WLT photo into an image; its failure leaves ``photo_image``
            None (a photo the kiosk cannot show must not stop the citizen).

    Returns:
        The card.

    Raises:
        UnsupportedCard (326): the type character is not one of the four layouts.
        CardReadFailed (324): the block is not 256 bytes of UCS-2, or a date is not a date.
    """
    if len(text) != TEXT_LEN:
        raise CardReadFailed(f"text block of {len(text)} bytes", reason="bad_text")
    flag = _field(text, FLAG_OFFSET, 2, strip=False)
    if flag not in FLAGS:
        raise UnsupportedCard(f"card type flag {flag!r}", flag=text[248:250].hex())
    kind = FLAGS[flag]
    values: dict[str, object] = {}
    for name, offset, size in LAYOUTS[kind]:
        values[name] = _field(text, offset, size)
    if kind is CardKind.FOREIGNER_2023:
        values["raw_fields"] = {
            f"{offset}:{size}": bytes(text[offset : offset + size])
            for offset, size in RAW_SPANS[kind]
        }
        values.update(resolve_foreigner_2023(text))
    for name in _DATE_FIELDS:
        values[name] = _date(str(values[name]), allow_long_term=name == "valid_to")
    image = None
    if photo_decoder is not None and photo:
        try:
            image = photo_decoder(photo)
        except Exception:  # noqa: BLE001 - a vendor decoder's failure only costs the picture
            image = None
    return IdCard(
        kind=kind,
        photo=bytes(photo),
        photo_image=image,
        fingerprint=bytes(fingerprint),
        **values,  # type: ignore[arg-type]
    )


def resolve_foreigner_2023(text: bytes) -> dict[str, object]:
    """Read a 2023 foreigner card's disputed spans the way this card fills them.

    The two published layouts (reference §1.7) cannot both be right for one card, and nothing
    on the card says which its issuer followed, so the bytes decide. Only [H4] puts Latin name
    text at 220, and only after the first name span is full (a name continues only when it
    runs past 35 characters); only [H5] puts a number with digits there, followed by a
    two-digit issue count at 238. A blank span needs neither. Anything else is left raw.

    Returns:
        the decoded fields to add: ``layout`` always; ``english_name`` (all of it) under
        [H4]; ``pass_number``, ``issue_count`` and ``issuer`` under [H5].

    Raises:
        CardReadFailed (324): the text is not UCS-2.
    """
    tail = _field(text, 220, 2 * NAME_TAIL_CHARS)
    if not tail.strip():
        return {"layout": Foreigner2023Layout.AGREED}
    head = _field(text, 52, 2 * NAME_HEAD_CHARS, strip=False)
    # The 35th character may be a space between two name parts, so "full" allows one.
    head_full = len(head.rstrip(" \x00")) >= NAME_HEAD_CHARS - 1
    if head_full and _LATIN_NAME.fullmatch(tail.strip()):
        # Joined unstripped: a name broken at a space keeps that space.
        return {
            "layout": Foreigner2023Layout.NAME_CONTINUES,
            "english_name": (head + tail).rstrip(" \x00"),
        }
    pass_number = _field(text, 220, 18).strip()
    issue_count = _field(text, 238, 4).strip()
    if _PASS_NUMBER.fullmatch(pass_number) and (
        not issue_count or _ISSUE_COUNT.fullmatch(issue_count)
    ):
        return {
            "layout": Foreigner2023Layout.PASS_NUMBER,
            "pass_number": pass_number,
            "issue_count": issue_count,
            "issuer": _field(text, 158, 30).strip(),
        }
    return {"layout": Foreigner2023Layout.UNREADABLE}


def encode_card(card: IdCard) -> bytes:
    """The 256-byte text block a card of this content carries (the simulator's side).

    A 2023 foreigner card is written in the variant its :attr:`IdCard.layout` names: its
    English name split at 35 characters ([H4]), or its pass number, issue count and issuer in
    [H5]'s places; without a layout (or ``AGREED``) the name must fit 35 characters.

    Raises:
        ValueError: a field does not fit its slot (a test-data error).
    """
    block = bytearray(" ".encode("utf-16-le") * (TEXT_LEN // 2))
    disputed = _disputed_fields(card)
    for name, offset, size in LAYOUTS[card.kind]:
        value = disputed.pop(name) if name in disputed else getattr(card, name)
        if isinstance(value, date):
            value = value.strftime("%Y%m%d")
        elif value is None:
            value = LONG_TERM
        raw = str(value).encode("utf-16-le")
        if len(raw) > size:
            raise ValueError(f"{name}={value!r} does not fit {size} bytes")
        block[offset : offset + len(raw)] = raw
    for key, raw in card.raw_fields.items():
        offset, size = (int(part) for part in key.split(":"))
        block[offset : offset + size] = raw[:size].ljust(size, b" ")
    for (offset, size), value in disputed.items():
        _put(block, f"{offset}:{size}", str(value), offset, size)
    block[FLAG_OFFSET : FLAG_OFFSET + 2] = FLAG_OF[card.kind].encode("utf-16-le")
    return bytes(block)


def _disputed_fields(card: IdCard) -> dict[str | tuple[int, int], str]:
    """What a 2023 foreigner card's variant writes beyond the agreed layout: ``english_name``
    (its first 35 characters, for the agreed slot) and ``(offset, size)`` → text."""
    if card.kind is not CardKind.FOREIGNER_2023:
        return {}
    if card.layout is Foreigner2023Layout.NAME_CONTINUES:
        name = card.english_name
        if len(name) <= NAME_HEAD_CHARS or len(name) > NAME_HEAD_CHARS + NAME_TAIL_CHARS:
            raise ValueError(f"a continued English name has 36–46 characters, not {len(name)}")
        return {"english_name": name[:NAME_HEAD_CHARS], (220, 22): name[NAME_HEAD_CHARS:]}
    if card.layout is Foreigner2023Layout.PASS_NUMBER:
        return {(158, 30): card.issuer, (220, 18): card.pass_number, (238, 4): card.issue_count}
    return {}


def _put(block: bytearray, name: str, value: str, offset: int, size: int) -> None:
    raw = value.encode("utf-16-le")
    if len(raw) > size:
        raise ValueError(f"{name}={value!r} does not fit {size} bytes")
    block[offset : offset + size] = raw + " ".encode("utf-16-le") * ((size - len(raw)) // 2)


def _field(text: bytes, offset: int, size: int, strip: bool = True) -> str:
    try:
        value = text[offset : offset + size].decode("utf-16-le")
    except UnicodeDecodeError as err:
        raise CardReadFailed(
            f"text at {offset} is not UCS-2", reason="bad_text", offset=offset
        ) from err
    return value.rstrip(" \x00") if strip else value


def _date(value: str, allow_long_term: bool) -> date | None:
    if allow_long_term and value == LONG_TERM:
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except ValueError as err:
        raise CardReadFailed(f"{value!r} is not a date", reason="bad_text") from err
