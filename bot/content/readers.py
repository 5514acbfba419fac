"""Reading fields of content files, each wrong type or missing value a located problem.

Shared by the content loader and the flow loader: a reader never raises,
so one run of `validate` lists everything an editor has to fix.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Iterator
from typing import Any

from bot.content.problems import Collector
from bot.content.records import Route
from bot.content.text import PLACEHOLDER
from bot.content.yaml_lines import LDict

MAX_MESSAGE = 4096  # Python characters; Telegram counts UTF-16 units (channels/telegram/html.py)
MAX_TITLE = 40
MAX_LABEL = 40
URL_IN_TEXT = re.compile(r"https?://|www\.|\b[\w.+-]+@[\w-]+\.[\w.]+")
PHONE_IN_TEXT = re.compile(
    r"(?<![\d£,.])(?:0\d{2,4}[ -]?\d{3}[ -]?\d{3,4}|999|101|111|116 ?123)(?![\d,])"
)
VALID_URL = re.compile(r"^https://[A-Za-z0-9.-]+\.[A-Za-z]{2,}(/[^\s<>\"']*)?$")
ROUTE_ID = re.compile(r"^[a-z][a-z0-9_]*$")
RESERVED = (
    "next_step",
    "title",
    "under_18",
    "adult",
    "not_police",
    "copied",
)  # filled from the case facts, not routes


# ---------------------------------------------------------------- helpers


def check_keys(c: Collector, m: LDict, allowed: Iterable[str], what: str) -> None:
    allowed = tuple(allowed)
    for key in m:
        if key not in allowed:
            c.add(
                m,
                f"unknown key '{key}' in {what} -> use one of: {', '.join(allowed)}",
                m.line_of(key),
            )


def text_field(c: Collector, m: LDict, key: str, what: str, required: bool = True) -> str | None:
    value = m.get(key)
    if value is None:
        if required:
            c.add(m, f"{what} has no '{key}' -> add '{key}: ...'")
        return None
    if isinstance(value, datetime.date):
        value = value.isoformat()
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        c.add(m, f"'{key}' of {what} must be text (put it in quotes)", m.line_of(key))
        return None
    text = str(value).strip()
    if required and not text:
        c.add(m, f"'{key}' of {what} is empty -> write the text", m.line_of(key))
        return None
    return text or None


def str_list(c: Collector, m: LDict, key: str, what: str) -> tuple[str, ...]:
    value = m.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        c.add(m, f"'{key}' of {what} must be a list, e.g. [a, b]", m.line_of(key))
        return ()
    out = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            c.add(m, f"'{key}' of {what} has an item that is not text", m.line_of(key))
        else:
            out.append(item.strip())
    return tuple(out)


def block_list(c: Collector, m: LDict, key: str, what: str) -> list:
    """A key that holds a list of blocks; anything else is reported and ignored."""
    value = m.get(key)
    if value is None:
        return []
    if isinstance(value, list):
        return value
    c.add(m, f"'{key}' of {what} must be a list of '- key: value' blocks", m.line_of(key))
    return []


def mapping(c: Collector, value: Any, where: Any, what: str) -> LDict | None:
    if isinstance(value, LDict):
        return value
    c.add(where, f"{what} must be a block of 'key: value' lines")
    return None


def check_text(c: Collector, where: Any, text: str, what: str, routes: dict[str, Route]) -> None:
    """Numbers and links belong in routes.yaml; placeholders must resolve; no markup."""
    for name in PLACEHOLDER.findall(text):
        if name not in routes and name not in RESERVED:
            c.add(
                where,
                f"{what} uses {{{name}}} but no route '{name}' exists -> "
                "define it in responses/routes.yaml or fix the name",
            )
    bare = PLACEHOLDER.sub("", text)
    if URL_IN_TEXT.search(bare):
        c.add(
            where,
            f"{what} contains a web or email address -> put it in "
            "responses/routes.yaml and list the route under 'routes:'",
        )
    if PHONE_IN_TEXT.search(bare):
        c.add(
            where,
            f"{what} contains a phone number -> put it in responses/routes.yaml "
            "and insert it with {route_id}",
        )
    if re.search(r"</?[a-zA-Z][^>]*>", bare):
        c.add(where, f"{what} contains HTML tags -> write plain text; the bot formats it")


def check_route_refs(
    c: Collector, where: Any, ids: Iterable[str], what: str, routes: dict[str, Route]
) -> None:
    for rid in ids:
        if rid not in routes:
            c.add(
                where,
                f"{what} lists route '{rid}' which is not defined -> "
                "add it to responses/routes.yaml or fix the name",
            )


def entries(
    c: Collector, docs: list[LDict], kind: str, known: Iterable[str] | None = None
) -> Iterator[tuple[str, LDict, str]]:
    """Each `id: {...}` entry of the documents as (id, mapping, description).

    Entries with an ID outside `known`, or that are not mappings, are
    reported and skipped.
    """
    allowed = set(known) if known is not None else None
    for doc in docs:
        for key, raw in doc.items():
            what = f"{kind} '{key}'"
            if allowed is not None and key not in allowed:
                c.add(
                    doc,
                    f"unknown intent '{key}' in {kind}s -> use an ID from the intent catalogue",
                    doc.line_of(key),
                )
                continue
            m = mapping(c, raw, doc, what)
            if m is not None:
                yield str(key), m, what
