"""Engine replies as Telegram HTML: escaping, splitting and inline keyboards.

Every piece of content goes through `html.escape`, so no text (content or
otherwise) can break the HTML parse mode or inject markup. Tags only ever wrap
whole blocks, which lets a long reply be split between paragraphs without
cutting a tag in half; lengths are counted as Telegram counts them (after
entity parsing, in UTF-16 code units).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import MessageLimit

from bot.content.records import Route
from bot.dialogue import Button, Reply

MAX_TEXT = MessageLimit.MAX_TEXT_LENGTH  # 4096 UTF-16 units (content checks count characters)
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
_SEPARATORS = ("\n\n", "\n", " ")


@dataclass(frozen=True)
class Block:
    """A plain-text block and the one tag (b, i, pre or none) that wraps it."""

    text: str
    tag: str | None = None

    def html(self) -> str:
        body = html.escape(self.text, quote=False)
        return f"<{self.tag}>{body}</{self.tag}>" if self.tag else body


def utf16_len(text: str) -> int:
    """Telegram's length unit: characters outside the BMP count twice."""
    return len(text.encode("utf-16-le")) // 2


def blocks(reply: Reply, *, footer: str | None = None) -> list[Block]:
    """Lead paragraph, bold title, text, italic source line, footer - in reading order."""
    parts = [
        Block(reply.lead or ""),
        Block(reply.title or "", "b"),
        # A note for the record is one preformatted block: a tap copies it whole.
        Block(reply.text, "pre" if reply.kind == "note" else None),
        Block(reply.source or "", "i"),
        Block(footer or ""),
    ]
    return [b for b in parts if b.text.strip()]


def render(reply: Reply, *, footer: str | None = None, limit: int = MAX_TEXT) -> list[str]:
    """The reply as one or more HTML messages, each at most `limit` characters once parsed."""
    pieces = [Block(p, b.tag) for b in blocks(reply, footer=footer)
              for p in split_text(b.text, limit)]  # fmt: skip
    messages: list[list[Block]] = []
    size = 0
    for piece in pieces:
        n = utf16_len(piece.text)
        if messages and size + 2 + n <= limit:
            messages[-1].append(piece)
            size += 2 + n
        else:
            messages.append([piece])
            size = n
    return ["\n\n".join(b.html() for b in message) for message in messages]


def split_text(
    text: str,
    limit: int = MAX_TEXT,
    separators: tuple[str, ...] = _SEPARATORS,
) -> list[str]:
    """Split plain text into pieces of at most `limit`, at the widest boundary that works:
    paragraphs, then lines, then words, and only as a last resort inside a word."""
    text = text.strip()
    if utf16_len(text) <= limit:
        return [text] if text else []
    if not separators:
        return _hard_split(text, limit)
    sep, finer = separators[0], separators[1:]
    out: list[str] = []
    current = ""
    for part in text.split(sep):
        for piece in split_text(part, limit, finer):
            joined = f"{current}{sep}{piece}" if current else piece
            if utf16_len(joined) <= limit:
                current = joined
            else:
                out.append(current)
                current = piece
    if current:
        out.append(current)
    return out


def _hard_split(text: str, limit: int) -> list[str]:
    out, current, size = [], [], 0
    for ch in text:
        n = utf16_len(ch)
        if size + n > limit:
            out.append("".join(current))
            current, size = [], 0
        current.append(ch)
        size += n
    out.append("".join(current))
    return out


def keyboard(
    rows: tuple[tuple[Button, ...], ...] | list[tuple[Button, ...]],
) -> InlineKeyboardMarkup | None:
    """Engine buttons as an inline keyboard: links open a URL, the rest call back."""
    markup = [
        [InlineKeyboardButton(b.label, url=b.url) if b.url
         else InlineKeyboardButton(b.label, callback_data=b.data) for b in row]
        for row in rows
        if row
    ]  # fmt: skip
    return InlineKeyboardMarkup(markup) if markup else None


def route_html(route: Route) -> str:
    """A quick-link card for inline mode: name, number or address, and who it is for."""
    lines = [Block(route.name, "b"), Block(route.contact), Block(f"For: {route.for_whom}")]
    return "\n".join(b.html() for b in lines if b.text)
