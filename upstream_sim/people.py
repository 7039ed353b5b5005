"""The simulated platform's citizens: fake people with valid-looking ID numbers.

Every domain of the simulated platform (bookings, cases, queries, certificates, subsidies)
draws on the same people, so a tester who taps one ID card finds that citizen's booking, case
and pension record everywhere, as on the real platform. The people are made from a seed:
the same seed gives the same people in every process (a test, the demo, a benchmark).

Nothing here is a real person. ID numbers carry a valid ISO 7064 MOD 11-2 check character
(``protocols.id_card.check_digit``) over real region codes, and names come from common
surnames and given names.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from protocols.id_card import check_digit

#: Region codes (县级) of the simulated province's townships: 北京 东城, 河北 正定, 山东 历城,
#: 浙江 西湖, 四川 武侯, 广东 天河.
REGIONS = ("110101", "130123", "370112", "330106", "510107", "440106")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = (
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建国", "建华", "淑珍", "玉兰", "德明",
    "国强", "志刚", "春梅", "海燕", "文华", "桂兰", "秀珍", "永红", "晓东", "子涵", "宇轩", "欣怡",
)
STREETS = ("人民路", "解放路", "中山路", "建设路", "和平街", "幸福路", "文化路", "新华街")


@dataclass(frozen=True)
class Person:
    """One simulated citizen.

    Attributes:
        id_number: 18 characters, valid check character.
        name: 2–3 Chinese characters.
        birth: the date of birth the ID number encodes.
        sex: ``男`` or ``女`` (the ID number's 17th digit agrees).
        phone: an 11-digit mobile number.
        address: a township address.
    """

    id_number: str
    name: str
    birth: date
    sex: str
    phone: str
    address: str

    def age_on(self, day: date) -> int:
        """Whole years of age on ``day``."""
        before_birthday = (day.month, day.day) < (self.birth.month, self.birth.day)
        return day.year - self.birth.year - before_birthday


def make_people(count: int = 300, seed: int = 20261207, today: date | None = None) -> list[Person]:
    """``count`` people; about one in six is 70 or older (the 高龄补贴 cases).

    Args:
        count: how many.
        seed: the same seed gives the same people.
        today: the day ages are judged on (defaults to the real date).
    """
    rng = random.Random(seed)
    today = today or date.today()
    people: list[Person] = []
    seen: set[str] = set()
    while len(people) < count:
        old = rng.random() < 1 / 6
        age_days = rng.randint(70 * 365 + 20, 95 * 365) if old else rng.randint(18 * 365, 69 * 365)
        birth = today - timedelta(days=age_days)
        region = rng.choice(REGIONS)
        order = rng.randint(0, 99)
        sex_digit = rng.randint(0, 9)
        first17 = f"{region}{birth:%Y%m%d}{order:02d}{sex_digit}"
        id_number = first17 + check_digit(first17)
        if id_number in seen:
            continue
        seen.add(id_number)
        people.append(
            Person(
                id_number=id_number,
                name=rng.choice(SURNAMES) + rng.choice(GIVEN),
                birth=birth,
                sex="男" if sex_digit % 2 else "女",
                phone=f"1{rng.choice('3578')}{rng.randint(0, 999999999):09d}",
                address=f"{rng.choice(STREETS)}{rng.randint(1, 300)}号",
            )
        )
    return people


class People:
    """The people of one simulated platform, found by ID number.

    Args:
        people: from :func:`make_people`.
    """

    def __init__(self, people: list[Person]) -> None:
        self.all = list(people)
        self._by_id = {p.id_number: p for p in people}

    def find(self, id_number: str) -> Person | None:
        """The person with this ID number (any case of ``x``), or None."""
        return self._by_id.get(id_number.strip().upper())

    def aged(self, years: int, day: date) -> list[Person]:
        """Everyone at least ``years`` old on ``day``."""
        return [p for p in self.all if p.age_on(day) >= years]
