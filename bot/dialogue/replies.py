"""Reply builders: an intent's answer, menus, quick links and guide steps, as `Reply`s.

Every sentence comes from the content (responses/*.yaml, responses/ui.yaml);
this module only decides which buttons go with which text.
"""

from __future__ import annotations

from bot.content.records import Content
from bot.content.text import fill, join, node_parts, response_body, route_block, source_line
from bot.dialogue import callbacks
from bot.dialogue.flows import FlowRunner
from bot.dialogue.reply import Button, Reply, ReplyKind
from bot.dialogue.state import FlowPos, State
from bot.matching.facts import Facts
from bot.matching.matcher import Match

MENU_INTENTS = ("greeting", "help", "thanks", "out_of_scope")  # answered with the menu
NO_FACTS = Facts()
CASE_MARKERS = {
    "{under_18}": lambda f: f.age_band != "adult",
    "{adult}": lambda f: f.age_band != "under_18",
    "{not_police}": lambda f: f.role != "police",
}
MAX_SUGGESTIONS = (3, 4)  # alternatives offered when unsure / when no answer fits
NOTED = ("first_steps",)  # answers that offer a note for the record, as guide results do


def route_buttons(content: Content, ids: tuple[str, ...]) -> list[Button]:
    return [
        Button(content.routes[rid].button_label, url=content.routes[rid].url)
        for rid in ids
        if content.routes[rid].url
    ]


def for_case(text: str, facts: Facts) -> str:
    """Keep the paragraphs and lines an editor marked for one kind of case only where the
    facts allow them: {under_18} and {adult} by the child's age band (unknown keeps both),
    {not_police} unless a police officer is asking."""
    kept = []
    for paragraph in text.split("\n\n"):
        if _marked_out(paragraph, facts):
            continue
        lines = [line for line in paragraph.split("\n") if not _marked_out(line, facts)]
        kept.append("\n".join(_unmarked(line) for line in lines))
    return "\n\n".join(p for p in kept if p.strip())


def _marker(line: str) -> str | None:
    token = line.lstrip("• ").split(" ", 1)[0]
    return token if token in CASE_MARKERS else None


def _marked_out(line: str, facts: Facts) -> bool:
    marker = _marker(line)
    return marker is not None and not CASE_MARKERS[marker](facts)


def _unmarked(line: str) -> str:
    marker = _marker(line)
    return line.replace(f"{marker} ", "", 1) if marker else line


class Replies:
    """Builds each kind of reply from the content; holds no conversation state."""

    def __init__(self, content: Content, flows: FlowRunner) -> None:
        self.content = content
        self.flows = flows
        self.texts = content.texts

    def text(self, key: str) -> str:
        """A sentence of responses/ui.yaml with its route numbers filled in."""
        return fill(self.content, self.texts[key])

    # ------------------------------------------------------------ answers

    def answer_match(
        self, match: Match, state: State, lead: str | None = None, facts: Facts = NO_FACTS
    ) -> Reply:
        alts = [a for a, _ in match.alternatives]
        if match.band == "reject":
            return self.answer("out_of_scope", state, alts, "fallback", lead, facts)
        kind: ReplyKind = "suggest" if match.band == "suggest" else "answer"
        return self.answer(match.intent, state, alts, kind, lead, facts)

    def answer(
        self,
        intent: str,
        state: State,
        suggestions: list[str] | None = None,
        kind: ReplyKind = "answer",
        lead: str | None = None,
        facts: Facts = NO_FACTS,
    ) -> Reply:
        """An intent's curated answer with its flow, route, follow-up and menu buttons,
        worded for who is asking and with only the routes that suit the child's age."""
        c = self.content
        resp = c.responses[intent]
        rows: list[tuple[Button, ...]] = []
        if suggestions:  # unsure: the alternatives come first, at most a handful
            rows += [(self._topic(s),) for s in dict.fromkeys(suggestions) if s != intent][
                : MAX_SUGGESTIONS[kind == "fallback"]
            ]
        if kind == "suggest":
            lead = join(lead, self.text("unsure_lead").replace("{title}", resp.title))
        if resp.flow:
            label = f"{self.texts['start_flow_button']} {c.flows[resp.flow].title}"
            rows.append((Button(label, data=callbacks.flow(resp.flow)),))
        routes = tuple(r for r in resp.routes if c.routes[r].suits(facts.role, facts.age_band))
        rows += [(b,) for b in route_buttons(c, routes)]
        body = for_case(resp.text, facts)
        text = join(fill(c, body), route_block(c, routes, body))
        if "{next_step}" in text:
            step = c.next_steps.get(facts.role) or c.next_steps.get("unknown", "")
            text = text.replace("{next_step}", fill(c, step))
        if suggestions and kind == "fallback":
            text = join(text, self.texts["closest_topics"])
        elif resp.related and kind == "answer" and intent not in MENU_INTENTS:
            rows.append(tuple(self._topic(r) for r in resp.related))
        if intent in MENU_INTENTS and kind != "fallback":
            rows += self.menu_rows()
        if intent in NOTED:
            rows.append((Button(self.texts["note_button"], data=callbacks.NOTE),))
        if kind in ("answer", "suggest") and intent not in MENU_INTENTS:
            rows.append(self.helpful_row(intent))
        rows.append(self.nav(state))
        source = source_line(c, resp.source)
        return Reply(
            text, resp.title, source, tuple(rows), kind, intent, lead=lead or None, routes=routes
        )

    def helpful_row(self, intent: str) -> tuple[Button, ...]:
        """Was this helpful? Two small buttons, counted per intent and nothing else."""
        up, down = self.texts["helpful_up"], self.texts["helpful_down"]
        return (
            Button(up, data=callbacks.helpful(intent, "up")),
            Button(down, data=callbacks.helpful(intent, "down")),
        )

    def media(self, deleted: bool, state: State) -> Reply:
        """A file arrived: say what happened to it, then how to handle images."""
        notice = self.texts["media_deleted" if deleted else "media_not_deleted"]
        return self.answer("handling_images", state, lead=join(notice, self.texts["media_rule"]))

    def _topic(self, intent: str) -> Button:
        return Button(self.content.responses[intent].title, data=callbacks.intent(intent))

    def menu_button(self) -> Button:
        return Button(self.texts["menu_button"], data=callbacks.MENU)

    def nav(self, state: State) -> tuple[Button, ...]:
        """Menu, a way back into a guide the user left to ask something, and "New case"
        once the conversation holds facts about a case."""
        row = [self.menu_button()]
        pos = state.flow
        if pos and self.flows.node(pos).type != "result":
            title = self.content.flows[pos.flow].title
            row.insert(0, Button(f"{self.texts['resume_button']} {title}", data=callbacks.RESUME))
        if state.facts != NO_FACTS:
            row.append(Button(self.texts["new_case_button"], data=callbacks.command("new")))
        return tuple(row)

    # ------------------------------------------------------------ menus and notices

    def welcome(self, does: str = "welcome") -> Reply:
        """The greeting and the menu; after "New case", a line saying the last one is gone."""
        resp = self.content.responses["greeting"]
        body = response_body(self.content, resp)
        lead = self.text("new_case_done") if does == "new_case" else None
        rows = tuple(self.menu_rows())
        return Reply(body, resp.title, None, rows, "menu", "greeting", lead=lead)

    def menu_rows(self) -> list[tuple[Button, ...]]:
        c = self.content
        buttons: list[Button] = []
        for kind, target in c.menu:
            if kind == "flow":
                buttons.append(Button(c.flows[target].title, data=callbacks.flow(target)))
            elif kind == "intent":
                buttons.append(self._topic(target))
            else:
                buttons.append(Button(self.texts["links_title"], data=callbacks.command("links")))
        return [tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2)]

    def menu(self, prompt: str = "menu_prompt", state: State | None = None) -> Reply:
        """The main menu; inside a guide it keeps the way back to it."""
        rows = (*self.menu_rows(), self.nav(state)) if state and state.flow else self.menu_rows()
        return Reply(self.text(prompt), self.texts["menu_title"], None, tuple(rows), "menu")

    def links(self) -> Reply:
        c = self.content
        text = join(self.text("links_intro"), route_block(c, c.links))
        rows = [(b,) for b in route_buttons(c, c.links)] + [(self.menu_button(),)]
        title, source = self.texts["links_title"], self.texts["links_source"]
        return Reply(text, title, source, tuple(rows), "links")

    def notice(self, key: str, title_key: str, kind: ReplyKind, state: State) -> Reply:
        """A one-line notice (/forget, /clear) with the way on."""
        rows = (self.nav(state),) if kind in ("forget", "fallback") else ()
        return Reply(self.text(key), self.texts[title_key], kind=kind, buttons=rows)

    # ------------------------------------------------------------ guide steps

    def flow_step(self, pos: FlowPos, edit: bool = False) -> Reply:
        c = self.content
        flow = c.flows[pos.flow]
        node = flow.nodes[pos.node]
        nav: list[Button] = []
        if pos.history:
            nav.append(Button(self.texts["back_button"], data=callbacks.BACK))
        nav += [Button(self.texts["restart_button"], data=callbacks.RESTART), self.menu_button()]
        rows: list[tuple[Button, ...]] = []
        step = callbacks.Callback
        if node.type == "question":
            rows += [
                (Button(ch.label, data=step("choose", pos.flow, pos.node, i).encode()),)
                for i, ch in enumerate(node.choices)
            ]
        elif node.type == "checklist":
            for i, opt in enumerate(node.options):
                mark = "☑" if opt.id in pos.flags else "☐"
                data = step("toggle", pos.flow, pos.node, i).encode()
                rows.append((Button(f"{mark} {opt.label}", data=data),))
            done = step("done", pos.flow, pos.node).encode()
            rows.append((Button(self.texts["done_button"], data=done),))
        else:
            text, routes = node_parts(c, node, pos.flags)
            rows += [(b,) for b in route_buttons(c, routes)]
            rows.append((Button(self.texts["note_button"], data=callbacks.NOTE),))
            source = source_line(c, node.source)
            return Reply(
                text, flow.title, source, (*rows, tuple(nav)), "result", edit=edit, routes=routes
            )
        return Reply(fill(c, node.text), flow.title, None, (*rows, tuple(nav)), "flow", edit=edit)
