"""The 便民查询 the kiosk offers, as data: one :class:`QuerySpec` per query.

Seed 004's table lists 22 rows; rows 16 and 17 repeat rows 2 and 3, row 20 is 高龄补贴认证
(:mod:`flows.elderly_subsidy`), row 21 is 养老缴费凭证打印 (:mod:`flows.certificates`) and row 22,
社会保障卡挂失/解挂, changes state and is a confirmed transaction of its own
(:mod:`flows.convenience_queries`). That leaves the 17 below (``docs/convenience-queries.md``).

A spec says what the citizen must give (their identity, and any further fields), which
platform query answers (``/queries/<path>``), how to lay the answer out (labelled fields, a
table of records), and whether the platform can issue the answer as a printable document.
Adding a query is adding a row here; :mod:`flows.convenience_queries` and its screens draw any
spec.
"""

from __future__ import annotations

from dataclasses import dataclass

from flows import form_fields
from flows.form_fields import TextField

#: How a value is shown: as sent; fen as yuan (``1,234.56元``); an ISO date as 2026年11月23日;
#: ``YYYY-MM`` as 2026年10月; a number with a unit (``unit``).
FORMATS = ("text", "fen", "date", "month", "number")


@dataclass(frozen=True)
class Shown:
    """One value of an answer: its key in the platform's answer, its label, its format."""

    key: str
    label: str
    format: str = "text"
    unit: str = ""

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"{self.key}: format {self.format!r} not one of {FORMATS}")


@dataclass(frozen=True)
class TableSpec:
    """The answer's list of records (``records``) as a table."""

    title: str
    columns: tuple[Shown, ...]
    key: str = "records"


@dataclass(frozen=True)
class QuerySpec:
    """One convenience query.

    Attributes:
        id: stable id, in journal events (``item``) and ``ui_id``s.
        title: the tile's and result's title.
        department: who answers (对接部门), shown under the title.
        seed_rows: the rows of seed 004's table it answers.
        path: the platform query, ``/queries/<path>``.
        citizen: the citizen identifies (ID card or typed number); sent as ``id_number``.
        inputs: further fields the citizen types, each sent under its key.
        fields: the answer's labelled values, top to bottom.
        table: the answer's records, or None.
        printable: the platform issues the answer as a document the kiosk prints.
    """

    id: str
    title: str
    department: str
    seed_rows: tuple[int, ...]
    path: str
    fields: tuple[Shown, ...]
    table: TableSpec | None = None
    printable: bool = False
    citizen: bool = True
    inputs: tuple[TextField, ...] = ()


_MONTHS = TableSpec(
    "缴费明细（近12个月）",
    (
        Shown("month", "费款所属期", "month"),
        Shown("base_fen", "缴费基数", "fen"),
        Shown("personal_fen", "个人缴费", "fen"),
        Shown("unit_fen", "单位缴费", "fen"),
        Shown("state", "状态"),
    ),
)
_INSURED = (
    Shown("insured_state", "参保状态"),
    Shown("employer", "参保单位"),
    Shown("first_insured", "首次参保", "month"),
)

QUERIES: tuple[QuerySpec, ...] = (
    QuerySpec(
        "school_records", "中小学生学籍信息查询", "教育厅", (1,), "school-records",
        fields=(Shown("student_name", "学生姓名"), Shown("school", "就读学校"),
                Shown("grade", "年级"), Shown("klass", "班级"), Shown("student_no", "全国学籍号"),
                Shown("enrolled_on", "入学日期", "date"), Shown("status", "学籍状态")),
        citizen=False,
        inputs=(
            TextField("student_id_number", "学生身份证号", ("id_number",), form_fields.id_number,
                      hint="请输入学生的18位身份证号", max_length=18),
            TextField("student_name", "学生姓名", ("pinyin",), form_fields.chinese_name,
                      hint="请输入学生姓名", max_length=20),
        ),
    ),
    QuerySpec(
        "work_injury_contributions", "工伤保险缴费信息查询", "人社厅", (2, 16),
        "work-injury-contributions", fields=_INSURED, table=_MONTHS, printable=True,
    ),
    QuerySpec(
        "unemployment_contributions", "失业保险缴费信息查询", "人社厅", (3, 17),
        "unemployment-contributions", fields=_INSURED, table=_MONTHS, printable=True,
    ),
    QuerySpec(
        "driving_licence_points", "驾驶证记分查询", "公安厅", (4,), "driving-licence-points",
        fields=(Shown("licence_class", "准驾车型"), Shown("licence_state", "驾驶证状态"),
                Shown("valid_to", "有效期至", "date"), Shown("cycle", "记分周期"),
                Shown("points", "累积记分", "number", "分")),
        table=TableSpec("记分明细", (Shown("date", "日期", "date"), Shown("place", "地点"),
                                     Shown("behaviour", "违法行为"), Shown("points", "记分", "number", "分"))),
    ),
    QuerySpec(
        "pension_account", "职工个人账户明细查询", "人社厅", (5,), "pension-account",
        fields=(Shown("account_state", "账户状态"), Shown("months_total", "累计缴费", "number", "个月"),
                Shown("balance_fen", "账户累计储存额", "fen")),
        table=TableSpec("个人账户明细", (Shown("year", "年度"), Shown("months", "月数", "number", "个月"),
                                        Shown("personal_fen", "个人缴费", "fen"),
                                        Shown("interest_fen", "利息", "fen"),
                                        Shown("balance_fen", "年末累计", "fen"))),
        printable=True,
    ),
    QuerySpec(
        "contribution_years", "职工个人缴费年限记录查询", "人社厅", (6,), "contribution-years",
        fields=(Shown("first_insured", "首次参保", "month"), Shown("total_years", "累计缴费年限"),
                Shown("actual_months", "实际缴费", "number", "个月"),
                Shown("deemed_months", "视同缴费", "number", "个月")),
        table=TableSpec("缴费记录", (Shown("from", "起始年月", "month"), Shown("to", "终止年月", "month"),
                                    Shown("employer", "缴费单位"), Shown("months", "月数", "number", "个月"))),
        printable=True,
    ),
    QuerySpec(
        "id_card_progress", "身份证制证进度查询", "公安厅", (7,), "id-card-progress",
        fields=(Shown("stage", "当前进度"), Shown("accepted_on", "受理日期", "date"),
                Shown("kind", "办理类型"), Shown("office", "受理单位"), Shown("pickup", "领取地点")),
        table=TableSpec("办理过程", (Shown("date", "日期", "date"), Shown("step", "环节"),
                                    Shown("detail", "说明"))),
    ),
    QuerySpec(
        "housing_fund_account", "公积金个人信息查询", "人社厅", (8,), "housing-fund-account",
        fields=(Shown("account_no", "个人账号"), Shown("employer", "缴存单位"),
                Shown("account_state", "账户状态"), Shown("base_fen", "缴存基数", "fen"),
                Shown("monthly_fen", "月缴存额", "fen"), Shown("balance_fen", "账户余额", "fen"),
                Shown("paid_to", "缴至年月", "month"), Shown("opened_on", "开户日期", "date")),
        printable=True,
    ),
    QuerySpec(
        "medical_expenses", "医疗生育保险医疗费用明细信息", "医保局", (9,), "medical-expenses",
        fields=(Shown("insurance", "参保险种"), Shown("visits", "近一年就医", "number", "次"),
                Shown("total_fen", "医疗费用合计", "fen"), Shown("fund_fen", "统筹支付合计", "fen")),
        table=TableSpec("费用明细（近一年）", (Shown("date", "日期", "date"), Shown("hospital", "医疗机构"),
                                              Shown("kind", "类别"), Shown("total_fen", "总费用", "fen"),
                                              Shown("fund_fen", "统筹支付", "fen"),
                                              Shown("self_fen", "个人支付", "fen"))),
    ),
    QuerySpec(
        "house_contracts", "房产合同交易查询", "不动产", (10,), "house-contracts",
        fields=(Shown("contract_no", "合同备案号"), Shown("project", "项目名称"),
                Shown("address", "房屋坐落"), Shown("area_m2", "建筑面积", "number", "平方米"),
                Shown("price_fen", "合同总价", "fen"), Shown("signed_on", "签约日期", "date"),
                Shown("filing_state", "备案状态")),
        inputs=(
            TextField("contract_no", "合同备案号", ("code",),
                      form_fields.pattern(r"[A-Z]{3}\d{4}YS\d{6}"),
                      hint="例：GEM2024YS000123（见合同首页）", max_length=15),
        ),
    ),
    QuerySpec(
        "medical_contributions", "医疗生育保险缴费信息查询", "医保局", (11,), "medical-contributions",
        fields=(Shown("insurance", "参保险种"), Shown("insured_state", "参保状态")),
        table=TableSpec("缴费明细", (Shown("period", "费款所属期"), Shown("base_fen", "缴费基数", "fen"),
                                    Shown("personal_fen", "个人缴费", "fen"),
                                    Shown("unit_fen", "单位缴费", "fen"), Shown("state", "状态"))),
        printable=True,
    ),
    QuerySpec(
        "medical_insured_types", "医疗生育保险参保险种信息查询", "医保局", (12,), "medical-insured-types",
        fields=(Shown("insurance_count", "参保险种", "number", "种"),),
        table=TableSpec("参保险种", (Shown("kind", "险种"), Shown("state", "参保状态"),
                                    Shown("since", "参保年月", "month"), Shown("unit", "参保单位"))),
    ),
    QuerySpec(
        "housing_fund_ledger", "公积金明细账", "人社厅", (13,), "housing-fund-ledger",
        fields=(Shown("account_no", "个人账号"), Shown("balance_fen", "账户余额", "fen")),
        table=TableSpec("明细账（近12个月）", (Shown("date", "日期", "date"), Shown("summary", "摘要"),
                                              Shown("amount_fen", "发生额", "fen"),
                                              Shown("balance_fen", "余额", "fen"))),
        printable=True,
    ),
    QuerySpec(
        "housing_fund_repayments", "公积金个人还款明细查询", "人社厅", (14,), "housing-fund-repayments",
        fields=(Shown("loan_fen", "贷款金额", "fen"), Shown("loan_left_fen", "贷款余额", "fen"),
                Shown("loan_months", "贷款期限", "number", "个月"), Shown("method", "还款方式"),
                Shown("monthly_fen", "月还款额", "fen"), Shown("loan_start", "放款日期", "date")),
        table=TableSpec("还款明细（近12期）", (Shown("date", "还款日期", "date"),
                                              Shown("principal_fen", "本金", "fen"),
                                              Shown("interest_fen", "利息", "fen"),
                                              Shown("paid_fen", "实还金额", "fen"), Shown("state", "状态"))),
    ),
    QuerySpec(
        "resident_pension", "城乡居民养老保险参保信息查询", "人社厅", (15,), "resident-pension",
        fields=(Shown("insured_state", "参保状态"), Shown("enrolled_on", "参保年月", "month"),
                Shown("tier_fen", "缴费档次", "fen"), Shown("years_paid", "累计缴费", "number", "年"),
                Shown("account_fen", "个人账户余额", "fen"),
                Shown("monthly_pension_fen", "月养老金", "fen")),
        printable=True,
    ),
    QuerySpec(
        "employment_certificate", "创业就业证查询打印", "人社厅", (18,), "employment-certificate",
        fields=(Shown("card_no", "就业创业证号"), Shown("issuer", "发证机构"),
                Shown("issued_on", "发证日期", "date"), Shown("employment_state", "就业状态"),
                Shown("employer", "就业单位")),
        printable=True,
    ),
    QuerySpec(
        "remote_loan_fund_certificate", "异地贷款职工住房公积金缴存使用证明打印", "人社厅", (19,),
        "remote-loan-fund-certificate",
        fields=(Shown("account_no", "个人账号"), Shown("employer", "缴存单位"),
                Shown("opened_on", "开户日期", "date"), Shown("account_state", "缴存状态"),
                Shown("monthly_fen", "月缴存额", "fen"), Shown("balance_fen", "账户余额", "fen"),
                Shown("paid_to", "缴至年月", "month"), Shown("loan_used", "使用过公积金贷款"),
                Shown("loan_open", "未结清公积金贷款")),
        printable=True,
    ),
)  # fmt: skip

#: Seed 004's rows that are not one of :data:`QUERIES`, and why.
NOT_QUERIES = {
    16: "repeats row 2 (工伤保险缴费信息查询)",
    17: "repeats row 3 (失业保险缴费信息查询)",
    20: "高龄补贴认证: its own kiosk function, elderly_subsidy",
    21: "养老缴费凭证打印: the certificates function, certificates",
    22: "社会保障卡挂失、解挂: a confirmed transaction of convenience_queries, not a query",
}


def query(query_id: str) -> QuerySpec:
    """The spec with this id.

    Raises:
        KeyError: no such query.
    """
    for spec in QUERIES:
        if spec.id == query_id:
            return spec
    raise KeyError(query_id)
