"""Which roles read personal data in feedback text, and how it is masked for the others.

Roles with the `personal_data` permission (stewards and administrators, who correct the raw rows) read
the text as uploaded. Every other role (leader, analyst, presenter; demo mode too) reads it masked: phone
and ID numbers (`analytics.privacy.mask`, as the hotline itself shows them), e-mail addresses, and
complainants' names, a surname before an honorific (张先生 → 某先生) and a name after a label
(联系人：王建国 → 联系人：***). Free text can still hold a name no rule recognises; docs/security.md says so.
"""
from __future__ import annotations

import re

from analytics import privacy
from analytics.auth import roles

# the commonest surnames (百家姓 by frequency); a name is recognised only before an honorific
_SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
             "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴"
             "莫孔向汤")
_HONORIFIC = re.compile(f"[{_SURNAMES}](?=(?:先生|女士|小姐|师傅|老师|大爷|大妈|阿姨|同志|老人))")
_LABELLED = re.compile(r"(姓名|联系人|投诉人|反映人|来电人|举报人|当事人)([:：\s]*)([\u4e00-\u9fff·]{2,4})")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


def mask_names(text: str | None) -> str | None:
    if text is None:
        return None
    text = _LABELLED.sub(lambda m: f"{m[1]}{m[2]}{'*' * len(m[3])}", text)
    text = _HONORIFIC.sub("某", text)
    return _EMAIL.sub("***@***", text)


def feedback_text(text: str | None, role: str) -> str | None:
    """Feedback text as `role` may read it."""
    if text is None:
        return None
    if roles.allowed(role, "personal_data"):
        return text
    return mask_names(privacy.mask(text))


# what separates the names of a list of people as ledgers write it: 、 , ， ; ； / | and white space (a full-width
# space too); a name never holds one of them
_NAME_LIST = re.compile(r"[、，,;；/|｜\s\u3000]+")


def split_names(text: str | None) -> list[str]:
    """The names of a list of people (an item's responsible leaders: "张明远、李卫国", "张明远, 李卫国；王五"), in
    order, each trimmed; [] for none."""
    return [n for n in _NAME_LIST.split(text or "") if n]


def person_names(text: str | None, role: str) -> str | None:
    """Names of people (an item's responsible leaders, as a ledger gives them) as `role` may read them: in full for
    roles with `personal_data`, else each name as its first character and stars (张明远 → 张**)."""
    if text is None:
        return None
    if roles.allowed(role, "personal_data"):
        return text
    return "、".join(n[:1] + "*" * (len(n) - 1) for n in split_names(text))
