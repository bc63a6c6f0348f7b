"""Roles and what each may do: one declared table drives the menu, every action and docs/security.md.

A page is shown to a role when the role holds the page's `permission` (analytics/pages/__init__.py, default
`view`); an action (a download, an upload, a rollback, a retraining, a meeting note, managing users) is
offered and carried out only when the role holds its permission. Nothing else decides.

`demo` is the role of everybody while no account exists (demo mode): everything but managing users,
with personal data masked as for the other roles.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Permission:
    key: str
    zh: str
    en: str


PERMISSIONS: tuple[Permission, ...] = (
    Permission("view", "查看驾驶舱与分析页面（仅本人范围内的数据）",
               "see the cockpit and the analysis pages (data of one's own scope only)"),
    Permission("export", "下载表格（CSV、XLSX）与会议材料（PPTX、PDF）",
               "download tables (CSV, XLSX) and meeting decks (PPTX, PDF)"),
    Permission("present", "主持会议汇报：保存每页会议记录", "run review meetings: save the notes of each slide"),
    Permission("curate", "判定疑似重复：标记“非重复”、撤销标记（仅本人范围内的事项）",
               "judge probable duplicates: mark a group “not duplicates” and undo marks (items of one's own scope only)"),
    Permission("annotate", "添加事件标注（政策出台、督查、灾害、数据缺口），删除本人所加的标注（仅本人范围内的地区）",
               "add event notes (a policy issued, an inspection, a disaster, a data gap) and delete one's own "
               "(regions of one's own scope only)"),
    Permission("upload", "上传数据并提交为新的数据版本", "upload extracts and commit them as a new data version"),
    Permission("rollback", "将数据恢复到之前的版本（仅全国范围）",
               "restore the data to an earlier version (national scope only)"),
    Permission("retrain", "重新训练滞后风险模型", "retrain the slip-risk model"),
    Permission("personal_data", "查看未脱敏的反馈原文（姓名、电话、身份证号）",
               "read feedback text unmasked (names, phone and ID numbers)"),
    Permission("view_audit", "查看审计日志（仅全国范围）", "see the audit log (national scope only)"),
    Permission("manage_users", "管理账号：新增、停用、重置密码、修改角色与范围（仅全国范围）",
               "manage accounts: add, disable, reset passwords, change role and scope (national scope only)"),
)
BY_KEY = {p.key: p for p in PERMISSIONS}


@dataclass(frozen=True)
class Role:
    key: str
    zh: str
    en: str
    permissions: frozenset[str]
    needs: str  # why the role holds what it holds (docs/security.md)


def _role(key: str, zh: str, en: str, permissions: str, needs: str) -> Role:
    perms = frozenset(permissions.split())
    unknown = perms - set(BY_KEY)
    assert not unknown, f"role {key}: unknown permissions {sorted(unknown)}"
    return Role(key, zh, en, perms, needs)


ROLES: tuple[Role, ...] = (
    _role("leader", "领导", "leader", "view export",
          "reads where things stand and what is red, and takes tables into briefings; never needs who complained"),
    _role("analyst", "分析员", "analyst", "view export curate annotate retrain",
          "slices and compares, exports for reports, judges probable duplicates, notes the events that explain a "
          "curve, retrains the slip-risk model after checking it"),
    _role("presenter", "汇报人", "presenter", "view export present",
          "runs the review meetings, records decisions per slide and exports the deck"),
    _role("steward", "数据专员", "data steward", "view curate annotate upload rollback personal_data",
          "loads departmental extracts and corrects them, so sees the raw rows, including the feedback text, "
          "judges which probable duplicates are not, and notes data gaps and events"),
    _role("admin", "管理员", "administrator", " ".join(p.key for p in PERMISSIONS),
          "manages accounts and reads the audit log; holds every permission"),
)
DEMO = _role("demo", "演示", "demo", "view export present curate annotate upload rollback retrain view_audit",
             "demo mode (no account exists yet): anyone can see everything except account management")
BY_ROLE = {r.key: r for r in ROLES + (DEMO,)}
ROLE_KEYS = tuple(r.key for r in ROLES)  # the roles an account may have (demo is not one)


def allowed(role: str, permission: str) -> bool:
    """Whether `role` holds `permission`; an unknown permission is a programming error."""
    if permission not in BY_KEY:
        raise KeyError(f"unknown permission {permission!r}")
    r = BY_ROLE.get(role)
    return r is not None and permission in r.permissions


def label(role: str, lang: str) -> str:
    r = BY_ROLE[role]
    return r.zh if lang == "zh" else r.en


def markdown(pages) -> str:
    """docs/security.md's permission tables, from the declarations (pages: analytics.pages.PAGES)."""
    roles = ROLES + (DEMO,)
    head = "| permission | " + " | ".join(f"{r.key} ({r.zh})" for r in roles) + " |"
    rule = "|---|" + "---|" * len(roles)
    lines = ["## Permissions by role", "", head, rule]
    for p in PERMISSIONS:
        marks = " | ".join("✓" if p.key in r.permissions else "–" for r in roles)
        lines.append(f"| `{p.key}`: {p.en} / {p.zh} | {marks} |")
    lines += ["", "## Pages by role", "", "Each page needs one permission (`analytics/pages/__init__.py`); the menu "
              "shows a role only the pages it may open, and a page opened by its URL checks again.", "",
              "| page | needs | " + " | ".join(r.key for r in roles) + " |", "|---|---|" + "---|" * len(roles)]
    for page in pages:
        marks = " | ".join("✓" if page.permission in r.permissions else "–" for r in roles)
        lines.append(f"| `{page.key}` | `{page.permission}` | {marks} |")
    lines += ["", "## Why each role holds what it holds", ""]
    lines += [f"- **{r.key}** ({r.zh}): {r.needs}." for r in roles]
    return "\n".join(lines) + "\n"
