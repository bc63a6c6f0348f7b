"""The digest: one message per person and period, built from the events they have not yet received.

It says which counts changed (per rule: how many crossed the line, how many cleared, how many stand on it now), then
the items that crossed a line, by the ladder's steps, each with its light in words, the reason in words, its owner
(the lead or responsible department) and a link that opens it in the app with its region chosen. Text and Markdown
(the webhook's group robots read Markdown), in the account's language when it has one, else the
subscription's (Chinese unless it asks for English). Text from data is
escaped in the Markdown, so a name cannot add a link or formatting.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from urllib.parse import urlencode

from analytics import i18n, settings
from analytics.auth.accounts import Account
from analytics.filters import Filters, to_query
from analytics.notify import owners
from analytics.notify.firings import Event
from analytics.notify.rules import STEP_ORDER, STEPS, RuleSet
from analytics.notify.subscriptions import Subscription, in_scope, scope_of

MAX_LISTED = 20  # entries per rule in the text; the rest are counted, with a link to the app
# what could give data text structure in a robot's Markdown (emphasis, code, links, headings, HTML, tables); dates
# and hyphens are left alone, since some robots show a backslash before them as it is
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")


@dataclass(frozen=True)
class Entry:
    rule_key: str
    step: str
    subject: str
    name: str  # the item's name, the rectification's description or the region's name
    region: str
    light: str | None  # red | yellow | green | none (items only)
    owner: str | None
    reason: str
    link: str
    severity: float = 0.0  # lower first: the worst of a rule leads (exception first)
    why: tuple[str, ...] = ()  # why the person receives it as an owner: dept | dept_rect | leader (owners.why)


@dataclass(frozen=True)
class Digest:
    username: str
    display_name: str
    channel: str
    lang: str
    period: str
    data_version: int
    rules_version: int
    as_of: date | None
    last_seq: int  # the newest event it reports (the next digest starts after it)
    counts: dict  # rule key -> {"fired": n, "cleared": n, "standing": n}
    entries: list[Entry] = field(default_factory=list)
    title: str = ""
    text: str = ""
    markdown: str = ""
    stream: str = ""  # "": a subscription's digest; owner, owner_daily: the person's notices as an owner

    @property
    def is_empty(self) -> bool:
        return not any(c["fired"] or c["cleared"] for c in self.counts.values())


def link(event: Event, lang: str, base: str | None = None) -> str:
    """Where a firing opens: its item (with its region chosen, in the reader's language), else the region's data
    page (report freshness), else the rectification ledger of its region."""
    base = (base or settings.get("COCKPIT_BASE_URL")).rstrip("/")
    query = to_query(Filters(region_code=event.region_code)) | {"lang": lang}
    project_id = event.detail.get("project_id")
    if project_id:
        return f"{base}/item?{urlencode(query | {'item': project_id})}"
    return f"{base}/{'data' if event.rule_key == 'silent' else 'rectifications'}?{urlencode(query)}"


def _entry(event: Event, ruleset: RuleSet, lang: str, base: str | None, account: Account) -> Entry:
    rule = ruleset.get(event.rule_key)
    values = {k: ("—" if v is None else v) for k, v in event.detail.items()}
    try:
        reason = rule.text(lang).format(**values)
    except (KeyError, IndexError, ValueError):  # wording saved for another version's placeholders
        reason = ruleset.get(event.rule_key).title(lang)
    name = event.detail.get("name") or event.detail.get("description") or event.detail.get("region") or event.subject
    return Entry(rule.key, rule.step, event.subject, str(name), str(event.detail.get("region") or ""),
                 event.detail.get("light"), event.detail.get("owner"), reason, link(event, lang, base),
                 _severity(event), owners.why(account, rule.key, rule.step, event.detail, rule.subject))


def _severity(event: Event) -> float:
    """How bad, for the order within a rule: nearest deadline, longest overdue or silent, most likely to slip."""
    d = event.detail
    if event.rule_key == "due_soon":
        return float(d.get("days_left") or 0)
    if event.rule_key == "high_risk":
        return -float(str(d.get("probability") or "0").rstrip("%") or 0)
    return -float(d.get("days_unanswered") or d.get("days_silent") or d.get("days_late") or 0)


def _mine(events: list[Event], account: Account, sub: Subscription, ruleset: RuleSet) -> list[Event]:
    """The events a subscription reports: its rules (enabled ones), within its regions and the account's scope; for
    an owner stream, only the firings the account owns (its department or it as leader), within its whole scope."""
    scope = scope_of(account, sub)
    keys = {r.key for r in ruleset.enabled} & set(sub.rule_keys)
    out = [e for e in events if e.rule_key in keys
           and in_scope(e.region_code, e.domain, scope, region_rule=ruleset.get(e.rule_key).subject == "region")]
    if sub.stream:
        out = [e for e in out if owners.why(account, e.rule_key, ruleset.get(e.rule_key).step, e.detail,
                                            ruleset.get(e.rule_key).subject)]
    return out


def build(account: Account, sub: Subscription, ruleset: RuleSet, events: list[Event], standing: list[Event], *,
          period: str, data_version: int, as_of: date | None, base_url: str | None = None) -> Digest:
    """The digest of `events` (after the person's last one) and the firings `standing` now, for one account and
    one of its subscriptions, under one rules version. Its language is the account's when it has one, else the
    subscription's."""
    lang = account.lang or sub.lang
    mine, now = _mine(events, account, sub, ruleset), _mine(standing, account, sub, ruleset)
    counts = {r.key: {"fired": 0, "cleared": 0, "standing": 0} for r in ruleset.enabled if r.key in sub.rule_keys}
    for e in mine:
        counts[e.rule_key][e.kind] += 1
    for e in now:
        counts[e.rule_key]["standing"] += 1
    crossed = [e for e in mine if e.kind == "fired" and e.is_open]
    entries = [_entry(e, ruleset, lang, base_url, account) for e in crossed]
    entries.sort(key=lambda x: (STEP_ORDER.index(x.step), [r.key for r in ruleset.rules].index(x.rule_key),
                                x.severity, x.region, x.subject))
    seqs = [e.seq for e in events if e.seq is not None]
    d = Digest(account.username, account.display_name, sub.channel, lang, period, data_version, ruleset.version,
               as_of, max(seqs, default=0), counts, entries, stream=sub.stream)
    title = i18n.t("notify.digest_title", lang, period=period_label(period, lang, as_of))
    return replace(d, title=title, text=_render(d, ruleset, title, md=False),
                   markdown=_render(d, ruleset, title, md=True))


def period_label(period: str, lang: str, as_of: date | None = None) -> str:
    """A period as a reader names it: a day as a date ("2026年12月4日" / "4 Dec 2026"), an ISO week in words
    ("2026年第49周" / "week 49 of 2026"), an `immediate` one (its key is the newest event, "#3603") as "at once",
    with the data's date when known."""
    if "-W" in period:
        return i18n.fmt_period(period, lang)
    if not period.startswith("#"):
        try:
            return i18n.fmt_date(date.fromisoformat(period), lang)
        except ValueError:
            return period
    word = i18n.t("notify.freq_immediate", lang)
    return f"{word} · {i18n.fmt_date(as_of, lang)}" if as_of else word


def md_escape(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


def _light(light: str | None, lang: str) -> str:
    return "● " + i18n.t(f"lights.{light}", lang) if light in ("red", "yellow", "green") else "○"


def _render(d: Digest, ruleset: RuleSet, title: str, md: bool) -> str:
    lang, esc = d.lang, (md_escape if md else str)
    out = [f"### {title}" if md else title,
           i18n.t("notify.digest_to", lang, name=esc(d.display_name), date=i18n.fmt_date(d.as_of, lang),
                  version=d.data_version, rules=d.rules_version)]
    if d.stream:
        out.append(i18n.t("notify.digest_owner_intro", lang))
    out.append("")
    out.append(("**" + i18n.t("notify.digest_changes", lang) + "**") if md else i18n.t("notify.digest_changes", lang))
    changed = {k: c for k, c in d.counts.items() if c["fired"] or c["cleared"]}
    for key, c in changed.items():
        out.append(("- " if md else "  ") + i18n.t("notify.digest_count", lang, rule=ruleset.get(key).title(lang),
                                                   fired=c["fired"], cleared=c["cleared"], standing=c["standing"]))
    if not changed:
        out.append(("- " if md else "  ") + i18n.t("notify.digest_no_change", lang))
    for step in STEP_ORDER:
        mine = [e for e in d.entries if e.step == step]
        if not mine:
            continue
        zh, en = STEPS[step]
        out += ["", (f"**{zh if lang == 'zh' else en.capitalize()}**" if md else (zh if lang == "zh" else en.upper()))]
        for key in dict.fromkeys(e.rule_key for e in mine):
            rows = [e for e in mine if e.rule_key == key]
            head = i18n.t("notify.digest_rule", lang, rule=ruleset.get(key).title(lang), n=len(rows))
            out += ["", head, ""] if md else [head]  # Markdown: a paragraph of its own, then the list
            out += [_line(e, lang, md) for e in rows[:MAX_LISTED]]
            if len(rows) > MAX_LISTED:
                out.append(i18n.t("notify.digest_more", lang, n=len(rows) - MAX_LISTED))
    if not d.entries:
        out += ["", i18n.t("notify.digest_nothing_new", lang)]
    return "\n".join(out) + "\n"


def _line(e: Entry, lang: str, md: bool) -> str:
    esc = md_escape if md else str
    owner = i18n.t("notify.digest_owner", lang, owner=esc(e.owner)) if e.owner else ""
    if e.why:
        why = i18n.t("notify.why_sep", lang).join(i18n.t(f"notify.why_{w}", lang) for w in e.why)
        owner += ("（" + why + "）") if lang == "zh" else f" ({why})"
    head = f"{_light(e.light, lang)} {esc(e.name)}（{esc(e.region)}）" if lang == "zh" else \
        f"{_light(e.light, lang)} {esc(e.name)} ({esc(e.region)})"
    if md:
        return f"- {head} {owner}  \n  {esc(e.reason)} [{i18n.t('notify.digest_open', lang)}]({e.link})"
    return f"  {head} {owner}\n    {e.reason}\n    {e.link}"
