"""The Telegram HTML layer: any text renders as well-formed HTML in parts of at most 4096
UTF-16 units that say exactly what the reply says (hypothesis, see tests/support/hostile.py),
and a long reply splits between paragraphs."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from bot.channels.telegram import html as tgformat
from bot.dialogue import Reply
from tests.support import TEXTS
from tests.support.hostile import ANY_CHAR, CHEAP, check_rendered, texts


@CHEAP
@given(
    text=texts(surrogates=False),
    title=st.text(ANY_CHAR, max_size=60),
    source=st.one_of(st.none(), texts(surrogates=False)),
)
def test_tgformat_renders_any_text_well_formed(
    text: str,
    title: str,
    source: str | None,
) -> None:
    reply = Reply(text, title, source)
    if not any(b.text.strip() for b in tgformat.blocks(reply)):
        return  # nothing to show: adapters never send an all-blank reply
    check_rendered(reply)
    check_rendered(replace(reply, lead=TEXTS["media_deleted"]), footer=TEXTS["group_footer"])


def test_long_reply_splits_at_paragraphs() -> None:
    paragraph = "word " * 300  # 1500 characters
    reply = Reply("\n\n".join([paragraph.strip()] * 6), "Title & <more>", "Source: x")
    parts = tgformat.render(reply)
    assert len(parts) == 3 and all(len(p) <= 4096 for p in parts)
    assert parts[0].startswith("<b>Title &amp; &lt;more&gt;</b>")
    assert parts[-1].endswith("<i>Source: x</i>")
    assert tgformat.split_text("x" * 5000) == ["x" * 4096, "x" * 904]
    assert tgformat.split_text("😀" * 3000, 4096)[0] == "😀" * 2048  # UTF-16 units
