"""Both languages say everything, with the same placeholders; numbers and dates follow the language."""
import re
from datetime import date

import pytest

from analytics import i18n

GLOSSARY_SECTIONS = ("province.", "domain.", "dept.", "category.", "item_category.", "item_source.", "supervisor.", "milestone.")


def test_locales_have_the_same_keys_and_placeholders():
    zh, en = i18n.catalog("zh"), i18n.catalog("en")
    ui_zh = {k for k in zh if not k.startswith(GLOSSARY_SECTIONS)}
    ui_en = {k for k in en if not k.startswith(GLOSSARY_SECTIONS)}
    assert ui_zh == ui_en
    for k in ui_zh:
        assert set(re.findall(r"{(\w+)", zh[k])) == set(re.findall(r"{(\w+)", en[k])), k
        assert zh[k].strip() and en[k].strip(), k


def test_every_translation_key_used_in_code_exists():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    used = set()
    for path in [root / "app.py", *root.glob("views/*.py"), *root.glob("ui/*.py")]:
        used |= set(re.findall(r"""(?:\bt|i18n\.t|ctx\.t)\(\s*["']([a-z_]+\.[a-z_]+)["']""", path.read_text()))
    assert used, "no keys found: the pattern no longer matches the code"
    missing = {k for k in used if not i18n.has(k, "zh") or not i18n.has(k, "en")}
    assert not missing


@pytest.mark.parametrize("lang,amount,text", [
    ("zh", 532.0, "532.0 万元"), ("zh", 123_456.0, "12.35 亿元"),
    ("en", 532.0, "¥5.3 mn"), ("en", 123_456.0, "¥1.23 bn"), ("en", 0.05, "¥500"), ("en", 12.5, "¥125 k"),
])
def test_amounts(lang, amount, text):
    assert i18n.fmt_amount_wan(amount, lang) == text


def test_dates_periods_and_labels():
    assert i18n.fmt_date(date(2026, 11, 2), "zh") == "2026年11月2日"
    assert i18n.fmt_date(date(2026, 11, 2), "en") == "2 Nov 2026"
    assert i18n.fmt_period("2026-Q3", "zh") == "2026年第3季度" and i18n.fmt_period("2026-Q3", "en") == "Q3 2026"
    assert i18n.fmt_period("2026-03", "en") == "March 2026" and i18n.fmt_period("all", "zh") == "全部时间"
    assert i18n.choice_label("projects", "priority", "key", "zh") == "重点"
    assert i18n.glossary("province", "安徽省", "en") == "Anhui" and i18n.glossary("province", "安徽省", "zh") == "安徽省"
    assert i18n.normalise_lang("fr") == "zh"


def test_every_domain_and_department_of_the_demo_vocabulary_has_an_english_name():
    from analytics.demo import vocab as demo_vocab

    en = i18n.catalog("en")
    domains = set(demo_vocab.DOMAINS)
    depts = set(demo_vocab.DEPARTMENTS)
    assert domains and depts, "demo_vocab no longer exposes DOMAINS and DEPARTMENTS"
    assert not {d for d in domains if f"domain.{d}" not in en}
    assert not {d for d in depts if f"dept.{d}" not in en}


@pytest.mark.parametrize("unit,change,lang,text", [
    ("share", 0.012, "zh", "+1.2 个百分点"), ("share", -0.003, "en", "-0.3 pp"), ("count", -5, "en", "-5"),
    ("count", 23, "zh", "+23"), ("score", -2.34, "en", "-2.3"), ("days", 1.5, "zh", "+1.5 天"),
    ("rating", 0.05, "en", "+0.05 / 5"), ("share", None, "zh", None),
])
def test_changes_between_periods_are_signed_in_their_unit(unit, change, lang, text):
    assert i18n.fmt_change(unit, change, lang) == text


def test_a_progress_gap_ahead_of_plan_is_not_behind_by_a_negative_number():
    assert i18n.progress_gap(15.2, "zh") == "进度落后计划 15 个百分点"
    assert i18n.progress_gap(-4.4, "zh") == "进度超前计划 4 个百分点" and i18n.progress_gap(-4.4, "en") == "4 pp ahead of plan"
    assert i18n.progress_gap(0.3, "en") == "on plan"


def test_readers_see_words_of_their_trade_not_algorithm_names_or_seed_references():
    """Issue 17, point 15: "依据：000 §2.3", "来源：种子文件 000", IsolationForest and TF-IDF were on screen. Sources and
    algorithms belong in docs/ (metrics.md, the model cards); no reader-facing text names them."""
    jargon = ("§", "种子", "seed ", "IsolationForest", "TF-IDF", "COCKPIT_RISK")
    for lang in ("zh", "en"):
        found = {k: v for k, v in i18n.catalog(lang).items() if any(j in v for j in jargon)}
        assert found == {}, found



def test_the_demos_source_reads_as_words_not_settings():
    assert i18n.source_label("demo scale=1.0 seed=20261122", "zh") == "演示数据（规模 1.0）"
    assert i18n.source_label("demo scale=0.05 seed=3", "en") == "demo data (scale 0.05)"
    assert i18n.source_label("进度.xlsx", "zh") == "进度.xlsx" and i18n.source_label(None, "en") == "—"


def test_an_items_fixed_values_read_in_english():
    """The item page and the duplicates tables showed category, source, supervising unit and milestone names in
    Chinese in English mode."""
    assert i18n.glossary("item_category", "重大决策部署落实", "en") == "Implementing major decisions"
    assert i18n.glossary("item_source", "人大建议政协提案", "en") == "NPC suggestion or CPPCC proposal"
    assert i18n.glossary("supervisor", "县委督查室", "en") == "County Party Committee Supervision Office"
    assert i18n.milestone_name("全面实施（第2批）", "en") == "Full implementation (batch 2)"
    assert i18n.milestone_name("全面实施（第2批）", "zh") == "全面实施（第2批）"
    assert i18n.glossary("item_source", "某个新来源", "en") == "某个新来源"  # unknown: as it is


def test_a_cards_note_names_the_period_it_covers():
    """The feedback page's cards under 2026-Q3 said 2026年12月4日 (the as-of day) beside a chart ending 30 Sep."""
    from datetime import date

    d = date(2026, 12, 4)
    assert i18n.period_note("all", d, "zh") == "2026年12月4日"
    assert i18n.period_note("2026-Q3", d, "zh") == "2026年第3季度" and i18n.period_note("2026-Q3", d, "en") == "Q3 2026"
    assert i18n.period_note("2026-12", d, "zh") == "2026年12月（截至2026年12月4日）"  # still running: to when
    assert i18n.period_note("2026-12", d, "en") == "December 2026 (to 4 Dec 2026)"
