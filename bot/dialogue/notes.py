"""A note for the safeguarding record: what the guide asked, what was chosen, the advice,
the routes, the case labels and the source, ready to paste into a safeguarding log.

Built only from the content and the labels in the state: it can never hold a name or
anything the user typed. Every heading is editable in responses/ui.yaml, every label
in responses/labels.yaml.
"""

from __future__ import annotations

from bot.content.records import Content, Route
from bot.content.text import fill, node_parts
from bot.dialogue.flows import FlowRunner
from bot.dialogue.reply import Reply
from bot.dialogue.state import FlowPos, State


def guide_steps(content: Content, flows: FlowRunner, pos: FlowPos) -> list[tuple[str, str]]:
    """(question, the answer chosen) for each step the guide took to reach `pos`."""
    flow = content.flows[pos.flow]
    path = [*pos.history, (pos.node, pos.flags)]
    steps = []
    for (node_id, flags), (next_id, next_flags) in zip(path, path[1:], strict=False):
        node = flow.nodes[node_id]
        if node.type == "checklist":
            ticked = [o.label for o in node.options if o.id in next_flags]
            steps.append((_question(node.text), "; ".join(ticked) or "-"))
        for choice in node.choices:
            chosen = flags | {choice.set} if choice.set else flags
            landed = flows.settle(FlowPos(pos.flow, choice.goto, chosen))
            if (landed.node, chosen) == (next_id, next_flags):
                steps.append((_question(fill(content, node.text)), choice.label))
                break
    return steps


def _question(text: str) -> str:
    """The question itself: the last line of a step's text (the first may introduce it)."""
    return text.strip().rsplit("\n", 1)[-1].strip()


def _route_line(route: Route) -> str:
    where = [x for x in (route.contact, route.url) if x]
    return f"- {route.name}: {', '.join(where)}" if where else f"- {route.name}"


class NoteWriter:
    def __init__(self, content: Content, flows: FlowRunner) -> None:
        self.content = content
        self.flows = flows
        self.t = content.texts
        copied = max((r.copied for r in content.routes.values()), default="")
        self.sources = fill(content, self.t["note_sources"]).replace("{copied}", copied)

    def note(self, state: State, when: str, advice: str, routes: tuple[str, ...]) -> Reply:
        """The note: `advice` is the text of the answer or result the user was given."""
        t, c = self.t, self.content
        lines = [t["note_intro"], "", f"{t['note_when']} {when}"]
        pos = state.flow
        if pos and self.flows.node(pos).type == "result":
            lines += ["", f"{t['note_guide']} {c.flows[pos.flow].title}", t["note_steps"]]
            lines += [f"- {q} - {a}" for q, a in guide_steps(c, self.flows, pos)]
        bullets = [ln.strip().lstrip("•").strip() for ln in advice.split("\n") if ln.strip()]
        lines += ["", t["note_advice"], *(f"- {b}" for b in bullets)]
        if routes:
            lines += ["", t["note_routes"], *(_route_line(c.routes[r]) for r in routes)]
        facts, names = state.facts, c.labels
        lines += [
            "",
            t["note_facts"],
            f"- {t['note_role']} {names.get(facts.role, facts.role)}",
            f"- {t['note_age']} {names.get(facts.age_band, names.get('unknown', ''))}",
            f"- {t['note_nation']} {names.get(facts.nation, names.get('unknown', ''))}",
            "",
            f"{t['note_source']} {self.sources}",
        ]
        return Reply("\n".join(lines), t["note_title"], kind="note")

    def advice_for(self, state: State, answer: Reply | None) -> tuple[str, tuple[str, ...]]:
        """The advice to note: the guide's result, or the last answer given."""
        pos = state.flow
        if pos and self.flows.node(pos).type == "result":
            node = self.flows.node(pos)
            text, routes = node_parts(self.content, node, pos.flags)
            return text, routes
        if answer is not None:
            return answer.text, answer.routes
        return "", ()
