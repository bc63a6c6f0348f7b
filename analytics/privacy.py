"""Personal data in free text (feedback from the public): masked before anyone reads it on screen.

Mobile and landline numbers keep their first three and last four digits (138****1234, the form the
hotline itself uses); 18-digit resident ID numbers keep only their region prefix and check digit.
Which roles read the unmasked text is decided by access control (analytics/auth/masking.py: stewards and
administrators); everyone else reads it masked.
"""
from __future__ import annotations

import re

_ID_CARD = re.compile(r"(?<!\d)(\d{6})\d{11}([\dXx])(?!\d)")
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})-?\d{3,4}(\d{4})(?!\d)")


def mask(text: str | None) -> str | None:
    """`text` with phone and ID numbers masked; None stays None."""
    if text is None:
        return None
    text = _ID_CARD.sub(lambda m: f"{m[1]}{'*' * 11}{m[2]}", text)
    text = _MOBILE.sub(lambda m: f"{m[1]}****{m[2]}", text)
    return _LANDLINE.sub(lambda m: f"{m[1]}-****{m[2]}", text)
