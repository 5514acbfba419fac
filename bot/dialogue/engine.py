"""The dialogue engine: ``handle(state, event) -> Outcome``, pure and channel-free.

Channels turn their input into `Text`, `Press`, `Command` and `Media`
events and show the `Reply` objects that come back; the engine decides
everything that is said. Precedence for typed text, in every state: crisis
wins (`Triage.assess`), then the matcher's answer; inside a guide a typed
question is answered with a way back to the guide.
"""

from __future__ import annotations

from bot.content.records import Content
from bot.dialogue import callbacks
from bot.dialogue.events import Command, Event, Media, Text
from bot.dialogue.flows import FlowRunner
from bot.dialogue.replies import MENU_INTENTS, Replies
from bot.dialogue.reply import Outcome, Reply
from bot.dialogue.state import FlowPos, State
from bot.matching.triage import Assessment, Triage


class Engine:
    """Dispatches each event to the reply builders and the flow runner; keeps no state."""

    def __init__(self, content: Content) -> None:
        self.content = content
        self.triage = Triage(content)
        self.flows = FlowRunner(content.flows)
        self.replies = Replies(content, self.flows)

    def handle(self, state: State, event: Event) -> Outcome:
        state = self._drop_stale(state)
        if isinstance(event, Text):
            return self._text(state, event.text)
        if isinstance(event, Command):
            return self._command(state, event.name.lower(), event.arg.strip(), event.group)
        if isinstance(event, Media):
            return Outcome([self.replies.media(event.deleted, state)], state)
        return self._press(state, event.data)

    def classify(self, text: str) -> Assessment:
        """What `classify`, `eval` and inline mode report: the same triage as `handle`."""
        return self.triage.assess(text)

    def answer(self, intent: str, state: State | None = None) -> Reply:
        return self.replies.answer(intent, state or State())

    def inline(self, query: str) -> list[Reply]:
        """Inline mode: the crisis answer first when it is one, the best answer, alternatives."""
        if not query.strip():
            return []
        found = self.classify(query)
        rest = found.rest
        intents = ["crisis"] if found.risk == "crisis" else []
        intents += [rest.intent] if rest else []
        intents += [i for i, _ in found.match.alternatives if i not in intents]
        return [self.answer(i) for i in dict.fromkeys(intents)]

    def _drop_stale(self, state: State) -> State:
        """Forget a stored position that today's content no longer has."""
        return State() if state.flow and self.flows.is_stale(state.flow) else state

    # ------------------------------------------------------------ text

    def _text(self, state: State, text: str) -> Outcome:
        if not text.strip():
            return Outcome([self.replies.menu("empty_text")], state)
        found = self.classify(text)
        facts = found.facts
        if not found.english and found.risk != "crisis":
            return Outcome(
                [self.replies.notice("not_english", "not_english_title", "fallback", state)], state
            )
        if found.risk != "crisis":
            lead = self.replies.text("possible_lead") if found.risk == "possible" else None
            reply = self.replies.answer_match(found.match, state, lead, facts)
            return Outcome([reply], state)
        # Crisis first, written to the child when the child is writing; then the rest.
        crisis = "crisis_child" if found.child else "crisis"
        replies = [self.replies.answer(crisis, state, kind="crisis", facts=facts)]
        rest = found.rest
        if rest and rest.intent not in MENU_INTENTS:
            replies.append(self.replies.answer_match(rest, state, facts=facts))
        return Outcome(replies, state)

    # ------------------------------------------------------------ commands

    def _command(self, state: State, name: str, arg: str, group: bool = False) -> Outcome:
        commands = self.content.commands
        if name == "start" and arg:  # deep links: /start signs, contact, report or links
            deep = commands.get(arg.lower())
            name = deep.name if deep and deep.deep_link else "start"
        spec = commands.get(name)
        if spec is None:
            return Outcome([self.replies.menu("unknown_command")], state)
        if spec.does == "flow" and spec.target:
            return self._start_flow(spec.target)
        if spec.does == "intent" and spec.target:
            return Outcome([self.replies.answer(spec.target, state)], state)
        if spec.does == "forget":
            reply = self.replies.notice("forget_done", "forget_title", "forget", State())
            return Outcome([reply], State(), ["forget"])
        if spec.does == "clear":
            if group:  # in a group the bot never deletes anyone's messages
                reply = self.replies.notice("clear_group", "clear_title", "clear", State())
                return Outcome([reply], State(), ["forget"])
            reply = self.replies.notice("clear_private", "clear_title", "clear", State())
            return Outcome([reply], State(), ["forget", "clear"])
        built_in = {"welcome": self.replies.welcome, "menu": self.replies.menu}
        return Outcome([built_in.get(spec.does, self.replies.links)()], state)

    # ------------------------------------------------------------ buttons

    def _press(self, state: State, data: str) -> Outcome:
        c = self.content
        press = callbacks.decode(data)
        kind = press.kind if press else None
        if kind == "menu":
            return Outcome([self.replies.menu()], state)
        if press and kind == "intent" and press.target in c.responses:
            return Outcome([self.replies.answer(press.target, state)], state)
        if press and kind == "flow" and press.target in c.flows:
            return self._start_flow(press.target)
        if press and kind == "command" and press.target in c.commands:
            return self._command(state, press.target, "")
        pos = state.flow
        if press and pos and kind in ("back", "restart", "resume"):
            return self._guide_nav(state, pos, kind)
        if press and pos and (press.target, press.node) == (pos.flow, pos.node):
            return self._step(state, pos, press)
        return Outcome([self.replies.menu("expired")], state)

    # ------------------------------------------------------------ guides

    def _start_flow(self, flow_id: str) -> Outcome:
        pos = self.flows.start(flow_id)
        return Outcome([self.replies.flow_step(pos)], State(pos))

    def _step(self, state: State, pos: FlowPos, press: callbacks.Callback) -> Outcome:
        """A choice, tick or done on the step shown; anything else shows the step again."""
        if press.kind == "choose":
            new = self.flows.choose(pos, press.index)
            edit = new is not None and self.flows.node(new).type != "result"
        elif press.kind == "toggle":
            new, edit = self.flows.toggle(pos, press.index), True
        else:
            new, edit = self.flows.done(pos), False
        if new is None:
            return Outcome([self.replies.flow_step(pos)], state)
        return Outcome([self.replies.flow_step(new, edit=edit)], State(new))

    def _guide_nav(self, state: State, pos: FlowPos, kind: str) -> Outcome:
        if kind == "restart":
            return self._start_flow(pos.flow)
        new = self.flows.back(pos) if kind == "back" else None
        if new is None:  # resume, or back at the first step: show where the guide is
            return Outcome([self.replies.flow_step(pos)], state)
        return Outcome([self.replies.flow_step(new, edit=True)], State(new))
