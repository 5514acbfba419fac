"""Load and validate the YAML content into typed objects.

Every problem is collected (not just the first) and reported as
``file:line: what is wrong -> how to fix it`` so a content editor at the
charity can repair a file without reading Python.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.model import (
    CATALOGUE,
    IN_SCOPE,
    Choice,
    Content,
    CrisisRules,
    Flow,
    MatcherSettings,
    Node,
    Option,
    Response,
    Route,
    Rule,
    Section,
)
from bot.render import PLACEHOLDER, render_node_text, render_response
from bot.yamlsrc import LDict, LList, YamlError, line_of, load_file

CONTENT_DIRS = ("intents", "responses", "flows")
TOP_KEYS = (
    "intents",
    "responses",
    "routes",
    "flows",
    "lexicon",
    "matcher",
    "crisis",
    "menu",
    "links",
)
MAX_MESSAGE = 4096
MAX_TITLE = 40
MAX_LABEL = 40
URL_IN_TEXT = re.compile(r"https?://|www\.|\b[\w.+-]+@[\w-]+\.[\w.]+")
PHONE_IN_TEXT = re.compile(
    r"(?<![\d£,.])(?:0\d{2,4}[ -]?\d{3}[ -]?\d{3,4}|999|101|111|116 ?123)(?![\d,])"
)
VALID_URL = re.compile(r"^https://[A-Za-z0-9.-]+\.[A-Za-z]{2,}(/[^\s<>\"']*)?$")
ROUTE_ID = re.compile(r"^[a-z][a-z0-9_]*$")


def default_root() -> Path:
    """The content root: $GUIDANCE_CONTENT, else the repository this package lives in."""
    env = os.environ.get("GUIDANCE_CONTENT")
    return Path(env) if env else Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class ContentError(Exception):
    """Content failed validation; `problems` lists every error found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} content problem(s)")
        self.problems = problems


class _Collector:
    """Gathers problems with paths shown relative to the content root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []
        # Where each response and flow node was written, for checks made after parsing.
        self.where: dict[tuple[str, ...], LDict] = {}

    def rel(self, file: str) -> str:
        try:
            return str(Path(file).resolve().relative_to(self.root.resolve()))
        except ValueError:
            return file

    def add(self, where: Any, message: str, line: int | None = None) -> None:
        file = getattr(where, "file", None) or (where if isinstance(where, str) else "?")
        self.problems.append(Problem(self.rel(file), line or line_of(where, 1), message))


# ---------------------------------------------------------------- helpers


def _keys(c: _Collector, m: LDict, allowed: Iterable[str], what: str) -> None:
    allowed = tuple(allowed)
    for key in m:
        if key not in allowed:
            c.add(
                m,
                f"unknown key '{key}' in {what} -> use one of: {', '.join(allowed)}",
                m.line_of(key),
            )


def _str(c: _Collector, m: LDict, key: str, what: str, required: bool = True) -> str | None:
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


def _list(c: _Collector, m: LDict, key: str, what: str) -> tuple[str, ...]:
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


def _items(c: _Collector, m: LDict, key: str, what: str) -> list:
    """A key that holds a list of blocks; anything else is reported and ignored."""
    value = m.get(key)
    if value is None:
        return []
    if isinstance(value, list):
        return value
    c.add(m, f"'{key}' of {what} must be a list of '- key: value' blocks", m.line_of(key))
    return []


def _mapping(c: _Collector, value: Any, where: Any, what: str) -> LDict | None:
    if isinstance(value, LDict):
        return value
    c.add(where, f"{what} must be a block of 'key: value' lines")
    return None


def _check_text(c: _Collector, where: Any, text: str, what: str, routes: dict[str, Route]) -> None:
    """Numbers and links belong in routes.yaml; placeholders must resolve; no markup."""
    for name in PLACEHOLDER.findall(text):
        if name not in routes:
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


def _check_route_refs(
    c: _Collector, where: Any, ids: Iterable[str], what: str, routes: dict[str, Route]
) -> None:
    for rid in ids:
        if rid not in routes:
            c.add(
                where,
                f"{what} lists route '{rid}' which is not defined -> "
                "add it to responses/routes.yaml or fix the name",
            )


def _entries(
    c: _Collector, docs: list[LDict], kind: str, known: Iterable[str] | None = None
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
            m = _mapping(c, raw, doc, what)
            if m is not None:
                yield str(key), m, what


# ---------------------------------------------------------------- sections


def _parse_routes(c: _Collector, docs: list[LDict]) -> dict[str, Route]:
    routes: dict[str, Route] = {}
    fields = (
        "name",
        "phone",
        "url",
        "email",
        "label",
        "for",
        "notes",
        "nations",
        "source",
        "confidence",
        "checked",
    )
    for rid, m, what in _entries(c, docs, "route"):
        if not ROUTE_ID.match(str(rid)):
            c.add(m, f"route id '{rid}' must be lower-case letters, digits and _")
        if rid in routes:
            c.add(m, f"route '{rid}' is defined twice -> keep one")
        _keys(c, m, fields, what)
        vals = {
            k: _str(c, m, k, what, required=k in ("name", "for", "source", "checked"))
            for k in fields
        }
        url = vals["url"]
        if url and not VALID_URL.match(url):
            c.add(m, f"{what} has url '{url}' -> use a full https:// address", m.line_of("url"))
        if not (vals["phone"] or url or vals["email"]):
            c.add(m, f"{what} has no phone, url or email -> add at least one")
        if vals["phone"] and not re.fullmatch(r"[0-9 +()-]{3,20}", vals["phone"]):
            c.add(
                m,
                f"{what} phone '{vals['phone']}' -> digits and spaces only",
                m.line_of("phone"),
            )
        if vals["checked"] and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", vals["checked"]):
            c.add(m, f"{what} checked date -> write it as YYYY-MM-DD", m.line_of("checked"))
        routes[str(rid)] = Route(
            id=str(rid),
            name=vals["name"] or str(rid),
            for_whom=vals["for"] or "",
            source=vals["source"] or "",
            checked=vals["checked"] or "",
            phone=vals["phone"],
            url=url,
            email=vals["email"],
            label=vals["label"],
            notes=vals["notes"],
            nations=vals["nations"],
            confidence=vals["confidence"],
        )
    return routes


def _parse_intents(c: _Collector, docs: list[LDict]) -> dict[str, tuple[str, ...]]:
    intents: dict[str, tuple[str, ...]] = {}
    seen: dict[str, str] = {}
    for iid, m, what in _entries(c, docs, "intent", CATALOGUE):
        _keys(c, m, ("examples", "description"), what)
        examples = m.get("examples")
        if not isinstance(examples, list) or not examples:
            c.add(m, f"{what} has no examples -> add 'examples:' with one question a line")
            continue
        kept = list(intents.get(str(iid), ()))
        for ex in examples:
            if not isinstance(ex, str) or not ex.strip():
                c.add(
                    m,
                    f"{what} has an empty or non-text example -> remove it",
                    line_of(ex, m.line_of("examples")),
                )
                continue
            key = " ".join(ex.lower().split())
            if key in seen:
                other = seen[key]
                msg = (
                    f"example '{ex}' appears twice in {what} -> remove one"
                    if other == iid
                    else f"example '{ex}' is also under intent '{other}' -> keep it in one"
                )
                c.add(ex, msg)
                continue
            seen[key] = str(iid)
            kept.append(str(ex).strip())
        intents[str(iid)] = tuple(kept)
    for iid in IN_SCOPE:
        if iid not in intents:
            c.add("intents", f"intent '{iid}' has no examples -> add it to a file in intents/", 1)
    return intents


def _parse_responses(
    c: _Collector, docs: list[LDict], routes: dict[str, Route]
) -> dict[str, Response]:
    responses: dict[str, Response] = {}
    for rid, m, what in _entries(c, docs, "response", CATALOGUE):
        if rid in responses:
            c.add(m, f"{what} is defined twice -> keep one")
        c.where[("response", str(rid))] = m
        _keys(c, m, ("title", "text", "source", "routes", "related", "flow"), what)
        title = _str(c, m, "title", what) or str(rid)
        text = _str(c, m, "text", what) or ""
        source = _str(c, m, "source", what) or ""
        if len(title) > MAX_TITLE:
            c.add(
                m,
                f"{what} title is {len(title)} characters -> at most {MAX_TITLE}",
                m.line_of("title"),
            )
        _check_text(c, m.get("text", m), text, what, routes)
        rlist = _list(c, m, "routes", what)
        _check_route_refs(c, m.get("routes", m), rlist, what, routes)
        related = _list(c, m, "related", what)
        for other in related:
            if other not in IN_SCOPE:
                c.add(m, f"{what} relates to unknown intent '{other}'", m.line_of("related"))
        if len(related) > 3:
            c.add(
                m,
                f"{what} has {len(related)} related topics -> at most 3",
                m.line_of("related"),
            )
        flow = _str(c, m, "flow", what, required=False)
        responses[str(rid)] = Response(str(rid), title, text, source, rlist, related, flow)
    for iid in CATALOGUE:
        if iid not in responses:
            c.add("responses", f"intent '{iid}' has no response -> add one in responses/", 1)
    return responses


def _parse_node(c: _Collector, fid: str, nid: str, m: LDict, routes: dict[str, Route]) -> Node:
    what = f"node '{nid}' of flow '{fid}'"
    kind = _str(c, m, "type", what) or "result"
    allowed = {
        "question": ("type", "text", "buttons"),
        "checklist": ("type", "text", "options", "done"),
        "branch": ("type", "rules", "else"),
        "result": ("type", "text", "sections", "routes", "source"),
    }
    if kind not in allowed:
        c.add(
            m,
            f"{what} has type '{kind}' -> use question, checklist, branch or result",
            m.line_of("type"),
        )
        return Node(nid, "result")
    _keys(c, m, allowed[kind], what)
    text = _str(c, m, "text", what, required=kind in ("question", "checklist")) or ""
    if text:
        _check_text(c, m.get("text", m), text, what, routes)
    choices: list[Choice] = []
    options: list[Option] = []
    rules: list[Rule] = []
    sections: list[Section] = []
    for item in _items(c, m, "buttons", what):
        b = _mapping(c, item, m, f"a button of {what}")
        if b is not None:
            _keys(c, b, ("label", "goto", "set"), f"a button of {what}")
            label = _str(c, b, "label", f"a button of {what}") or "?"
            if len(label) > MAX_LABEL:
                c.add(b, f"button label '{label}' is too long -> at most {MAX_LABEL} characters")
            choices.append(
                Choice(
                    label,
                    _str(c, b, "goto", f"button '{label}'") or "",
                    _str(c, b, "set", f"button '{label}'", required=False),
                )
            )
    for item in _items(c, m, "options", what):
        o = _mapping(c, item, m, f"an option of {what}")
        if o is not None:
            _keys(c, o, ("id", "label"), f"an option of {what}")
            options.append(
                Option(
                    _str(c, o, "id", f"an option of {what}") or "?",
                    _str(c, o, "label", f"an option of {what}") or "?",
                )
            )
    for item in _items(c, m, "rules", what):
        r = _mapping(c, item, m, f"a rule of {what}")
        if r is not None:
            _keys(c, r, ("if_any", "if_all", "goto"), f"a rule of {what}")
            rules.append(
                Rule(
                    _str(c, r, "goto", f"a rule of {what}") or "",
                    _list(c, r, "if_any", what),
                    _list(c, r, "if_all", what),
                )
            )
    for item in _items(c, m, "sections", what):
        s = _mapping(c, item, m, f"a section of {what}")
        if s is not None:
            _keys(c, s, ("text", "routes", "when_any", "when_none"), f"a section of {what}")
            stext = _str(c, s, "text", f"a section of {what}") or ""
            _check_text(c, s.get("text", s), stext, f"a section of {what}", routes)
            sroutes = _list(c, s, "routes", what)
            _check_route_refs(c, s, sroutes, f"a section of {what}", routes)
            sections.append(
                Section(
                    stext, sroutes, _list(c, s, "when_any", what), _list(c, s, "when_none", what)
                )
            )
    nroutes = _list(c, m, "routes", what)
    _check_route_refs(c, m, nroutes, what, routes)
    if kind == "question" and not choices:
        c.add(m, f"{what} is a question with no buttons -> add 'buttons:'")
    if kind == "checklist" and not options:
        c.add(m, f"{what} is a checklist with no options -> add 'options:'")
    if kind == "result" and not (text or sections):
        c.add(m, f"{what} is a result with no text -> add 'text:' or 'sections:'")
    done = _str(c, m, "done", what, required=kind == "checklist")
    otherwise = _str(c, m, "else", what, required=kind == "branch")
    source = _str(c, m, "source", what, required=kind == "result")
    return Node(
        nid,
        kind,
        text,
        tuple(choices),
        tuple(options),
        done,
        tuple(rules),
        otherwise,
        tuple(sections),
        nroutes,
        source,
    )


def _check_flow_graph(c: _Collector, flow: Flow, where: LDict) -> None:
    nodes = flow.nodes

    def at(nid: str) -> LDict:
        return c.where.get(("node", flow.id, nid), where)

    if flow.start not in nodes:
        c.add(where, f"flow '{flow.id}' starts at '{flow.start}' which is not a node")
        return
    for node in nodes.values():
        for target in node.targets():
            if target not in nodes:
                c.add(
                    at(node.id),
                    f"node '{node.id}' of flow '{flow.id}' goes to '{target}' "
                    "which does not exist -> fix the name or add the node",
                )
    set_flags = {ch.set for n in nodes.values() for ch in n.choices if ch.set}
    set_flags |= {o.id for n in nodes.values() for o in n.options}
    for node in nodes.values():
        used = [f for r in node.rules for f in (*r.if_any, *r.if_all)]
        used += [f for s in node.sections for f in (*s.when_any, *s.when_none)]
        for flag in used:
            if flag not in set_flags:
                c.add(
                    at(node.id),
                    f"node '{node.id}' of flow '{flow.id}' tests '{flag}' which no "
                    "button or option sets -> fix the name",
                )
    # Reachability and "every path ends in a result" (no loops, no dead ends).
    state: dict[str, int] = {}

    def visit(nid: str, trail: tuple[str, ...]) -> None:
        if nid not in nodes:
            return
        if state.get(nid) == 1:
            c.add(
                at(trail[-1] if trail else nid),
                f"flow '{flow.id}' loops: {' -> '.join((*trail, nid))} -> "
                "every path must end in a result",
            )
            return
        if state.get(nid) == 2:
            return
        state[nid] = 1
        node = nodes[nid]
        if node.type != "result" and not node.targets():
            c.add(at(nid), f"node '{nid}' of flow '{flow.id}' leads nowhere -> add a goto")
        for target in node.targets():
            visit(target, (*trail, nid))
        state[nid] = 2

    visit(flow.start, ())
    for nid in nodes:
        if nid not in state:
            c.add(
                at(nid),
                f"node '{nid}' of flow '{flow.id}' cannot be reached from "
                f"'{flow.start}' -> link it or remove it",
            )


def _parse_flows(c: _Collector, docs: list[LDict], routes: dict[str, Route]) -> dict[str, Flow]:
    flows: dict[str, Flow] = {}
    for fid, m, what in _entries(c, docs, "flow"):
        if fid in flows:
            c.add(m, f"{what} is defined twice -> keep one")
        _keys(c, m, ("title", "start", "nodes"), what)
        title = _str(c, m, "title", what) or str(fid)
        start = _str(c, m, "start", what) or ""
        raw_nodes = _mapping(c, m.get("nodes"), m, f"'nodes' of {what}") or LDict()
        nodes = {}
        for nid, nraw in raw_nodes.items():
            nm = _mapping(c, nraw, raw_nodes, f"node '{nid}'")
            if nm is not None:
                c.where[("node", str(fid), str(nid))] = nm
                nodes[str(nid)] = _parse_node(c, str(fid), str(nid), nm, routes)
        flow = Flow(str(fid), title, start, nodes)
        _check_flow_graph(c, flow, m)
        flows[str(fid)] = flow
    return flows


def _parse_lexicon(c: _Collector, docs: list[LDict]) -> dict[str, str]:
    lexicon: dict[str, str] = {}
    for doc in docs:
        _keys(c, doc, ("replace",), "the lexicon")
        repl = doc.get("replace") or LDict()
        if not isinstance(repl, dict):
            c.add(doc, "lexicon 'replace' must be 'variant: canonical' lines")
            repl = {}
        for variant, canonical in repl.items():
            if not isinstance(canonical, str) or not str(variant).strip():
                c.add(
                    repl,
                    f"lexicon entry '{variant}' must map to text",
                    getattr(repl, "line_of", lambda _k: 1)(variant),
                )
                continue
            lexicon[str(variant).lower().strip()] = canonical.lower().strip()
    return lexicon


def _parse_matcher(c: _Collector, docs: list[LDict]) -> MatcherSettings:
    values: dict[str, float] = dict(vars(MatcherSettings()))
    for doc in docs:
        _keys(c, doc, tuple(values), "the matcher settings")
        for key in values:
            if key in doc:
                v = doc[key]
                limit = 100
                if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= limit:
                    c.add(
                        doc, f"matcher '{key}' must be a number from 0 to {limit}", doc.line_of(key)
                    )
                else:
                    values[key] = float(v)
    if values["low"] > values["high"]:
        c.add(docs[0] if docs else "intents", "matcher 'low' is above 'high' -> swap them", 1)
    return MatcherSettings(**values)


def _parse_crisis(c: _Collector, docs: list[LDict]) -> CrisisRules:
    lists: dict[str, list[str]] = {"danger": [], "topic": [], "general": [], "urgent": []}
    for doc in docs:
        _keys(c, doc, tuple(lists), "the crisis rules")
        for key, out in lists.items():
            for pattern in _list(c, doc, key, "the crisis rules"):
                try:
                    re.compile(pattern)
                except re.error as exc:
                    c.add(
                        doc,
                        f"crisis pattern '{pattern}' is not a valid pattern ({exc})",
                        doc.line_of(key),
                    )
                    continue
                out.append(pattern)
    if not lists["danger"]:
        c.add(
            "intents/crisis.yaml",
            "no crisis 'danger' patterns -> the crisis detector needs them",
            1,
        )
    return CrisisRules(*(tuple(lists[k]) for k in ("danger", "topic", "general", "urgent")))


def _parse_menu(
    c: _Collector, docs: list[Any], responses: dict[str, Response], flows: dict[str, Flow]
) -> tuple[tuple[str, str], ...]:
    menu: list[tuple[str, str]] = []
    for doc in docs:
        for item in doc:
            m = _mapping(c, item, doc, "a menu entry")
            if m is None or len(m) != 1:
                c.add(doc, "a menu entry must be one '- intent: ID' or '- flow: ID'")
                continue
            ((kind, target),) = m.items()
            known = {"intent": responses, "flow": flows, "command": ("links",)}
            if kind not in known:
                c.add(m, f"menu entry kind '{kind}' -> use intent, flow or command")
            elif not isinstance(target, str) or target not in known[kind]:
                c.add(m, f"menu entry {kind} '{target}' does not exist")
            else:
                menu.append((str(kind), str(target)))
    return tuple(menu)


def _parse_links(c: _Collector, docs: list[Any], routes: dict[str, Route]) -> tuple[str, ...]:
    links: list[str] = []
    for doc in docs:
        for rid in doc:
            if not isinstance(rid, str) or rid not in routes:
                c.add(
                    rid if isinstance(rid, str) else doc,
                    f"quick link '{rid}' is not a route -> define it in responses/routes.yaml",
                )
            else:
                links.append(str(rid))
    if not links:
        c.add("responses", "no quick links -> add responses/links.yaml with 'links: [...]'", 1)
    return tuple(links)


def _files(root: Path) -> list[Path]:
    out: list[Path] = []
    for d in CONTENT_DIRS:
        folder = root / d
        if folder.is_dir():
            out += sorted(p for p in folder.glob("*.y*ml") if p.suffix in (".yaml", ".yml"))
    return out


def load(root: Path | None = None) -> Content:
    """Load every content file under `root`; raise ContentError listing all problems."""
    root = Path(root) if root else default_root()
    c = _Collector(root)
    docs: dict[str, list[Any]] = {k: [] for k in TOP_KEYS}
    digest = hashlib.sha256()
    files = _files(root)
    if not files:
        c.add(str(root), "no content files found -> expected intents/, responses/ and flows/", 1)
    for path in files:
        digest.update(path.read_bytes())
        try:
            data = load_file(path)
        except YamlError as exc:
            c.add(exc.file, f"{exc.problem} -> fix the YAML at this line", exc.line)
            continue
        if not isinstance(data, LDict) or len(data) != 1:
            c.add(
                str(path),
                f"a content file must have exactly one top-level key: {', '.join(TOP_KEYS)}",
                line_of(data, 1),
            )
            continue
        ((key, body),) = data.items()
        if key not in TOP_KEYS:
            c.add(
                str(path),
                f"unknown top-level key '{key}' -> use one of {', '.join(TOP_KEYS)}",
                data.line_of(key),
            )
            continue
        shape = LList if key in ("menu", "links") else LDict
        if not isinstance(body, shape):
            wanted = "a list of '- ...' lines" if shape is LList else "indented entries"
            c.add(str(path), f"'{key}:' must be followed by {wanted}", data.line_of(key))
            continue
        docs[key].append(body)

    routes = _parse_routes(c, docs["routes"])
    intents = _parse_intents(c, docs["intents"])
    responses = _parse_responses(c, docs["responses"], routes)
    flows = _parse_flows(c, docs["flows"], routes)
    for resp in responses.values():
        if resp.flow and resp.flow not in flows:
            where = c.where.get(("response", resp.id), LDict())
            c.add(
                where,
                f"response '{resp.id}' starts flow '{resp.flow}' which does not "
                "exist -> fix the name",
                where.line_of("flow"),
            )
    lexicon = _parse_lexicon(c, docs["lexicon"])
    settings = _parse_matcher(c, docs["matcher"])
    crisis = _parse_crisis(c, docs["crisis"])
    menu = _parse_menu(c, docs["menu"], responses, flows)
    links = _parse_links(c, docs["links"], routes)
    content = Content(
        intents,
        responses,
        routes,
        flows,
        lexicon,
        settings,
        crisis,
        digest.hexdigest()[:8],
        menu,
        links,
    )
    if not c.problems:
        _check_lengths(c, content)
    if c.problems:
        raise ContentError(c.problems)
    return content


def _check_lengths(c: _Collector, content: Content) -> None:
    """Render every answer and flow step once; none may exceed Telegram's limit."""
    for resp in content.responses.values():
        size = len(render_response(content, resp))
        if size > MAX_MESSAGE:
            c.add(
                c.where.get(("response", resp.id), "responses"),
                f"response '{resp.id}' renders to {size} characters -> "
                f"shorten it below {MAX_MESSAGE}",
            )
    for flow in content.flows.values():
        for node in flow.nodes.values():
            size = len(render_node_text(content, node, None))
            if size > MAX_MESSAGE:
                c.add(
                    c.where.get(("node", flow.id, node.id), "flows"),
                    f"node '{node.id}' of flow '{flow.id}' renders to {size} "
                    f"characters -> shorten it below {MAX_MESSAGE}",
                )
