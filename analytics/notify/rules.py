"""The notification rules, declared as data: the supervision ladder's steps and the conditions that fire them.

The office's ladder is 临近提醒 (remind: before the deadline) → 到期催办 (urge: after it) → 情况通报 (bulletin: a
formal notice), each sent to the item's lead department and responsible leader. Each rule is a small record: its
key, its step, what it is about (an item, a rectification, a region), its parameters with defaults, and its title
and wording in Chinese and English; the wording's {placeholders} are filled from what the firing recorded.

An administrator may switch a rule off, change its parameters and its wording; every save is a new numbered
version in the store (`rule_versions`), never an edit in place, so a digest built while someone edits the rules
uses exactly one version (the one it loaded first) and says which.
"""
from __future__ import annotations

import json
import string
from dataclasses import dataclass, replace
from pathlib import Path

from analytics import settings
from analytics.notify import store

STEPS = {"remind": ("临近提醒", "reminder"), "urge": ("到期催办", "urging"), "bulletin": ("情况通报", "bulletin")}
STEP_ORDER = tuple(STEPS)


@dataclass(frozen=True)
class Rule:
    key: str
    step: str  # a key of STEPS
    subject: str  # item | rectification | region
    params: tuple[tuple[str, int], ...]  # (name, value): whole numbers of days or weeks
    zh: str
    en: str
    text_zh: str  # wording, with {placeholders} from the firing's detail
    text_en: str
    enabled: bool = True

    def param(self, name: str) -> int:
        return dict(self.params)[name]

    def title(self, lang: str) -> str:
        """The rule's name as a heading: Chinese, or English with a capital."""
        return self.zh if lang == "zh" else self.en[:1].upper() + self.en[1:]

    def text(self, lang: str) -> str:
        return self.text_zh if lang == "zh" else self.text_en


# the placeholders a rule's wording may use (what evaluate.py records for its subjects)
PLACEHOLDERS = {
    "item": ("name", "region", "owner", "deadline", "days_left", "days_late", "lag", "light", "weeks", "probability",
             "urged", "days_unanswered", "last_report"),
    "rectification": ("description", "region", "owner", "deadline", "days_late"),
    "region": ("region", "days_silent", "n_in_flight", "last_report"),
}

DEFAULT_RULES: tuple[Rule, ...] = (
    Rule("due_soon", "remind", "item", (("days", 14),), "临近到期且进度滞后", "deadline near, behind plan",
         "距计划完成日期（{deadline}）还有 {days_left} 天，进度落后计划 {lag} 个百分点",
         "{days_left} days to its deadline ({deadline}), {lag} points behind plan"),
    Rule("overdue", "urge", "item", (), "逾期未完成", "overdue",
         "已超过计划完成日期（{deadline}）{days_late} 天，仍未完成",
         "{days_late} days past its deadline ({deadline}), not completed"),
    Rule("rect_overdue", "urge", "rectification", (), "整改逾期", "rectification overdue",
         "已超过整改时限（{deadline}）{days_late} 天，仍未销号",
         "{days_late} days past its deadline ({deadline}), not closed"),
    Rule("silent", "urge", "region", (("days", 30),), "长期未填报", "no report",
         "{days_silent} 天没有进度填报（{n_in_flight} 个在办事项）",
         "no progress report for {days_silent} days ({n_in_flight} items in flight)"),
    Rule("red_weeks", "bulletin", "item", (("weeks", 3),), "连续红灯", "red for weeks",
         "连续 {weeks} 周亮红灯", "red for {weeks} weeks in a row"),
    Rule("unanswered", "bulletin", "item", (("days", 14),), "催办后仍无进展", "urged, no answer",
         "{urged} 已催办（逾期），{days_unanswered} 天来没有新的进度填报（最近一次：{last_report}）",
         "urged on {urged} (overdue); no progress report in the {days_unanswered} days since (last: {last_report})"),
    Rule("high_risk", "bulletin", "item", (), "滞后风险高", "high slip risk",
         "模型判断滞后风险高（{probability}）", "the model rates its slip risk high ({probability})"),
)
RULE_KEYS = tuple(r.key for r in DEFAULT_RULES)


class RuleError(ValueError):
    """An edit that is refused: `code` names the rule broken (locale key `notify.err_<code>`)."""

    def __init__(self, code: str, **values):
        self.code, self.values = code, values
        super().__init__(f"{code}: {values}")


@dataclass(frozen=True)
class RuleSet:
    version: int  # 0: the defaults, never edited
    rules: tuple[Rule, ...]

    def get(self, key: str) -> Rule:
        return next(r for r in self.rules if r.key == key)

    @property
    def enabled(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.enabled)


def defaults() -> tuple[Rule, ...]:
    """The declared rules; the silence rule's days default to the reporting cycle the cockpit uses."""
    silent = settings.get("COCKPIT_SILENT_DAYS")
    return tuple(replace(r, params=(("days", silent),)) if r.key == "silent" else r for r in DEFAULT_RULES)


def apply(rules: tuple[Rule, ...], overrides: dict) -> tuple[Rule, ...]:
    """`rules` with an administrator's overrides (rule key → {enabled, params, text_zh, text_en}), each checked."""
    unknown = set(overrides) - set(RULE_KEYS)
    if unknown:
        raise RuleError("unknown_rule", keys=", ".join(sorted(unknown)))
    return tuple(_override(r, overrides[r.key]) if r.key in overrides else r for r in rules)


def _override(rule: Rule, edit: dict) -> Rule:
    params = dict(rule.params)
    for name, value in (edit.get("params") or {}).items():
        if name not in params:
            raise RuleError("unknown_param", rule=rule.key, param=name)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 3650:
            raise RuleError("bad_param", rule=rule.key, param=name)
        params[name] = value
    texts = {lang: edit.get(f"text_{lang}") or rule.text(lang) for lang in ("zh", "en")}
    for lang, text in texts.items():
        _check_wording(rule, text, lang)
    return replace(rule, params=tuple(params.items()), text_zh=texts["zh"], text_en=texts["en"],
                   enabled=bool(edit.get("enabled", rule.enabled)))


def _check_wording(rule: Rule, text: str, lang: str) -> None:
    """Wording may use only its subject's placeholders (a typo would fail every message otherwise)."""
    try:
        names = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
    except ValueError:
        raise RuleError("bad_wording", rule=rule.key, lang=lang) from None
    if not text.strip() or names - set(PLACEHOLDERS[rule.subject]):
        raise RuleError("bad_wording", rule=rule.key, lang=lang)


def load(path: str | Path) -> RuleSet:
    """The rules in force: the defaults with the newest saved overrides, read once (a snapshot)."""
    with store.connect(path) as con:
        row = con.execute("SELECT version, overrides FROM rule_versions ORDER BY version DESC LIMIT 1").fetchone()
    if row is None:
        return RuleSet(0, defaults())
    return RuleSet(row[0], apply(defaults(), json.loads(row[1])))


def overrides_of(path: str | Path) -> dict:
    with store.connect(path) as con:
        row = con.execute("SELECT overrides FROM rule_versions ORDER BY version DESC LIMIT 1").fetchone()
    return json.loads(row[0]) if row else {}


def save(path: str | Path, overrides: dict, by: str) -> RuleSet:
    """Check and save a new version of the overrides (the whole set, replacing the previous one)."""
    from analytics.auth.accounts import now_text

    rules = apply(defaults(), overrides)
    with store.connect(path, write=True) as con:
        version = con.execute("SELECT coalesce(max(version), 0) + 1 FROM rule_versions").fetchone()[0]
        con.execute("INSERT INTO rule_versions (version, saved_at, saved_by, overrides) VALUES (?, ?, ?, ?)",
                    (version, now_text(), by, json.dumps(overrides, ensure_ascii=False, sort_keys=True)))
    return RuleSet(version, rules)
