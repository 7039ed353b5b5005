"""What a second-generation ID card read says: the decoded card, its four text layouts, masking.

The reader returns a 256-byte text block in UCS-2 little-endian, padded with spaces; the
character at byte 248 says which layout it is (reference §1.7): ``' '`` resident ID card,
``'J'`` Hong Kong/Macao/Taiwan residence permit, ``'I'`` foreigner permanent residence card
(old), ``'Y'`` foreigner permanent residence card (2023). Each layout is a table of
``(field, offset, size)``, so decoding and the simulator's encoding read the same table.

The 2023 foreigner card's middle fields are disputed between two SDKs (reference §1.7, §7): only
the offsets both agree on are decoded; the disputed spans are kept as raw bytes in
:attr:`IdCard.raw_fields`, keyed by ``"offset:size"``.

Personal data never leaves through ``repr``/``str``: they show the kind, a masked name and a
masked number; :meth:`IdCard.masked` is the dict for logs and events.
"""

from __future__ import annotations

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
        english_name: foreigner cards (2023: characters 1–35 only).
        nationality: foreigner cards, GB/T 2659 three-letter code.
        pass_number: 港澳台 permit: 通行证号码.
        issue_count: 港澳台 permit: 签发次数.
        card_version: old foreigner card: 证件版本号.
        authority_code: old foreigner card: 当次申请受理机关代码.
        raw_fields: spans whose meaning is disputed, ``"offset:size"`` → bytes.
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


def encode_card(card: IdCard) -> bytes:
    """The 256-byte text block a card of this content carries (the simulator's side).

    Raises:
        ValueError: a field does not fit its slot (a test-data error).
    """
    block = bytearray(" ".encode("utf-16-le") * (TEXT_LEN // 2))
    for name, offset, size in LAYOUTS[card.kind]:
        value = getattr(card, name)
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
    block[FLAG_OFFSET : FLAG_OFFSET + 2] = FLAG_OF[card.kind].encode("utf-16-le")
    return bytes(block)


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
