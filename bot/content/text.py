"""Content as the text a user reads: routes filled in, contact lines, source lines.

The dialogue and the length check in content validation both use these, so
what is validated is exactly what is sent.
"""

from __future__ import annotations

import re

from bot.content.records import Content, Node, Response, Route

PLACEHOLDER = re.compile(r"\{([a-z0-9_]+)\}")


def fill(content: Content, text: str) -> str:
    """Replace {route_id} with the route's number (or name)."""
    routes = content.routes
    return PLACEHOLDER.sub(
        lambda m: routes[m[1]].inline_value if m[1] in routes else m[0], text
    ).strip()


def route_line(route: Route) -> str | None:
    """A one-line contact for routes people call, text or email; None for link-only routes."""
    if not route.contact:
        return None
    return f"• {route.name}: {route.contact}"


def route_block(content: Content, ids: tuple[str, ...], text: str = "") -> str:
    """Contact lines for the routes, skipping any whose number the text already gives."""
    named = set(PLACEHOLDER.findall(text))
    lines = [line for rid in ids if rid not in named and (line := route_line(content.routes[rid]))]
    return "\n".join(lines)


def source_line(content: Content, source: str | None) -> str | None:
    """Where an answer comes from, as a user could look it up: the guidance's section, or
    the services' names ("Services: Childline, CEOP")."""
    if not source or source.lower().startswith("about this bot"):
        return None
    head, sep, rest = source.partition(":")
    if sep and head.strip().lower() in ("services", "routes", "reference routes"):
        return f"Source: {rest.strip()}"
    return f"{content.texts.get('source_prefix', 'Source')}, {source}"


def join(*parts: str | None) -> str:
    return "\n\n".join(p for p in parts if p)


def response_body(content: Content, resp: Response) -> str:
    return join(fill(content, resp.text), route_block(content, resp.routes, resp.text))


def render_response(content: Content, resp: Response) -> str:
    """The whole message as a user sees it (title, body, routes, source)."""
    return join(resp.title, response_body(content, resp), source_line(content, resp.source))


def node_parts(
    content: Content, node: Node, flags: frozenset[str] | None
) -> tuple[str, tuple[str, ...]]:
    """A flow node's text (with its contact lines) and routes, sections chosen by the flags.

    `flags=None` includes every section (the worst case, for length checks).
    """
    texts = [node.text] if node.text else []
    routes = list(node.routes)
    for section in node.sections:
        if flags is None or section.applies(flags):
            texts.append(section.text)
            routes += [r for r in section.routes if r not in routes]
    raw = join(*texts)
    return join(fill(content, raw), route_block(content, tuple(routes), raw)), tuple(routes)


def render_node_text(content: Content, node: Node, flags: frozenset[str] | None) -> str:
    text, _ = node_parts(content, node, flags)
    return join(text, source_line(content, node.source))
