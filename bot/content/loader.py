"""Load and validate the YAML content into typed objects.

Every problem is collected (not just the first) and reported as
``file:line: what is wrong -> how to fix it`` so a content editor at the
charity can repair a file without reading Python.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

from bot.content.flows import parse_flows
from bot.content.problems import Collector, ContentError, Problem
from bot.content.readers import (
    MAX_MESSAGE,
    MAX_TITLE,
    ROUTE_ID,
    VALID_URL,
    check_keys,
    check_route_refs,
    check_text,
    entries,
    mapping,
    str_list,
    text_field,
)
from bot.content.records import (
    AGE_CUES,
    BUILT_IN_ACTIONS,
    CATALOGUE,
    EVENTS,
    IN_SCOPE,
    LABELS,
    NATIONS,
    RESPONSE_VARIANTS,
    ROLES,
    UI_TEXTS,
    CommandSpec,
    Content,
    CrisisRules,
    FactRules,
    Flow,
    MatcherSettings,
    Response,
    Route,
)
from bot.content.text import render_node_text, render_response
from bot.content.yaml_lines import LDict, LList, YamlError, line_of, load_file

__all__ = ["ContentError", "Problem", "default_root", "load"]

CONTENT_DIRS = ("intents", "responses", "flows")
MAX_ANSWER = 1200  # characters of an answer's text: about 1.5 screens of a phone at default size
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
    "texts",
    "commands",
    "facts",
    "next_steps",
    "labels",
)


def default_root() -> Path:
    """The content root: $GUIDANCE_CONTENT, else the repository this package lives in."""
    env = os.environ.get("GUIDANCE_CONTENT")
    return Path(env) if env else Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- sections


def _parse_routes(c: Collector, docs: list[LDict]) -> dict[str, Route]:
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
        "copied",
        "ages",
        "not_for",
    )
    for rid, m, what in entries(c, docs, "route"):
        if not ROUTE_ID.match(str(rid)):
            c.add(m, f"route id '{rid}' must be lower-case letters, digits and _")
        if rid in routes:
            c.add(m, f"route '{rid}' is defined twice -> keep one")
        check_keys(c, m, fields, what)
        vals = {
            k: text_field(c, m, k, what, required=k in ("name", "for", "source", "copied"))
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
        if vals["not_for"] not in (None, *ROLES):
            c.add(m, f"{what} not_for -> one of {', '.join(ROLES)}", m.line_of("not_for"))
        if vals["ages"] not in (None, "under_18", "adult"):
            c.add(m, f"{what} ages -> write under_18 or adult (or leave it out)", m.line_of("ages"))
        if vals["copied"] and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", vals["copied"]):
            c.add(m, f"{what} copied date -> write it as YYYY-MM-DD", m.line_of("copied"))
        routes[str(rid)] = Route(
            id=str(rid),
            name=vals["name"] or str(rid),
            for_whom=vals["for"] or "",
            source=vals["source"] or "",
            copied=vals["copied"] or "",
            phone=vals["phone"],
            url=url,
            email=vals["email"],
            label=vals["label"],
            notes=vals["notes"],
            nations=vals["nations"],
            confidence=vals["confidence"],
            ages=vals["ages"],
            not_for=vals["not_for"],
        )
    return routes


def _parse_intents(c: Collector, docs: list[LDict]) -> dict[str, tuple[str, ...]]:
    intents: dict[str, tuple[str, ...]] = {}
    seen: dict[str, str] = {}
    for iid, m, what in entries(c, docs, "intent", CATALOGUE):
        check_keys(c, m, ("examples", "description"), what)
        home = Path(m.file)
        if home.stem != iid:
            c.add(
                m,
                f"{what} is in {home.name}, which is for "
                f"'{home.stem}' -> move these examples to intents/{iid}.yaml",
                m.line,
            )
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
            c.add("intents", f"intent '{iid}' has no examples -> add intents/{iid}.yaml", 1)
    return intents


def _parse_responses(
    c: Collector, docs: list[LDict], routes: dict[str, Route]
) -> dict[str, Response]:
    responses: dict[str, Response] = {}
    for rid, m, what in entries(c, docs, "response", (*CATALOGUE, *RESPONSE_VARIANTS)):
        if rid in responses:
            c.add(m, f"{what} is defined twice -> keep one")
        c.where[("response", str(rid))] = m
        check_keys(c, m, ("title", "text", "source", "routes", "related", "flow"), what)
        title = text_field(c, m, "title", what) or str(rid)
        text = text_field(c, m, "text", what) or ""
        source = text_field(c, m, "source", what) or ""
        if len(title) > MAX_TITLE:
            c.add(
                m,
                f"{what} title is {len(title)} characters -> at most {MAX_TITLE}",
                m.line_of("title"),
            )
        check_text(c, m.get("text", m), text, what, routes)
        rlist = str_list(c, m, "routes", what)
        check_route_refs(c, m.get("routes", m), rlist, what, routes)
        related = str_list(c, m, "related", what)
        for other in related:
            if other not in IN_SCOPE:
                c.add(m, f"{what} relates to unknown intent '{other}'", m.line_of("related"))
        if len(related) > 3:
            c.add(
                m,
                f"{what} has {len(related)} related topics -> at most 3",
                m.line_of("related"),
            )
        flow = text_field(c, m, "flow", what, required=False)
        responses[str(rid)] = Response(str(rid), title, text, source, rlist, related, flow)
    for iid in CATALOGUE:
        if iid not in responses:
            c.add("responses", f"intent '{iid}' has no response -> add one in responses/", 1)
    return responses


def _parse_lexicon(c: Collector, docs: list[LDict]) -> dict[str, str]:
    lexicon: dict[str, str] = {}
    for doc in docs:
        check_keys(c, doc, ("replace",), "the lexicon")
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


def _parse_matcher(c: Collector, docs: list[LDict]) -> MatcherSettings:
    values: dict[str, float] = dict(vars(MatcherSettings()))
    for doc in docs:
        check_keys(c, doc, tuple(values), "the matcher settings")
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


def _crisis_patterns(c: Collector, doc: LDict, key: str) -> list[str]:
    """A pattern list, each pattern compiled once to catch mistakes at their line."""
    out = []
    for pattern in str_list(c, doc, key, "the crisis rules"):
        try:
            re.compile(pattern)
        except re.error as exc:
            c.add(
                doc, f"crisis pattern '{pattern}' is not a valid pattern ({exc})", doc.line_of(key)
            )
            continue
        out.append(pattern)
    return out


THRESHOLDS = (
    "crisis",
    "possible",
    "topic_veto",
    "danger_veto",
    "nearest_floor",
    "frame_veto",
    "pattern_veto",
)


def _parse_crisis(c: Collector, docs: list[LDict]) -> CrisisRules:
    keys = ("topic", "general", "frame", "urgent", "right_now", "signs")
    lists: dict[str, list[str]] = {k: [] for k in keys}
    examples: dict[str, list[str]] = {"at_risk": [], "possible": [], "near_misses": []}
    categories: dict[str, tuple[str, ...]] = {}
    thresholds: dict[str, float] = {}
    for doc in docs:
        check_keys(c, doc, (*lists, *examples, "danger", "thresholds"), "the crisis rules")
        danger = doc.get("danger")
        if isinstance(danger, LDict):  # category: [patterns]
            for category in danger:
                categories[str(category)] = tuple(_crisis_patterns(c, danger, category))
        elif danger is not None:
            categories["danger"] = tuple(_crisis_patterns(c, doc, "danger"))
        for key, out in lists.items():
            out += _crisis_patterns(c, doc, key)
        for key, out in examples.items():
            out += str_list(c, doc, key, "the crisis rules")
        for tier, value in (doc.get("thresholds") or {}).items():
            if tier not in THRESHOLDS or not isinstance(value, int | float):
                c.add(
                    doc,
                    "crisis thresholds are " + ", ".join(f"'{name}: N'" for name in THRESHOLDS),
                    doc.line_of("thresholds"),
                )
            else:
                thresholds[str(tier)] = float(value)
    danger_all = tuple(p for ps in categories.values() for p in ps)
    if not danger_all:
        c.add(
            "intents/crisis_patterns.yaml",
            "no crisis 'danger' patterns -> the crisis detector needs them",
            1,
        )
    return CrisisRules(
        danger=danger_all,
        **{k: tuple(v) for k, v in lists.items()},
        categories=categories,
        at_risk=tuple(examples["at_risk"]),
        possible=tuple(examples["possible"]),
        near_misses=tuple(examples["near_misses"]),
        thresholds=thresholds,
    )


def _parse_menu(
    c: Collector, docs: list[Any], responses: dict[str, Response], flows: dict[str, Flow]
) -> tuple[tuple[str, str], ...]:
    menu: list[tuple[str, str]] = []
    for doc in docs:
        for item in doc:
            m = mapping(c, item, doc, "a menu entry")
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


def _parse_links(c: Collector, docs: list[Any], routes: dict[str, Route]) -> tuple[str, ...]:
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


def _text_table(
    c: Collector, docs: list[LDict], known: tuple[str, ...], kind: str, routes: dict[str, Route]
) -> dict[str, str]:
    """A `name: text` block (ui texts, next steps, labels): known names only, texts checked."""
    table: dict[str, str] = {}
    for doc in docs:
        for key in doc:
            what = f"{kind} '{key}'"
            if key not in known:
                c.add(doc, f"unknown {what} -> use one of {', '.join(known)}", doc.line_of(key))
                continue
            value = text_field(c, doc, key, what)
            if value is not None:
                check_text(c, doc, value, what, routes)
                table[str(key)] = value
    return table


def _parse_texts(c: Collector, docs: list[LDict], routes: dict[str, Route]) -> dict[str, str]:
    texts = _text_table(c, docs, UI_TEXTS, "text", routes)
    missing = [k for k in UI_TEXTS if k not in texts]
    if missing and not c.problems:
        c.add(
            "responses", f"texts missing: {', '.join(missing)} -> add them to responses/ui.yaml", 1
        )
    return texts


def _parse_commands(
    c: Collector, docs: list[LDict], responses: dict[str, Response], flows: dict[str, Flow]
) -> dict[str, CommandSpec]:
    commands: dict[str, CommandSpec] = {}
    for name, m, what in entries(c, docs, "command"):
        check_keys(c, m, ("help", "does", "flow", "intent", "deep_link", "private_only"), what)
        if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
            c.add(m, f"{what}: a command is 1-32 of a-z, 0-9 and _", m.line)
            continue
        help_line = text_field(c, m, "help", what)
        kinds = [k for k in ("does", "flow", "intent") if k in m]
        if len(kinds) != 1:
            c.add(m, f"{what} needs exactly one of 'does:', 'flow:' or 'intent:'", m.line)
            continue
        (kind,) = kinds
        value = m[kind]
        known = {"does": BUILT_IN_ACTIONS, "flow": flows, "intent": responses}[kind]
        if not isinstance(value, str) or value not in known:
            c.add(m, f"{what}: {kind} '{value}' does not exist", m.line_of(kind))
            continue
        flags = {k: m.get(k, False) for k in ("deep_link", "private_only")}
        if any(not isinstance(v, bool) for v in flags.values()):
            c.add(m, f"{what}: deep_link and private_only are true or false", m.line)
            continue
        if help_line is not None:
            does, target = (value, None) if kind == "does" else (kind, value)
            commands[name] = CommandSpec(name, help_line, does, target, **flags)
    if "start" not in commands and not c.problems:
        c.add("responses", "no 'start' command -> add responses/commands.yaml", 1)
    return commands


def _parse_facts(c: Collector, docs: list[LDict]) -> FactRules:
    blocks: dict[str, dict[str, tuple[str, ...]]] = {k: {} for k in _FACT_BLOCKS}
    for doc in docs:
        check_keys(c, doc, tuple(_FACT_BLOCKS), "the case facts")
        for key, known in _FACT_BLOCKS.items():
            block = doc.get(key)
            if block is None:
                continue
            if not isinstance(block, LDict):
                c.add(doc, f"facts '{key}' must be 'name: [patterns]' lines", doc.line_of(key))
                continue
            for name in block:
                if name not in known:
                    c.add(block, f"unknown name '{name}' in {key} -> use one of {', '.join(known)}",
                          block.line_of(name))  # fmt: skip
                else:
                    blocks[key][str(name)] = tuple(_crisis_patterns(c, block, name))
    ages = blocks["ages"]
    return FactRules(
        roles=blocks["roles"],
        ages=tuple((AGE_CUES[k], ages[k]) for k in AGE_CUES if k in ages),
        events=blocks["events"],
        nations=blocks["nations"],
    )


_FACT_BLOCKS = {"roles": ROLES, "ages": tuple(AGE_CUES), "events": EVENTS, "nations": NATIONS}


def _parse_next_steps(c: Collector, docs: list[LDict], routes: dict[str, Route]) -> dict[str, str]:
    steps = _text_table(c, docs, ROLES, "next step for", routes)
    if docs and "unknown" not in steps and not c.problems:
        c.add(docs[0], "next steps need an 'unknown' line, used when the role is not known", 1)
    return steps


def _parse_labels(c: Collector, docs: list[LDict], routes: dict[str, Route]) -> dict[str, str]:
    labels = _text_table(c, docs, LABELS, "label", routes)
    missing = [k for k in LABELS if k not in labels]
    if missing and not c.problems:
        c.add("responses", f"labels missing: {', '.join(missing)} -> add responses/labels.yaml", 1)
    return labels


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
    c = Collector(root)
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
    flows = parse_flows(c, docs["flows"], routes)
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
        intents=intents,
        responses=responses,
        routes=routes,
        flows=flows,
        lexicon=lexicon,
        settings=settings,
        crisis=crisis,
        version=digest.hexdigest()[:8],
        menu=menu,
        links=links,
        texts=_parse_texts(c, docs["texts"], routes),
        commands=_parse_commands(c, docs["commands"], responses, flows),
        facts=_parse_facts(c, docs["facts"]),
        next_steps=_parse_next_steps(c, docs["next_steps"], routes),
        labels=_parse_labels(c, docs["labels"], routes),
    )
    if not c.problems:
        _check_lengths(c, content)
    if c.problems:
        raise ContentError(c.problems)
    return content


def _check_lengths(c: Collector, content: Content) -> None:
    """Render every answer and flow step once; none may exceed Telegram's limit, and no
    answer may run past about one and a half phone screens before its buttons."""
    for resp in content.responses.values():
        body = len(resp.text)
        if body > MAX_ANSWER:
            c.add(
                c.where.get(("response", resp.id), "responses"),
                f"response '{resp.id}' text is {body} characters -> keep it under {MAX_ANSWER} "
                "(about 1.5 phone screens); move detail into a guide or a related answer",
            )
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
