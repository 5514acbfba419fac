"""Inline mode: answers and quick links as articles a user can drop into any chat."""

from __future__ import annotations

from telegram import InlineQueryResultArticle, InputTextMessageContent
from telegram.constants import ParseMode

from bot.channels.telegram import html as tgformat
from bot.channels.telegram.html import NO_PREVIEW
from bot.content import Content
from bot.dialogue import Button, Reply


def articles(answers: list[Reply], content: Content) -> list[InlineQueryResultArticle]:
    """The engine's answers first (the crisis answer first when there is one), then the links."""
    return [*(_answer_article(r) for r in answers), *_route_articles(content)]


def _answer_article(reply: Reply) -> InlineQueryResultArticle:
    """An answer as an article: its first line as the description, its links kept."""
    links = [row for row in (tuple(b for b in r if b.url) for r in reply.buttons) if row]
    return InlineQueryResultArticle(
        id=f"a-{reply.intent}",
        title=reply.title or str(reply.intent),
        description=reply.text.split("\n", 1)[0][:120],
        input_message_content=_inline_text(tgformat.render(reply)[0]),
        reply_markup=tgformat.keyboard(links),
    )


def _route_articles(content: Content) -> list[InlineQueryResultArticle]:
    """One article per quick-link route: who it is for, its number, its link."""
    out = []
    for rid in content.links:
        route = content.routes[rid]
        button = Button(route.button_label, url=route.url) if route.url else None
        out.append(
            InlineQueryResultArticle(
                id=f"r-{rid}",
                title=route.name,
                description=route.for_whom,
                input_message_content=_inline_text(tgformat.route_html(route)),
                reply_markup=tgformat.keyboard([(button,)] if button else []),
            )
        )
    return out


def _inline_text(text: str) -> InputTextMessageContent:
    return InputTextMessageContent(text, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW)
