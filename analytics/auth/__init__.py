"""Access control: accounts, roles and permissions, region scope, masking, and the audit trail.

No Streamlit here: `ui/auth.py` draws the sign-in form and keeps the session; this package decides.
See docs/security.md.
"""
from __future__ import annotations

from dataclasses import dataclass

from analytics.db.queries import NATIONAL, Scope
from analytics.auth import roles


@dataclass(frozen=True)
class User:
    """Who is using the app in this session: an account's name, role and scope (or demo mode's stand-in)."""

    username: str
    display_name: str
    role: str
    scope: Scope = NATIONAL
    method: str = "password"  # password | sso | demo

    def may(self, permission: str) -> bool:
        return roles.allowed(self.role, permission)

    @property
    def is_demo(self) -> bool:
        return self.role == "demo"


DEMO = User("demo", "demo", "demo", NATIONAL, "demo")


def user_of(account) -> User:
    """The session user for an account (`accounts.Account`)."""
    return User(account.username, account.display_name, account.role,
                Scope(tuple(account.region_codes), tuple(account.domains)))
