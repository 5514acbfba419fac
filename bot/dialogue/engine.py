"""The dialogue engine: ``handle(state, event) -> (replies, state)``.

Pure and channel-free: the Telegram and terminal adapters translate their
events into `Text`, `Press` and `Command`, and render the `Reply` objects
that come back. The state is a small immutable record (the flow position
and the answers ticked in it) that an adapter may persist; it never holds
message text.

Order of precedence for typed text, in every state: crisis first, then
the matcher. Inside a flow a typed question is answered and the flow
offers to carry on where it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from bot.content.records import Content, Flow, Node
from bot.content.text import (
    Button,
    fill,
    join,
    node_parts,
    response_body,
    route_block,
    route_buttons,
    source_line,
)
from bot.matching.crisis import CrisisDetector
from bot.matching.matcher import Match, Matcher

MENU, BACK, RESTART, RESUME = "m", "b", "r", "c"
COMMANDS = (
    "start", "help", "menu", "signs", "contact", "report", "links",
    "privacy", "about", "forget", "clear",
)  # fmt: skip
FLOW_COMMANDS = {"signs": "indicators", "contact": "contact", "report": "report"}
MENU_INTENTS = ("greeting", "help", "thanks", "out_of_scope")  # answered with the menu
INTENT_COMMANDS = {"help": "help", "privacy": "privacy", "about": "about_source"}


# ---------------------------------------------------------------- events


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Press:
    data: str


@dataclass(frozen=True)
class Command:
    name: str
    arg: str = ""


Event = Text | Press | Command


@dataclass(frozen=True)
class Reply:
    """One message: plain text (adapters escape and format), optional title and source."""

    text: str
    title: str | None = None
    source: str | None = None
    buttons: tuple[tuple[Button, ...], ...] = ()
    kind: str = "answer"
    intent: str | None = None
    edit: bool = False  # a flow step the adapter may show by editing the last message


@dataclass(frozen=True)
class FlowPos:
    flow: str
    node: str
    flags: frozenset[str] = frozenset()
    history: tuple[tuple[str, frozenset[str]], ...] = ()


@dataclass(frozen=True)
class State:
    """All a conversation keeps: where it is in a flow. Never message text."""

    flow: FlowPos | None = None

    def to_dict(self) -> dict:
        if not self.flow:
            return {}
        f = self.flow
        return {
            "flow": f.flow,
            "node": f.node,
            "flags": sorted(f.flags),
            "history": [[n, sorted(fl)] for n, fl in f.history],
        }

    @classmethod
    def from_dict(cls, data: dict | None) -> State:
        """Rebuild a stored state; anything malformed becomes a fresh state."""
        try:
            if not data or not isinstance(data, dict):
                return cls()
            if not all(isinstance(data.get(k, []), list) for k in ("flags", "history")):
                return cls()
            hist = tuple((str(n), frozenset(map(str, fl))) for n, fl in data.get("history", []))
            pos = FlowPos(
                str(data["flow"]),
                str(data["node"]),
                frozenset(map(str, data.get("flags", []))),
                hist,
            )
            return cls(pos)
        except (KeyError, TypeError, ValueError):
            return cls()


@dataclass
class Outcome:
    """What `handle` returns: replies, the new state, and side effects for the adapter."""

    replies: list[Reply]
    state: State
    actions: list[str] = field(default_factory=list)  # "forget", "clear"


def _index(arg: str) -> bool:
    """A button index from callback data: ASCII digits only ('²' is a digit to Python)."""
    return arg.isascii() and arg.isdigit()


# ---------------------------------------------------------------- engine


class Engine:
    def __init__(self, content: Content) -> None:
        self.content = content
        self.matcher = Matcher(content)
        self.crisis = CrisisDetector(content.crisis)

    # ------------------------------------------------------------ entry

    def handle(self, state: State, event: Event) -> Outcome:
        state = self._valid(state)
        if isinstance(event, Text):
            return self._text(state, event.text)
        if isinstance(event, Command):
            return self._command(state, event.name.lower(), event.arg.strip())
        return self._press(state, event.data)

    def _valid(self, state: State) -> State:
        """Drop a stored position that today's content no longer has."""
        pos = state.flow
        if not pos:
            return state
        nodes = self.content.flows[pos.flow].nodes if pos.flow in self.content.flows else {}
        stale = pos.node not in nodes or nodes[pos.node].type == "branch"  # branches never rest
        if stale or any(node not in nodes for node, _ in pos.history):
            return State()
        return state

    # ------------------------------------------------------------ text

    def _text(self, state: State, text: str) -> Outcome:
        if not text.strip():
            return Outcome([self._menu_reply("Type a question, or choose a topic:")], state)
        match = self.matcher.match(text)
        if not self.crisis.is_crisis(text):
            return Outcome([self.answer_match(match, state)], state)
        # Crisis routes first, then whatever else the message asked.
        replies = [self.answer("crisis", state, kind="crisis")]
        if match.band != "reject" and match.intent not in ("crisis", *MENU_INTENTS):
            replies.append(self.answer_match(match, state))
        return Outcome(replies, state)

    def classify(self, text: str) -> Match:
        """Crisis first, then the matcher: what `classify` and `eval` report."""
        if self.crisis.is_crisis(text):
            return Match("crisis", 100.0, (), "answer")
        return self.matcher.match(text)

    def answer_match(self, match: Match, state: State) -> Reply:
        alts = [a for a, _ in match.alternatives]
        if match.band == "reject":
            return self.answer("out_of_scope", state, suggestions=alts, kind="fallback")
        kind = "suggest" if match.band == "suggest" else "answer"
        return self.answer(match.intent, state, suggestions=alts, kind=kind)

    def answer(
        self, intent: str, state: State, suggestions: list[str] | None = None, kind: str = "answer"
    ) -> Reply:
        """An intent's curated answer with its flow, route, follow-up and menu buttons."""
        c = self.content
        resp = c.responses[intent]
        rows: list[tuple[Button, ...]] = []
        if resp.flow:
            rows.append((Button(f"▶ {c.flows[resp.flow].title}", data=f"f:{resp.flow}"),))
        rows += [(b,) for b in route_buttons(c, resp.routes)]
        text = response_body(c, resp)
        if suggestions:
            label = "Did you mean:" if kind == "suggest" else "Closest topics:"
            text = join(text, label)
            rows += [(Button(c.responses[s].title, data=f"i:{s}"),) for s in suggestions]
        elif resp.related and kind == "answer" and intent not in MENU_INTENTS:
            rows.append(tuple(Button(c.responses[r].title, data=f"i:{r}") for r in resp.related))
        rows.append(self._nav(state))
        if intent in MENU_INTENTS:
            rows = rows[:-1] + self._menu_rows() + [rows[-1]]
        return Reply(text, resp.title, source_line(resp.source), tuple(rows), kind, intent)

    def _nav(self, state: State) -> tuple[Button, ...]:
        """Menu, and a way back into a guide the user left to ask something."""
        row = [Button("☰ Menu", data=MENU)]
        pos = state.flow
        if pos and self._node(pos).type != "result":
            title = self.content.flows[pos.flow].title
            row.insert(0, Button(f"↩ Back to: {title}", data=RESUME))
        return tuple(row)

    # ------------------------------------------------------------ commands

    def _command(self, state: State, name: str, arg: str) -> Outcome:
        if name == "start":  # deep links: /start signs, contact, report or links
            name = arg.lower()
            if name not in (*FLOW_COMMANDS, "links"):
                return Outcome([self._welcome()], state)
        if name == "menu":
            return Outcome([self._menu_reply()], state)
        if name in FLOW_COMMANDS:
            return self._start_flow(state, FLOW_COMMANDS[name])
        if name in INTENT_COMMANDS:
            return Outcome([self.answer(INTENT_COMMANDS[name], state)], state)
        if name == "links":
            return Outcome([self.links_reply()], state)
        if name == "forget":
            text = "Done: I have erased everything stored for this chat. I never keep message text."
            return Outcome(
                [Reply(text, "Forgotten", kind="forget", buttons=(self._nav(State()),))],
                State(),
                ["forget"],
            )
        if name == "clear":
            text = (
                "Clearing this chat: I am deleting the messages here that Telegram still "
                "lets me delete, and erasing your place in any guide."
            )
            return Outcome([Reply(text, "Quick exit", kind="clear")], State(), ["forget", "clear"])
        return Outcome([self._menu_reply("I don't know that command. Here is the menu:")], state)

    def _welcome(self) -> Reply:
        resp = self.content.responses["greeting"]
        return Reply(
            response_body(self.content, resp),
            resp.title,
            None,
            tuple(self._menu_rows()),
            "menu",
            "greeting",
        )

    def _menu_rows(self) -> list[tuple[Button, ...]]:
        c = self.content
        buttons: list[Button] = []
        for kind, target in c.menu:
            if kind == "flow":
                buttons.append(Button(c.flows[target].title, data=f"f:{target}"))
            elif kind == "intent":
                buttons.append(Button(c.responses[target].title, data=f"i:{target}"))
            else:
                buttons.append(Button("Quick links", data="x:links"))
        return [tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2)]

    def _menu_reply(
        self,
        text: str = "What do you need? Choose a topic or type a question.",
    ) -> Reply:
        return Reply(text, "Menu", None, tuple(self._menu_rows()), "menu")

    def links_reply(self) -> Reply:
        c = self.content
        ids = c.links
        text = join(
            "The key reporting, image-removal and crisis routes. If a child is in "
            f"immediate danger, call {fill(c, '{emergency}')} first.",
            route_block(c, ids),
        )
        rows = [(b,) for b in route_buttons(c, ids)] + [(Button("☰ Menu", data=MENU),)]
        return Reply(text, "Quick links", "Source: verified reporting routes", tuple(rows), "links")

    # ------------------------------------------------------------ buttons

    def _press(self, state: State, data: str) -> Outcome:
        c = self.content
        kind, _, rest = data.partition(":")
        if data == MENU:
            return Outcome([self._menu_reply()], state)
        if kind == "i" and rest in c.responses:
            return Outcome([self.answer(rest, state)], state)
        if kind == "f" and rest in c.flows:
            return self._start_flow(state, rest)
        if kind == "x" and rest in COMMANDS:
            return self._command(state, rest, "")
        pos = state.flow
        if data in (BACK, RESTART, RESUME) and pos:
            return self._nav_press(state, pos, data)
        if kind in ("q", "t", "d") and pos:
            fid, _, tail = rest.partition(":")
            nid, _, arg = tail.partition(":")
            if fid == pos.flow and nid == pos.node:
                return self._flow_press(state, pos, kind, arg)
        return Outcome(
            [
                self._menu_reply(
                    "That menu has expired (the bot was updated or you "
                    "moved on). Here is the current menu:"
                )
            ],
            state,
        )

    # ------------------------------------------------------------ flows

    def _node(self, pos: FlowPos) -> Node:
        return self.content.flows[pos.flow].nodes[pos.node]

    def _start_flow(self, state: State, fid: str) -> Outcome:
        flow = self.content.flows[fid]
        pos = self._settle(flow, FlowPos(fid, flow.start))
        return Outcome([self._render(pos)], State(pos))

    def _settle(self, flow: Flow, pos: FlowPos) -> FlowPos:
        """Follow branch nodes until a node that shows something."""
        node = flow.nodes[pos.node]
        while node.type == "branch":
            target = next((r.goto for r in node.rules if r.matches(pos.flags)), node.otherwise)
            pos = replace(pos, node=target or flow.start)
            node = flow.nodes[pos.node]
        return pos

    def _go(self, pos: FlowPos, target: str, flags: frozenset[str]) -> FlowPos:
        flow = self.content.flows[pos.flow]
        history = (*pos.history, (pos.node, pos.flags))
        return self._settle(flow, FlowPos(pos.flow, target, flags, history))

    def _flow_press(self, state: State, pos: FlowPos, kind: str, arg: str) -> Outcome:
        node = self._node(pos)
        if kind == "q" and node.type == "question" and _index(arg) and int(arg) < len(node.choices):
            choice = node.choices[int(arg)]
            flags = pos.flags | {choice.set} if choice.set else pos.flags
            new = self._go(pos, choice.goto, flags)
            return Outcome([self._render(new, edit=self._node(new).type != "result")], State(new))
        if (
            kind == "t"
            and node.type == "checklist"
            and _index(arg)
            and int(arg) < len(node.options)
        ):
            flag = node.options[int(arg)].id
            flags = pos.flags ^ {flag}
            new = replace(pos, flags=flags)
            return Outcome([self._render(new, edit=True)], State(new))
        if kind == "d" and node.type == "checklist" and node.done:
            new = self._go(pos, node.done, pos.flags)
            return Outcome([self._render(new)], State(new))
        return Outcome([self._render(pos)], state)

    def _nav_press(self, state: State, pos: FlowPos, data: str) -> Outcome:
        if data == RESTART:
            return self._start_flow(state, pos.flow)
        if data == BACK and pos.history:
            node, flags = pos.history[-1]
            new = FlowPos(pos.flow, node, flags, pos.history[:-1])
            return Outcome([self._render(new, edit=True)], State(new))
        return Outcome([self._render(pos)], state)

    def _render(self, pos: FlowPos, edit: bool = False) -> Reply:
        c = self.content
        flow = c.flows[pos.flow]
        node = flow.nodes[pos.node]
        nav: list[Button] = []
        if pos.history:
            nav.append(Button("◀ Back", data=BACK))
        nav += [Button("↺ Start over", data=RESTART), Button("☰ Menu", data=MENU)]
        rows: list[tuple[Button, ...]] = []
        base = f"{pos.flow}:{pos.node}"
        if node.type == "question":
            rows += [(Button(ch.label, data=f"q:{base}:{i}"),) for i, ch in enumerate(node.choices)]
            return Reply(
                fill(c, node.text), flow.title, None, (*rows, tuple(nav)), "flow", edit=edit
            )
        if node.type == "checklist":
            for i, opt in enumerate(node.options):
                mark = "☑" if opt.id in pos.flags else "☐"
                rows.append((Button(f"{mark} {opt.label}", data=f"t:{base}:{i}"),))
            rows.append((Button("Done ✔", data=f"d:{base}"),))
            return Reply(
                fill(c, node.text), flow.title, None, (*rows, tuple(nav)), "flow", edit=edit
            )
        text, routes = node_parts(c, node, pos.flags)
        rows += [(b,) for b in route_buttons(c, routes)]
        return Reply(
            text,
            flow.title,
            source_line(node.source),
            (*rows, tuple(nav)),
            "result",
            edit=edit,
        )
