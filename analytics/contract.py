"""The data contract: the canonical tables the app reads, declared once.

The DuckDB DDL (`ddl`), row validation (`check_frame`) and `docs/data-contract.md`
(`markdown`) are all derived from the records below, so they cannot drift apart.
Column names are English snake_case; labels, grains and descriptions are given in Chinese and English
(the generated docs use the English; the app shows the reader's language).
"""
from __future__ import annotations

from dataclasses import dataclass, field

# contract type -> DuckDB type
SQL_TYPES = {
    "text": "VARCHAR",
    "int": "BIGINT",
    "float": "DOUBLE",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "bool": "BOOLEAN",
    "text_list": "VARCHAR[]",
}


@dataclass(frozen=True)
class Choice:
    """One allowed value of an enumerated column, with its labels."""

    value: str
    zh: str
    en: str


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str
    zh: str
    en: str
    description: str
    required: bool = False
    choices: tuple[Choice, ...] = ()
    min_value: float | None = None
    max_value: float | None = None
    pattern: str | None = None  # a regular expression the whole text value must match
    description_zh: str = ""  # the description in Chinese, for the app; docs/data-contract.md stays English

    @property
    def allowed(self) -> tuple[str, ...]:
        return tuple(c.value for c in self.choices)

    def description_in(self, lang: str) -> str:
        """The description in `lang` ("zh" or "en"); English when there is no Chinese text."""
        return (self.description_zh or self.description) if lang == "zh" else self.description


@dataclass(frozen=True)
class Reference:
    column: str
    table: str
    target: str


@dataclass(frozen=True)
class Order:
    """`earlier` must not be after `later` when both are set."""

    earlier: str
    later: str

    def __str__(self) -> str:
        return f"{self.earlier} ≤ {self.later}"


@dataclass(frozen=True)
class RequiredWhen:
    """`column` must be set when `status_column` equals `value`."""

    column: str
    status_column: str
    value: str

    def __str__(self) -> str:
        return f"{self.column} is set when {self.status_column} = {self.value}"


@dataclass(frozen=True)
class Table:
    name: str
    zh: str
    en: str
    grain: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    references: tuple[Reference, ...] = ()
    uploadable: bool = True
    rules: tuple[Order | RequiredWhen, ...] = field(default=())  # row rules, enforced by validation
    grain_zh: str = ""  # the grain in Chinese, for the app; docs/data-contract.md stays English

    def grain_in(self, lang: str) -> str:
        """The grain in `lang` ("zh" or "en"); English when there is no Chinese text."""
        return (self.grain_zh or self.grain) if lang == "zh" else self.grain

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


def _choices(*triples: tuple[str, str, str]) -> tuple[Choice, ...]:
    return tuple(Choice(*t) for t in triples)


REGION_CODE_PATTERN = r"[1-9][0-9]{5}"
PERIOD_PATTERN = r"[0-9]{4}(-(0[1-9]|1[0-2])|-Q[1-4])?"

LEVELS = _choices(("country", "全国", "national"), ("province", "省级", "province"),
                  ("city", "市级", "city"), ("county", "县级", "county"))
POLICY_TYPES = _choices(("economic", "经济", "economic"), ("social", "社会", "social"),
                        ("cultural", "文化", "cultural"), ("ecological", "生态", "ecological"))
PRIORITIES = _choices(("normal", "一般", "normal"), ("key", "重点", "key"), ("urgent", "紧急", "urgent"))
PROJECT_STATUSES = _choices(("not_started", "未启动", "not started"), ("in_progress", "推进中", "in progress"),
                            ("completed", "已完成", "completed"), ("terminated", "已终止", "terminated"))
RAGS = _choices(("green", "绿", "green"), ("amber_green", "黄绿", "amber/green"), ("amber", "黄", "amber"),
                ("amber_red", "橙", "amber/red"), ("red", "红", "red"))
DIRECTIONS = _choices(("higher_is_better", "越高越好", "higher is better"),
                      ("lower_is_better", "越低越好", "lower is better"))
CHANNELS = _choices(("hotline_12345", "12345热线", "12345 hotline"), ("rating", "好差评", "service rating"),
                    ("survey", "满意度调查", "survey"), ("third_party", "第三方评估", "third-party evaluation"),
                    ("enterprise", "企业反映", "enterprise feedback"))
RECT_SOURCES = _choices(("inspection", "督查检查", "inspection"), ("audit", "审计发现", "audit"),
                        ("public_feedback", "群众反映", "public feedback"), ("warning", "预警触发", "warning"),
                        ("other", "其他", "other"))
PLANNED_BASES = _choices(("reported", "填报", "reported"),
                         ("elapsed", "按时间推算", "elapsed time"))
RECT_STATUSES = _choices(("open", "待整改", "open"), ("in_progress", "整改中", "in progress"),
                         ("awaiting_acceptance", "待验收", "awaiting acceptance"), ("closed", "已销号", "closed"))

C = Column

REGIONS = Table(
    "regions", "行政区划", "administrative regions",
    grain="one row per region (GB/T 2260 code)",
    grain_zh="每个行政区划一行（GB/T 2260 代码）",
    columns=(
        C("region_code", "text", "区划代码", "region code", "6-digit GB/T 2260 code; 100000 is the nation",
          required=True, pattern=REGION_CODE_PATTERN, description_zh="6 位 GB/T 2260 代码；100000 表示全国"),
        C("name", "text", "名称", "name", "official name", required=True, description_zh="规范名称"),
        C("level", "text", "层级", "level", "country, province, city or county", required=True, choices=LEVELS,
          description_zh="country（全国）、province（省级）、city（市级）或 county（县级）"),
        C("parent_code", "text", "上级代码", "parent code",
          "code of the parent region; municipalities' and province-administered counties' parent is the province",
          pattern=REGION_CODE_PATTERN, description_zh="上级区划的代码；直辖市所辖区县和省直管县的上级为省级区划"),
        C("lon", "float", "经度", "longitude", "longitude of a point inside the region (largest part), WGS84 degrees", min_value=-180, max_value=180,
          description_zh="区划内（最大连片部分）一个点的经度，WGS84 坐标，单位为度"),
        C("lat", "float", "纬度", "latitude", "latitude of a point inside the region (largest part), WGS84 degrees", min_value=-90, max_value=90,
          description_zh="区划内（最大连片部分）一个点的纬度，WGS84 坐标，单位为度"),
    ),
    key=("region_code",),
    references=(Reference("parent_code", "regions", "region_code"),),
    uploadable=False,
)

POLICIES = Table(
    "policies", "政策", "policies",
    grain="one row per policy",
    grain_zh="每项政策一行",
    columns=(
        C("policy_id", "text", "政策编号", "policy ID", "unique identifier", required=True, description_zh="唯一标识"),
        C("name", "text", "政策名称", "policy name", "title of the policy document", required=True,
          description_zh="政策文件标题"),
        C("domain", "text", "领域", "domain", "policy domain, e.g. 乡村振兴, 营商环境", required=True,
          description_zh="政策领域，如 乡村振兴、营商环境"),
        C("policy_type", "text", "政策类型", "policy type", "economic, social, cultural or ecological",
          choices=POLICY_TYPES, description_zh="economic（经济）、social（社会）、cultural（文化）或 ecological（生态）"),
        C("issued_date", "date", "发布日期", "issued date", "date the policy was issued", description_zh="政策发布的日期"),
        C("end_date", "date", "截止日期", "end date", "date the policy's period ends", description_zh="政策执行期截止的日期"),
    ),
    key=("policy_id",),
    rules=(Order("issued_date", "end_date"),),
)

PROJECTS = Table(
    "projects", "督办事项", "supervised items",
    grain="one row per supervised item",
    grain_zh="每个督办事项一行",
    columns=(
        C("project_id", "text", "事项编号", "item ID", "unique identifier", required=True, description_zh="唯一标识"),
        C("name", "text", "事项名称", "item name", "short title", required=True, description_zh="简短标题"),
        C("policy_id", "text", "所属政策", "policy ID", "the policy the item implements", description_zh="该事项所落实的政策"),
        C("domain", "text", "领域", "domain", "policy domain", required=True, description_zh="政策领域"),
        C("category", "text", "督办类别", "category", "e.g. 重大决策部署落实, 民生实事, 营商环境优化, 应急督办",
          description_zh="如 重大决策部署落实、民生实事、营商环境优化、应急督办"),
        C("region_code", "text", "区划代码", "region code", "region responsible; any level, 100000 for national",
          required=True, pattern=REGION_CODE_PATTERN, description_zh="责任地区；可为任一层级，全国性事项填 100000"),
        C("lead_dept", "text", "主责单位", "lead department", "department accountable for delivery", required=True,
          description_zh="对事项落实负主要责任的单位"),
        C("co_depts", "text_list", "协同单位", "co-departments", "other departments that must contribute",
          description_zh="须协同配合的其他单位"),
        C("supervising_unit", "text", "监督单位", "supervising unit", "office that supervises the item",
          description_zh="负责督办该事项的单位"),
        C("priority", "text", "优先级", "priority", "normal, key or urgent", choices=PRIORITIES,
          description_zh="normal（一般）、key（重点）或 urgent（紧急）"),
        C("source", "text", "事项来源", "source", "e.g. 领导交办, 会议议定, 群众诉求, 审计发现",
          description_zh="如 领导交办、会议议定、群众诉求、审计发现"),
        C("start_date", "date", "开始日期", "start date", "planned start", required=True, description_zh="计划开始日期"),
        C("planned_end_date", "date", "计划完成日期", "planned end date",
          "deadline; empty for an item without one (长期坚持, 持续推进), which is never overdue",
          description_zh="完成时限；无明确时限的事项（长期坚持、持续推进）留空，此类事项不计逾期"),
        C("deadline_text", "text", "时限原文", "deadline as written",
          "the deadline as the ledger wrote it when that is not a plain date (年底前, 2026年第四季度, 长期坚持)",
          description_zh="时限在台账中不是具体日期时的原文写法（年底前、2026年第四季度、长期坚持）"),
        C("actual_end_date", "date", "实际完成日期", "actual end date", "set when the item is completed",
          description_zh="事项完成时填写"),
        C("budget_wan_yuan", "float", "预算（万元）", "budget (10k yuan)", "approved budget in 万元",
          min_value=0, description_zh="批复预算，单位万元"),
        C("status", "text", "状态", "status", "not_started, in_progress, completed or terminated",
          choices=PROJECT_STATUSES,
          description_zh="not_started（未启动）、in_progress（推进中）、completed（已完成）或 terminated（已终止）"),
        C("description", "text", "事项描述", "description", "free text", description_zh="自由文本"),
        C("responsible_leaders", "text", "责任领导", "responsible leaders",
          "names of the leaders responsible (personal data: masked for roles that may not read it)",
          description_zh="责任领导姓名（属个人信息：对无权查看的角色脱敏显示）"),
    ),
    key=("project_id",),
    references=(Reference("policy_id", "policies", "policy_id"), Reference("region_code", "regions", "region_code")),
    rules=(Order("start_date", "planned_end_date"), Order("start_date", "actual_end_date"),
           RequiredWhen("actual_end_date", "status", "completed")),
)

PROGRESS_REPORTS = Table(
    "progress_reports", "进度填报", "progress reports",
    grain="one row per item per report date",
    grain_zh="每个督办事项每个填报日期一行",
    columns=(
        C("project_id", "text", "事项编号", "item ID", "the item reported on", required=True,
          description_zh="所填报的督办事项"),
        C("report_date", "date", "填报日期", "report date", "date the report describes", required=True,
          description_zh="填报内容所对应的日期"),
        C("planned_progress_pct", "float", "计划进度（%）", "planned progress (%)",
          "share of the work planned to be done by the report date", min_value=0, max_value=100,
          description_zh="截至填报日期按计划应完成的工作量占比"),
        C("planned_basis", "text", "计划进度来源", "planned progress basis",
          "where the planned progress comes from: reported (blank means reported) or elapsed (the share of the time "
          "from start to deadline gone by at the report date, derived by the ledger import when the ledger gives a "
          "start date)", choices=PLANNED_BASES,
          description_zh="计划进度的来源：reported（填报，留空即视为填报）或 elapsed（序时进度，即截至填报日期，"
                         "从开始日期到完成时限已过去的时间占比；台账提供开始日期时由台账导入自动推算）"),
        C("actual_progress_pct", "float", "实际进度（%）", "actual progress (%)",
          "share of the work reported done", min_value=0, max_value=100, description_zh="填报的已完成工作量占比"),
        C("forecast_end_date", "date", "预计完成日期", "forecast end date", "the reporter's forecast of completion",
          description_zh="填报人预计的完成日期"),
        C("budget_spent_wan_yuan", "float", "累计支出（万元）", "budget spent (10k yuan)",
          "cumulative spending in 万元", min_value=0, description_zh="累计支出，单位万元"),
        C("rag", "text", "红黄绿评级", "RAG rating", "delivery confidence reported: green … red", choices=RAGS,
          description_zh="填报的按期落实把握程度（红黄绿灯）：从 green（绿）到 red（红）"),
        C("note", "text", "备注", "note", "free text", description_zh="自由文本"),
    ),
    key=("project_id", "report_date"),
    references=(Reference("project_id", "projects", "project_id"),),
)

MILESTONES = Table(
    "milestones", "关键节点", "milestones",
    grain="one row per milestone",
    grain_zh="每个关键节点一行",
    columns=(
        C("project_id", "text", "事项编号", "item ID", "the item the milestone belongs to", required=True,
          description_zh="该节点所属的督办事项"),
        C("milestone_id", "text", "节点编号", "milestone ID", "unique identifier", required=True,
          description_zh="唯一标识"),
        C("name", "text", "节点名称", "milestone name", "what must be done", required=True, description_zh="须完成的工作内容"),
        C("planned_date", "date", "计划日期", "planned date", "when it is due", required=True, description_zh="应完成的日期"),
        C("actual_date", "date", "实际日期", "actual date", "when it was achieved", description_zh="实际完成的日期"),
        C("weight", "float", "权重", "weight", "share of the item's work, 0–1", min_value=0, max_value=1,
          description_zh="占该事项工作量的比重，0–1"),
    ),
    key=("milestone_id",),
    references=(Reference("project_id", "projects", "project_id"),),
)

INDICATORS = Table(
    "indicators", "指标", "indicators",
    grain="one row per indicator (three-level indicator tree per policy)",
    grain_zh="每个指标一行（每项政策对应一套三级指标体系）",
    columns=(
        C("indicator_id", "text", "指标编号", "indicator ID", "unique identifier", required=True,
          description_zh="唯一标识"),
        C("name", "text", "指标名称", "indicator name", "what is measured", required=True, description_zh="所衡量的内容"),
        C("policy_id", "text", "所属政策", "policy ID", "the policy the indicator measures",
          description_zh="该指标所衡量的政策"),
        C("parent_indicator_id", "text", "上级指标", "parent indicator", "the indicator one level up the tree",
          description_zh="指标体系中的上一级指标"),
        C("unit", "text", "单位", "unit", "e.g. %, 万元, 个", description_zh="如 %、万元、个"),
        C("direction", "text", "方向", "direction", "higher_is_better or lower_is_better", required=True,
          choices=DIRECTIONS, description_zh="higher_is_better（越高越好）或 lower_is_better（越低越好）"),
    ),
    key=("indicator_id",),
    references=(Reference("policy_id", "policies", "policy_id"),
                Reference("parent_indicator_id", "indicators", "indicator_id")),
)

INDICATOR_VALUES = Table(
    "indicator_values", "指标值", "indicator values",
    grain="one row per indicator per region per period",
    grain_zh="每个指标、每个地区、每个期间一行",
    columns=(
        C("indicator_id", "text", "指标编号", "indicator ID", "the indicator", required=True, description_zh="对应的指标"),
        C("region_code", "text", "区划代码", "region code", "region the value is for", required=True,
          pattern=REGION_CODE_PATTERN, description_zh="该值所属的地区"),
        C("period", "text", "期间", "period", "YYYY-MM, YYYY-Qn or YYYY", required=True, pattern=PERIOD_PATTERN,
          description_zh="YYYY-MM（月）、YYYY-Qn（季度）或 YYYY（年）"),
        C("target_value", "float", "目标值", "target value", "target for the period", description_zh="该期间的目标值"),
        C("actual_value", "float", "实际值", "actual value", "value achieved", description_zh="实际达到的值"),
    ),
    key=("indicator_id", "region_code", "period"),
    references=(Reference("indicator_id", "indicators", "indicator_id"),
                Reference("region_code", "regions", "region_code")),
)

FEEDBACK = Table(
    "feedback", "反馈评价", "feedback",
    grain="one row per piece of feedback",
    grain_zh="每条反馈一行",
    columns=(
        C("feedback_id", "text", "反馈编号", "feedback ID", "unique identifier", required=True, description_zh="唯一标识"),
        C("received_at", "timestamp", "接收时间", "received at", "when it arrived", required=True,
          description_zh="接收的时间"),
        C("channel", "text", "渠道", "channel", "hotline_12345, rating, survey, third_party or enterprise",
          required=True, choices=CHANNELS,
          description_zh="hotline_12345（12345热线）、rating（好差评）、survey（满意度调查）、"
                         "third_party（第三方评估）或 enterprise（企业反映）"),
        C("region_code", "text", "区划代码", "region code", "region it concerns", required=True,
          pattern=REGION_CODE_PATTERN, description_zh="所涉及的地区"),
        C("project_id", "text", "事项编号", "item ID", "the item it concerns, when known",
          description_zh="所涉及的督办事项（已知时填写）"),
        C("domain", "text", "领域", "domain", "policy domain it concerns", description_zh="所涉及的政策领域"),
        C("satisfaction", "int", "满意度", "satisfaction", "1 (very dissatisfied) to 5 (very satisfied)",
          min_value=1, max_value=5, description_zh="1（非常不满意）至 5（非常满意）"),
        C("is_complaint", "bool", "是否投诉", "is complaint", "true for a complaint", description_zh="属于投诉时为 true"),
        C("category", "text", "问题类别", "category", "what it is about, e.g. 供暖, 物业, 审批",
          description_zh="反映的问题类别，如 供暖、物业、审批"),
        C("responded_at", "timestamp", "答复时间", "responded at", "when it was first answered",
          description_zh="首次答复的时间"),
        C("is_resolved", "bool", "是否解决", "is resolved", "true when the issue was resolved",
          description_zh="问题已解决时为 true"),
        C("text", "text", "反馈内容", "text", "what was said (may hold personal data)",
          description_zh="反馈的具体内容（可能含个人信息）"),
    ),
    key=("feedback_id",),
    references=(Reference("project_id", "projects", "project_id"), Reference("region_code", "regions", "region_code")),
    rules=(Order("received_at", "responded_at"),),
)

RECTIFICATIONS = Table(
    "rectifications", "整改台账", "rectifications",
    grain="one row per rectification item",
    grain_zh="每个整改事项一行",
    columns=(
        C("rectification_id", "text", "整改编号", "rectification ID", "unique identifier", required=True,
          description_zh="唯一标识"),
        C("project_id", "text", "事项编号", "item ID", "the item it concerns, when any", description_zh="所涉及的督办事项（如有）"),
        C("region_code", "text", "区划代码", "region code", "region responsible", required=True,
          pattern=REGION_CODE_PATTERN, description_zh="责任地区"),
        C("source", "text", "问题来源", "source", "inspection, audit, public_feedback, warning or other",
          required=True, choices=RECT_SOURCES,
          description_zh="inspection（督查检查）、audit（审计发现）、public_feedback（群众反映）、"
                         "warning（预警触发）或 other（其他）"),
        C("found_date", "date", "发现日期", "found date", "when the problem was found", required=True,
          description_zh="发现问题的日期"),
        C("description", "text", "问题描述", "description", "the problem", required=True, description_zh="存在的问题"),
        C("responsible_dept", "text", "整改责任单位", "responsible department", "who must fix it", required=True,
          description_zh="负责整改的单位"),
        C("deadline", "date", "整改时限", "deadline", "date it must be fixed by", required=True,
          description_zh="须完成整改的日期"),
        C("closed_date", "date", "销号日期", "closed date", "date it was accepted and closed",
          description_zh="验收通过并销号的日期"),
        C("status", "text", "整改状态", "status", "open, in_progress, awaiting_acceptance or closed", required=True,
          choices=RECT_STATUSES,
          description_zh="open（待整改）、in_progress（整改中）、awaiting_acceptance（待验收）"
                         "或 closed（已销号）"),
        C("is_relapse", "bool", "是否反弹", "is relapse", "the problem came back after an earlier closure",
          description_zh="已销号的问题再次出现（反弹）"),
    ),
    key=("rectification_id",),
    references=(Reference("project_id", "projects", "project_id"), Reference("region_code", "regions", "region_code")),
    rules=(Order("found_date", "deadline"), Order("found_date", "closed_date"),
           RequiredWhen("closed_date", "status", "closed")),
)

TABLES: tuple[Table, ...] = (REGIONS, POLICIES, PROJECTS, PROGRESS_REPORTS, MILESTONES, INDICATORS,
                             INDICATOR_VALUES, FEEDBACK, RECTIFICATIONS)
BY_NAME = {t.name: t for t in TABLES}


def table(name: str) -> Table:
    """The table called `name`; only names from the contract are accepted (never user text as SQL)."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown table {name!r}; expected one of {', '.join(BY_NAME)}") from None


def column_ddl(c: Column) -> str:
    parts = [c.name, SQL_TYPES[c.dtype]]
    if c.required:
        parts.append("NOT NULL")
    checks = []
    if c.choices:
        checks.append(f"{c.name} IN ({', '.join(repr(v) for v in c.allowed)})")
    if c.min_value is not None:
        checks.append(f"{c.name} >= {c.min_value:g}")
    if c.max_value is not None:
        checks.append(f"{c.name} <= {c.max_value:g}")
    if c.pattern:
        checks.append(f"regexp_full_match({c.name}, '{c.pattern}')")
    if checks:
        parts.append(f"CHECK ({' AND '.join(checks)})")
    return " ".join(parts)


def ddl(t: Table, name: str | None = None) -> str:
    """CREATE TABLE statement for `t` (under `name`, e.g. an upload's staging table). Keys are checked by
    validation, not by an index: DuckDB's ART indexes slow bulk loads of millions of report rows and
    cannot be bulk-replaced."""
    cols = ",\n    ".join(column_ddl(c) for c in t.columns)
    return f"CREATE TABLE IF NOT EXISTS {name or t.name} (\n    {cols}\n)"


def allowed_text(c: Column) -> str:
    """Allowed values or range of a column, as Markdown."""
    bits = []
    if c.choices:
        bits.append(" \\| ".join(f"`{ch.value}` ({ch.zh})" for ch in c.choices))
    if c.min_value is not None or c.max_value is not None:
        bits.append(_range_text(c))
    if c.pattern:
        bits.append(f"matches `{c.pattern}`")
    return "; ".join(bits)


def _range_text(c: Column) -> str:
    """"0–100", "0–" or "–5": the column's bounds, either may be open."""
    lo = "" if c.min_value is None else f"{c.min_value:g}"
    hi = "" if c.max_value is None else f"{c.max_value:g}"
    return f"{lo}–{hi}"


# what a steward reads on the data page: the types and checks in words, not `text` and regular expressions
TYPE_WORDS = {
    "text": ("文本", "text"), "int": ("整数", "whole number"), "float": ("数值", "number"),
    "date": ("日期（如 2026-11-22、2026/11/22、2026年11月22日）", "date (e.g. 2026-11-22)"),
    "timestamp": ("日期和时间", "date and time"), "bool": ("是 / 否", "yes / no"),
    "text_list": ("多个文本（用顿号、逗号或分号分隔）", "several texts (separated by commas or semicolons)"),
}
PATTERN_WORDS = {
    REGION_CODE_PATTERN: ("6 位区划代码，如 340102", "a 6-digit region code, e.g. 340102"),
    PERIOD_PATTERN: ("月、季度或年，如 2026-11、2026-Q3、2026", "a month, quarter or year, e.g. 2026-11, 2026-Q3, 2026"),
}


def type_words(c: Column, lang: str) -> str:
    zh, en = TYPE_WORDS.get(c.dtype, (c.dtype, c.dtype))
    return zh if lang == "zh" else en


def allowed_words(c: Column, lang: str) -> str:
    """`allowed_text` in a steward's words: the choices with their labels, a range, a pattern described."""
    bits = []
    if c.choices:
        sep = "、" if lang == "zh" else ", "
        bits.append(sep.join(f"{ch.value}（{ch.zh}）" if lang == "zh" else f"{ch.value} ({ch.en})"
                             for ch in c.choices))
    if c.min_value is not None or c.max_value is not None:
        bits.append(_range_text(c))
    if c.pattern:
        zh, en = PATTERN_WORDS.get(c.pattern, (c.pattern, c.pattern))
        bits.append(zh if lang == "zh" else en)
    return ("；" if lang == "zh" else "; ").join(bits)


def markdown() -> str:
    """docs/data-contract.md, generated (`python -m analytics contract > docs/data-contract.md`)."""
    out = [
        "# Data contract",
        "",
        "Generated from `analytics/contract.py` by `python -m analytics contract`; do not edit by hand "
        "(a test fails when this file and the module disagree).",
        "",
        "Column names are English snake_case. `*` marks a required column. Types: text, int, float, "
        "date (YYYY-MM-DD), timestamp, bool, text_list (a list of texts). Keys are unique; references "
        "must resolve when set. Region codes may name any level: a province item uses `340000`, a city "
        "item `340100`, a county item `340102`, a national item `100000`.",
        "",
    ]
    for t in TABLES:
        out += [f"## `{t.name}` — {t.zh} / {t.en}", "",
                f"Grain: {t.grain}. Key: {', '.join(f'`{k}`' for k in t.key)}."
                + ("" if t.uploadable else " Built in; not uploaded."), ""]
        if t.references:
            out += ["References: " + "; ".join(f"`{r.column}` → `{r.table}.{r.target}`" for r in t.references)
                    + ".", ""]
        if t.rules:
            out += ["Row rules: " + "; ".join(str(r) for r in t.rules) + ".", ""]
        out += ["| column | type | 中文 | English | allowed | description |", "|---|---|---|---|---|---|"]
        for c in t.columns:
            star = "*" if c.required else ""
            out.append(f"| `{c.name}`{star} | {c.dtype} | {c.zh} | {c.en} | {allowed_text(c)} | {c.description} |")
        out.append("")
    return "\n".join(out)


# ---- upload vocabulary: how stewards' files name tables, columns and values ---------------------------
# Headers are matched after normalisation (NFKC, lower case, no spaces, no required-field marks), to the
# column's name, its zh and en labels and these synonyms. A synonym names a column in whichever table has
# it (责任单位 is `lead_dept` in projects and `responsible_dept` in rectifications).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "project_id": ("项目编号", "督办事项编号", "事项编码", "督办编号", "督办事项编码", "项目代码", "项目ID", "事项ID",
                   "project id", "project code", "item code"),
    "policy_id": ("政策ID", "政策文件编号", "policy"),
    "domain": ("政策领域", "所属领域", "policy domain"),
    "category": ("事项类别", "类别", "督办类型"),
    "region_code": ("行政区划代码", "地区代码", "区划", "行政区划", "地区", "所属地区", "所在地区", "区域", "属地",
                    "region", "area"),
    "lead_dept": ("责任单位", "牵头单位", "主办单位", "牵头部门", "责任部门", "主责部门", "lead unit",
                  "responsible unit"),
    "co_depts": ("配合单位", "协办单位", "参与单位", "协同部门", "co-departments", "supporting units"),
    "supervising_unit": ("督办单位", "督查单位"),
    "responsible_leaders": ("分管领导", "牵头领导", "责任市领导", "责任区领导", "leaders"),
    "priority": ("重要程度", "督办等级", "紧急程度"),
    "source": ("来源",),
    "start_date": ("开始时间", "启动时间", "启动日期", "计划开始时间", "计划开始日期", "start"),
    "planned_end_date": ("计划完成时间", "完成时限", "办结时限", "计划结束日期", "计划办结时间", "deadline",
                         "due date"),
    "actual_end_date": ("实际完成时间", "办结日期", "办结时间", "completed on"),
    "budget_wan_yuan": ("预算", "预算金额", "计划投资", "总投资", "budget"),
    "status": ("进展状态", "办理状态", "事项状态"),
    "report_date": ("填报时间", "报告日期", "统计日期", "date"),
    "planned_progress_pct": ("计划进度", "应完成进度", "计划完成进度", "planned progress", "planned %"),
    "actual_progress_pct": ("实际进度", "完成进度", "完成比例", "形象进度", "实际完成进度", "actual progress",
                            "progress", "actual %"),
    "forecast_end_date": ("预计完成时间", "预计办结时间", "forecast"),
    "budget_spent_wan_yuan": ("累计支出", "已完成投资", "累计完成投资", "支出", "spent"),
    "rag": ("评级", "红黄绿灯", "亮灯情况", "灯色", "rag", "light"),
    "note": ("说明", "notes", "remark"),
    "milestone_id": ("里程碑编号",),
    "planned_date": ("计划时间", "计划完成时间"),
    "actual_date": ("实际时间", "实际完成时间"),
    "feedback_id": ("工单编号", "工单号"),
    "received_at": ("来电时间", "受理时间", "接收日期"),
    "channel": ("来源渠道",),
    "satisfaction": ("评分", "满意度评分"),
    "responded_at": ("回复时间", "答复日期"),
    "text": ("诉求内容", "内容"),
    "rectification_id": ("问题编号",),
    "found_date": ("发现时间",),
    "responsible_dept": ("责任单位", "整改单位", "责任部门"),
    "deadline": ("整改期限", "完成时限"),
    "closed_date": ("销号时间",),
}
# synonyms of a column that means different things in different tables
TABLE_SYNONYMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("projects", "name"): ("项目名称", "督办事项名称", "督办事项", "事项", "项目", "title", "project name"),
    ("projects", "description"): ("描述", "事项内容", "主要内容"),
    ("milestones", "name"): ("里程碑", "里程碑名称", "节点"),
    ("policies", "name"): ("文件名称", "政策文件", "title"),
    ("indicators", "name"): ("指标",),
    ("rectifications", "description"): ("问题", "问题内容", "问题描述"),
    ("feedback", "category"): ("问题类型",),
}
# names a sheet or file may carry for a table, beside its name and labels
TABLE_NAMES: dict[str, tuple[str, ...]] = {
    "projects": ("项目", "事项", "督办事项清单", "事项清单", "items"),
    "progress_reports": ("进度", "进展", "进度报告", "月报", "progress", "reports"),
    "milestones": ("节点", "里程碑"),
    "feedback": ("反馈", "评价", "工单"),
    "rectifications": ("整改", "整改清单", "问题清单"),
}
# values of enumerated columns beyond their value and labels (compared case-insensitively)
CHOICE_SYNONYMS: dict[tuple[str, str], dict[str, str]] = {
    ("projects", "priority"): {"普通": "normal", "重要": "key", "特急": "urgent", "加急": "urgent"},
    ("projects", "status"): {"未开工": "not_started", "未开始": "not_started", "进行中": "in_progress",
                             "在建": "in_progress", "办理中": "in_progress", "已办结": "completed", "办结": "completed",
                             "完成": "completed", "终止": "terminated", "已取消": "terminated"},
    ("progress_reports", "rag"): {"绿灯": "green", "黄灯": "amber", "红灯": "red", "橙灯": "amber_red",
                                  "黄绿灯": "amber_green", "amber/green": "amber_green", "amber/red": "amber_red",
                                  "amber-green": "amber_green", "amber-red": "amber_red"},
    ("rectifications", "status"): {"未整改": "open", "正在整改": "in_progress", "销号": "closed", "已关闭": "closed"},
}
