"""Group robots take few, short messages: about 20 a minute per robot, and a Markdown text of at most 4096 bytes
(WeCom; DingTalk 20000). So the digests queued for one robot go out batched and paced:

- **batched** (`batch`): the fresh digests queued for one robot (outbox `address`) and period become *posts*, new
  outbox rows of stream `post`, in the order they were queued: as many whole digests per post as fit in
  COCKPIT_WEBHOOK_MAX_BYTES; a digest too long for one post is split between its items (never inside a line) into
  parts headed "(1/3)", "(2/3)" …. The digests are marked `batched` with the post that carries them (the last
  part), in the same transaction: nothing is lost, and a digest is batched once.
- **paced** (`reserve`): before each post, a slot of the robot's budget of COCKPIT_WEBHOOK_PER_MINUTE messages
  in any 60 seconds is taken in `robot_sends` (one transaction, so two schedulers share the budget); without a
  free slot the post goes back to `queued` with the time the next slot frees (its not-before time), and the later
  posts to that robot wait behind it, so they arrive in order.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from analytics import i18n, settings
from analytics.auth.accounts import now_text

SEPARATOR = "\n\n---\n\n"  # between two people's digests in one post
WINDOW_SECONDS = 60


@dataclass(frozen=True)
class Source:
    id: int
    username: str
    period: str
    title: str
    markdown: str
    data_version: int
    rules_version: int
    address: str


@dataclass(frozen=True)
class Post:
    title: str
    markdown: str
    sources: tuple[int, ...]  # outbox ids of the digests it carries (the last part of a split digest carries it)
    usernames: tuple[str, ...]


def size(text: str) -> int:
    return len(text.encode("utf-8"))


def units(markdown: str) -> list[str]:
    """A digest's Markdown as the pieces it may be split between: each line, with an entry's continuation lines
    (indented by two spaces: its reason and link) kept with it."""
    out: list[str] = []
    for line in markdown.rstrip("\n").split("\n"):
        if line.startswith("  ") and out:
            out[-1] += "\n" + line
        else:
            out.append(line)
    return out


def _cut(text: str, limit: int) -> str:
    """`text` cut to `limit` bytes at a character boundary, with an ellipsis (only a single item longer than a whole
    message is cut)."""
    data = text.encode("utf-8")[:max(limit - 3, 0)]
    return data.decode("utf-8", errors="ignore") + "…"


def split(src: Source, limit: int) -> list[Post]:
    """A digest too long for one message, in parts of at most `limit` bytes, split between its pieces: each part
    repeats the digest's heading and greeting, marked (k/n)."""
    pieces = units(src.markdown)
    head_n = next((i for i, p in enumerate(pieces) if p == ""), len(pieces))
    head, body = pieces[:head_n], pieces[head_n:]

    def header(k: int, n: int) -> str:
        first = f"{head[0]} ({k}/{n})" if head else f"({k}/{n})"
        return "\n".join([first, *head[1:]])

    budget = limit - size(header(99, 99)) - 2  # the header, a blank line, then the pieces, each with its newline
    chunks: list[list[str]] = [[]]
    used = 0
    for piece in body:
        if piece == "" and not chunks[-1]:
            continue  # no part starts with a blank line
        cost = size(piece) + 1
        if chunks[-1] and used + cost > budget:
            chunks.append([])
            used = 0
            if piece == "":
                continue
        if cost > budget:
            piece, cost = _cut(piece, budget - 1), budget
        chunks[-1].append(piece)
        used += cost
    n = len(chunks)
    posts = []
    for k, chunk in enumerate(chunks, 1):
        text = header(k, n) + "\n\n" + "\n".join(chunk) + "\n"
        posts.append(Post(f"{src.title} ({k}/{n})", text, (src.id,) if k == n else (), (src.username,)))
    return posts


def pack(sources: list[Source], limit: int) -> list[Post]:
    """The posts of one robot and period, in order: whole digests joined while they fit in `limit` bytes; a digest
    that does not fit alone split into parts of its own."""
    posts: list[Post] = []
    current: list[Source] = []

    def flush() -> None:
        if current:
            posts.append(Post(current[0].title if len(current) == 1 else
                              i18n.t("notify.batch_title", _lang(current[0]), title=current[0].title,
                                     n=len(current)),
                              SEPARATOR.join(s.markdown.rstrip("\n") for s in current) + "\n",
                              tuple(s.id for s in current), tuple(s.username for s in current)))
            current.clear()

    for src in sources:
        if size(src.markdown) > limit:
            flush()
            posts += split(src, limit)
            continue
        joined = size(SEPARATOR.join(s.markdown.rstrip("\n") for s in [*current, src]) + "\n")
        if current and joined > limit:
            flush()
        current.append(src)
    flush()
    return posts


def _lang(src: Source) -> str:
    """The language of a queued digest, from its title (the outbox keeps no language): a Chinese title has Han
    characters, an English one none."""
    return "en" if src.title.isascii() else "zh"


def batch(con, now: float) -> int:
    """Turn the fresh webhook digests due at `now` into posts (inside the caller's write transaction); how many
    posts were queued."""
    rows = con.execute(
        "SELECT id, username, period, title, body_markdown, data_version, rules_version, address FROM outbox "
        "WHERE channel = 'webhook' AND stream <> 'post' AND state = 'queued' AND attempts = 0 AND post_id IS NULL "
        "AND next_attempt_at <= ? ORDER BY id", (now,)).fetchall()
    groups: dict[tuple[str, str], list[Source]] = {}
    for r in rows:
        src = Source(*r)
        groups.setdefault((src.address, src.period), []).append(src)
    limit, n = settings.get("COCKPIT_WEBHOOK_MAX_BYTES"), 0
    stamp = now_text()
    for (address, period), found in groups.items():
        version, rules_version = max(s.data_version for s in found), max(s.rules_version for s in found)
        for k, post in enumerate(pack(found, limit), 1):
            cur = con.execute(
                "INSERT INTO outbox (idem_key, username, channel, address, period, title, body_text, body_markdown, "
                "last_seq, data_version, rules_version, state, next_attempt_at, created_at, stream) "
                "VALUES (?, ?, 'webhook', ?, ?, ?, '', ?, 0, ?, ?, 'queued', ?, ?, 'post')",
                (f"post|{found[0].id}|{k}", ", ".join(dict.fromkeys(post.usernames))[:500], address, period,
                 post.title, post.markdown, version, rules_version, now, stamp))
            if post.sources:
                con.executemany("UPDATE outbox SET state = 'batched', post_id = ? WHERE id = ?",
                                [(cur.lastrowid, i) for i in post.sources])
            n += 1
    return n


def robot_key(url: str) -> str:
    """A robot's name in the pace ledger: a hash of its URL (whose token is a secret, so never stored)."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


def reserve(con, robot: str, now: float) -> float:
    """Take a slot of `robot`'s budget at `now` (inside the caller's write transaction): 0 when taken, else the
    seconds until the oldest send of the last minute leaves the window."""
    per_minute = settings.get("COCKPIT_WEBHOOK_PER_MINUTE")
    con.execute("DELETE FROM robot_sends WHERE sent_at < ?", (now - 3600,))
    if per_minute <= 0:
        return 0.0
    sent = [r[0] for r in con.execute("SELECT sent_at FROM robot_sends WHERE robot = ? AND sent_at > ? "
                                      "ORDER BY sent_at", (robot, now - WINDOW_SECONDS)).fetchall()]
    if len(sent) < per_minute:
        con.execute("INSERT INTO robot_sends (robot, sent_at) VALUES (?, ?)", (robot, now))
        return 0.0
    return sent[len(sent) - per_minute] + WINDOW_SECONDS - now
