"""How a message leaves: e-mail over SMTP (STARTTLS and sign-in per settings), a webhook posting the Markdown message
that government messaging platforms' group robots accept (DingTalk-style, signed when a secret is set), and the
in-app inbox. Each raises `DeliveryError` with the reason in words when the message did not go; the outbox retries.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import smtplib
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from email.message import EmailMessage

from analytics import settings

TIMEOUT_SECONDS = 15


class DeliveryError(Exception):
    """The message was not delivered; str() is the reason (kept in the outbox, in English; `explain` words it in
    the reader's language)."""


# the reasons `send_email` and `send_webhook` give, and their locale keys (notify.err_*): the outbox keeps the
# English, the admin page shows it in the reader's language with the server's own words kept as they came
_REASONS = (
    (re.compile(r"no mail server configured \(COCKPIT_SMTP_HOST\)$"), "err_no_smtp"),
    (re.compile(r"mail server (?P<host>\S+) does not offer STARTTLS$"), "err_no_starttls"),
    (re.compile(r"mail server (?P<host>\S+): (?P<detail>.*)$", re.S), "err_smtp"),
    (re.compile(r"no webhook configured \(COCKPIT_WEBHOOK_URL\)$"), "err_no_webhook"),
    (re.compile(r"webhook (?P<host>\S+): HTTP (?P<code>\d+)$"), "err_webhook_http"),
    (re.compile(r"webhook (?P<host>\S+): errcode (?P<code>[^:]*): (?P<detail>.*)$", re.S), "err_webhook_refused"),
    (re.compile(r"webhook (?P<host>\S+): (?P<detail>.*)$", re.S), "err_webhook_unreachable"),
)


def explain(reason: str | None, lang: str) -> str:
    """A delivery failure's reason in the reader's language (what the server said stays as it said it)."""
    from analytics import i18n

    if not reason:
        return ""
    for pattern, key in _REASONS:
        if (m := pattern.match(reason)) is not None:
            return i18n.t(f"notify.{key}", lang, **m.groupdict())
    return reason


def send_email(to: str, subject: str, text: str, message_id: str) -> None:
    """One plain-text UTF-8 e-mail. The Message-ID is the outbox's idempotency key, so a mail system that sees the
    same message twice (a crash between sending and recording it) can tell."""
    host = settings.get("COCKPIT_SMTP_HOST")
    if not host:
        raise DeliveryError("no mail server configured (COCKPIT_SMTP_HOST)")
    msg = EmailMessage()
    msg["Subject"], msg["From"], msg["To"] = subject, settings.get("COCKPIT_SMTP_FROM"), to
    msg["Message-ID"] = f"<{message_id}@cockpit.notify>"
    msg.set_content(text)
    try:
        with smtplib.SMTP(host, settings.get("COCKPIT_SMTP_PORT"), timeout=TIMEOUT_SECONDS) as smtp:
            smtp.ehlo()
            if settings.get("COCKPIT_SMTP_STARTTLS"):
                if not smtp.has_extn("starttls"):  # never fall back to sending the password in the clear
                    raise DeliveryError(f"mail server {host} does not offer STARTTLS")
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            user = settings.get("COCKPIT_SMTP_USER")
            if user:
                smtp.login(user, settings.get("COCKPIT_SMTP_PASSWORD"))
            smtp.send_message(msg)
    except (smtplib.SMTPException, OSError, socket.timeout) as e:
        raise DeliveryError(f"mail server {host}: {type(e).__name__}: {str(e)[:200]}") from None


def sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's robot signature: HMAC-SHA256 of "<timestamp>\\n<secret>" keyed with the secret, in base64."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signed_url(url: str, secret: str, timestamp_ms: int | None = None) -> str:
    """`url` with `timestamp` and `sign` added when there is a secret (unchanged otherwise)."""
    if not secret:
        return url
    ts = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    sep = "&" if urllib.parse.urlparse(url).query else "?"
    return f"{url}{sep}{urllib.parse.urlencode({'timestamp': ts, 'sign': sign(secret, ts)})}"


def payload(title: str, markdown: str) -> dict:
    return {"msgtype": "markdown", "markdown": {"title": title, "text": markdown}}


def send_webhook(title: str, markdown: str) -> None:
    """POST the Markdown message to the group robot; a robot answers HTTP 200 with {"errcode": 0} when it took it."""
    url = settings.get("COCKPIT_WEBHOOK_URL")
    if not url:
        raise DeliveryError("no webhook configured (COCKPIT_WEBHOOK_URL)")
    body = json.dumps(payload(title, markdown), ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(signed_url(url, settings.get("COCKPIT_WEBHOOK_SECRET")), data=body, method="POST",
                                 headers={"Content-Type": "application/json; charset=utf-8"})
    host = urllib.parse.urlparse(url).netloc
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_SECONDS) as resp:
            answer = resp.read(10_000)
    except urllib.error.HTTPError as e:
        raise DeliveryError(f"webhook {host}: HTTP {e.code}") from None
    except (urllib.error.URLError, OSError) as e:
        raise DeliveryError(f"webhook {host}: {getattr(e, 'reason', e)}") from None
    try:
        reply = json.loads(answer or b"{}")
    except ValueError:
        reply = {}
    if isinstance(reply, dict) and reply.get("errcode", 0) != 0:
        raise DeliveryError(f"webhook {host}: errcode {reply.get('errcode')}: {str(reply.get('errmsg'))[:200]}")
