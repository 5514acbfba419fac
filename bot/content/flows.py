"""Flows: read the nodes of `flows/*.yaml` and check the shape of each flow.

Every goto must exist, every node must be reachable from the start, every
path must end in a result (no loops, no dead ends), and every flag a branch
or section tests must be set by some button or option.
"""

from __future__ import annotations

from bot.content.problems import Collector
from bot.content.readers import (
    MAX_LABEL,
    block_list,
    check_keys,
    check_route_refs,
    check_text,
    entries,
    mapping,
    str_list,
    text_field,
)
from bot.content.records import Choice, Flow, Node, Option, Route, Rule, Section
from bot.content.yaml_lines import LDict


def _items(c: Collector, m: LDict, key: str, what: str, keys: tuple[str, ...]) -> list[LDict]:
    """The mappings of one block list (buttons, options, rules, sections), keys checked."""
    out = []
    for item in block_list(c, m, key, what):
        entry = mapping(c, item, m, f"an item of '{key}' of {what}")
        if entry is not None:
            check_keys(c, entry, keys, f"an item of '{key}' of {what}")
            out.append(entry)
    return out


def _choice(c: Collector, b: LDict, what: str, routes: dict[str, Route]) -> Choice:
    label = text_field(c, b, "label", f"a button of {what}") or "?"
    if len(label) > MAX_LABEL:
        c.add(b, f"button label '{label}' is too long -> at most {MAX_LABEL} characters")
    goto = text_field(c, b, "goto", f"button '{label}'") or ""
    return Choice(label, goto, text_field(c, b, "set", f"button '{label}'", required=False))


def _option(c: Collector, o: LDict, what: str, routes: dict[str, Route]) -> Option:
    where = f"an option of {what}"
    return Option(text_field(c, o, "id", where) or "?", text_field(c, o, "label", where) or "?")


def _rule(c: Collector, r: LDict, what: str, routes: dict[str, Route]) -> Rule:
    goto = text_field(c, r, "goto", f"a rule of {what}") or ""
    return Rule(goto, str_list(c, r, "if_any", what), str_list(c, r, "if_all", what))


def _section(c: Collector, s: LDict, what: str, routes: dict[str, Route]) -> Section:
    where = f"a section of {what}"
    text = text_field(c, s, "text", where) or ""
    check_text(c, s.get("text", s), text, where, routes)
    ids = str_list(c, s, "routes", what)
    check_route_refs(c, s, ids, where, routes)
    return Section(text, ids, str_list(c, s, "when_any", what), str_list(c, s, "when_none", what))


# Each block a node may hold: its key, the keys of its items, and the reader of an item.
_BLOCKS = {
    "buttons": (("label", "goto", "set"), _choice),
    "options": (("id", "label"), _option),
    "rules": (("if_any", "if_all", "goto"), _rule),
    "sections": (("text", "routes", "when_any", "when_none"), _section),
}
_ALLOWED = {
    "question": ("type", "text", "buttons"),
    "checklist": ("type", "text", "options", "done"),
    "branch": ("type", "rules", "else"),
    "result": ("type", "text", "sections", "routes", "source"),
}
_NEEDS = {"question": "buttons", "checklist": "options"}


def _parse_node(c: Collector, fid: str, nid: str, m: LDict, routes: dict[str, Route]) -> Node:
    """One flow step: its type decides which keys and blocks it may have."""
    what = f"node '{nid}' of flow '{fid}'"
    kind = text_field(c, m, "type", what) or "result"
    if kind not in _ALLOWED:
        c.add(
            m,
            f"{what} has type '{kind}' -> use question, checklist, branch or result",
            m.line_of("type"),
        )
        return Node(nid, "result")
    check_keys(c, m, _ALLOWED[kind], what)
    text = text_field(c, m, "text", what, required=kind in _NEEDS) or ""
    if text:
        check_text(c, m.get("text", m), text, what, routes)
    blocks = {
        key: tuple(read(c, item, what, routes) for item in _items(c, m, key, what, keys))
        for key, (keys, read) in _BLOCKS.items()
    }
    node_routes = str_list(c, m, "routes", what)
    check_route_refs(c, m, node_routes, what, routes)
    needed = _NEEDS.get(kind)
    if needed and not blocks[needed]:
        c.add(m, f"{what} is a {kind} with no {needed} -> add '{needed}:'")
    if kind == "result" and not (text or blocks["sections"]):
        c.add(m, f"{what} is a result with no text -> add 'text:' or 'sections:'")
    return Node(
        id=nid,
        type=kind,
        text=text,
        choices=blocks["buttons"],
        options=blocks["options"],
        done=text_field(c, m, "done", what, required=kind == "checklist"),
        rules=blocks["rules"],
        otherwise=text_field(c, m, "else", what, required=kind == "branch"),
        sections=blocks["sections"],
        routes=node_routes,
        source=text_field(c, m, "source", what, required=kind == "result"),
    )


def _check_flow_graph(c: Collector, flow: Flow, where: LDict) -> None:
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


def parse_flows(c: Collector, docs: list[LDict], routes: dict[str, Route]) -> dict[str, Flow]:
    flows: dict[str, Flow] = {}
    for fid, m, what in entries(c, docs, "flow"):
        if fid in flows:
            c.add(m, f"{what} is defined twice -> keep one")
        check_keys(c, m, ("title", "start", "nodes"), what)
        title = text_field(c, m, "title", what) or str(fid)
        start = text_field(c, m, "start", what) or ""
        raw_nodes = mapping(c, m.get("nodes"), m, f"'nodes' of {what}") or LDict()
        nodes = {}
        for nid, nraw in raw_nodes.items():
            nm = mapping(c, nraw, raw_nodes, f"node '{nid}'")
            if nm is not None:
                c.where[("node", str(fid), str(nid))] = nm
                nodes[str(nid)] = _parse_node(c, str(fid), str(nid), nm, routes)
        flow = Flow(str(fid), title, start, nodes)
        _check_flow_graph(c, flow, m)
        flows[str(fid)] = flow
    return flows
