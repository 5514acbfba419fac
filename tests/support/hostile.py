"""Hostile input for the property tests, and what every reply must survive.

`texts()` mixes control characters, right-to-left scripts, emoji and zero-width joiners,
markup look-alikes and lengths from 0 to 100,000. `check_replies` / `check_rendered` say
what any reply must be: non-empty, well-formed Telegram HTML (the emulator's strict parser)
in parts of at most 4096 UTF-16 units, with valid buttons.

Surrogates: Python can't encode a lone surrogate as UTF-8, yet a str can hold one (PTB
decodes a JSON "\\ud800" escape into one, and the terminal reads undecodable bytes as
surrogate escapes), so the engine and matcher properties include them. The direct HTML
property (tests/channels/test_html.py) leaves them out: what the HTML layer renders is
content (UTF-8 YAML) and engine text, never user input, and a lone surrogate has no UTF-16
length to check.
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from bot.channels.telegram import html as tgformat
from bot.dialogue import Reply
from tests.support import TEXTS
from tests.support.emulator import _check_markup, parse_html

PROPERTY = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
CHEAP = settings(PROPERTY, max_examples=150)


# ---------------------------------------------------------------- text strategies

ANY_CHAR = st.characters(exclude_categories=("Cs",))  # every code point but surrogates
CONTROL = st.one_of(
    st.characters(max_codepoint=0x1F), st.sampled_from(["\x7f", "\x85", "\u2028", "\u2029", "\x00"])
)
RTL = st.characters(min_codepoint=0x0590, max_codepoint=0x06FF)  # Hebrew and Arabic
EMOJI = st.sampled_from(
    [
        "😀",
        "👩\u200d👩\u200d👧",
        "🏳️\u200d🌈",
        "👍🏽",
        "🇬🇧",
        "🧑\u200d💻",
        "\u200d",
        "\u200c",
        "\u200b",
        "\ufeff",
        "\u202e",
        "\u2066",
        "\u200f",
        "\ufe0f",
        "\u0301",
        "𝕙𝕖𝕝𝕡",
    ]
)
MARKUP = st.sampled_from(
    [
        "<b>",
        "</b>",
        "*_[",
        "&amp;",
        "</i>",
        "<a href=x>",
        "<",
        ">",
        "&",
        "&#0;",
        "&lt;",
        "<br/>",
        "<tg-spoiler>",
        "```",
        "]]>",
        "<!--",
        "{emergency}",
        "{0}",
        "%s",
        "%(x)s",
        "\\",
    ]
)
WORDS = st.sampled_from(
    [
        "what are the signs",
        "he says he will kill himself",
        "tonight",
        "he paid £200",
        "sextortion",
        "report to ceop",
        "999",
        "nudes",
        "block him",
        "help",
        "/start",
        "my son",
    ]
)
SURROGATE = st.characters(categories=("Cs",))


def pieces(*, surrogates: bool) -> st.SearchStrategy[str]:
    parts = [
        st.text(ANY_CHAR, max_size=40),
        st.text(CONTROL, max_size=5),
        st.text(RTL, min_size=1, max_size=20),
        EMOJI,
        MARKUP,
        WORDS,
        st.sampled_from([" ", "\n", "\n\n", "\t", "\r\n"]),
    ]
    if surrogates:
        parts.append(st.text(SURROGATE, min_size=1, max_size=3))
    return st.one_of(*parts)


def texts(*, surrogates: bool = True) -> st.SearchStrategy[str]:
    """Mostly short mixtures; about one in six repeated up to 1,000..100,000 characters."""
    short = st.lists(pieces(surrogates=surrogates), max_size=12).map("".join)
    long = st.builds(
        lambda seed, n: (seed * (n // len(seed) + 1))[:n],
        short.filter(bool),
        st.integers(1_000, 100_000),
    )
    return st.one_of(short, short, short, short, short, long)


HUNDRED_K = ("kill himself " + "\u202eكيف 👩\u200d👩\u200d👧 <b>&amp;</b> ") * 3000


# ---------------------------------------------------------------- checks


def check_rendered(reply: Reply, **extra: str) -> None:
    """Each part is well-formed Telegram HTML (the emulator's strict parser), uses only the
    tags tgformat writes, is non-empty and at most 4096 UTF-16 units once parsed, and the
    parts together say exactly what the blocks say (whitespace aside)."""
    parts = tgformat.render(reply, **extra)
    assert parts, reply
    shown = []
    for part in parts:
        allowed = {"b", "i", "pre"} if reply.kind == "note" else {"b", "i"}  # a note is <pre>
        assert set(re.findall(r"</?([A-Za-z][\w-]*)", part)) <= allowed, part[:200]
        text, _entities = parse_html(part)  # raises on unbalanced tags or bad entities
        assert text.strip()
        assert tgformat.utf16_len(text) <= tgformat.MAX_TEXT
        shown.append(text)
    blocks = tgformat.blocks(reply, **extra)
    assert "".join("".join(shown).split()) == "".join("".join(b.text for b in blocks).split())
    markup = tgformat.keyboard(reply.buttons)
    if markup is not None:
        _check_markup(markup.to_dict())  # callback data 1..64 bytes, texts, https links


def check_replies(replies: list[Reply]) -> None:
    assert replies
    for reply in replies:
        assert reply.text.strip(), reply
        check_rendered(reply)
        check_rendered(reply, footer=TEXTS["group_footer"])


def reply_strings(replies: list[Reply]) -> list[str]:
    out = []
    for r in replies:
        out += [r.text, r.title or "", r.source or ""]
        out += [x for row in r.buttons for b in row for x in (b.label, b.data or "", b.url or "")]
    return out
