"""The dialogue engine: ``handle(state, event) -> Outcome``, pure and channel-free.

Channels turn their input into `Text`, `Press`, `Command` and `Media`
events and show the `Reply` objects that come back; the engine decides
everything that is said. For typed text, in every state: crisis wins
(`Triage.assess`); inside a guide, text that answers the step moves the
guide; a short follow-up that changes a case fact answers the last topic
again for the new facts; anything else is answered as a question (inside a
guide, with a way back to it). Case facts and the last topic are carried
in the state as labels.
"""

from __future__ import annotations

import re
from dataclasses import replace

from bot.content.records import Content
from bot.dialogue import callbacks
from bot.dialogue.counts import tally
from bot.dialogue.events import Command, Event, Media, Text
from bot.dialogue.flows import FlowRunner
from bot.dialogue.guides import Guides
from bot.dialogue.notes import NoteWriter
from bot.dialogue.replies import MENU_INTENTS, Replies
from bot.dialogue.reply import Outcome, Reply
from bot.dialogue.state import State
from bot.dialogue.typed import typed_presses
from bot.matching.triage import Assessment, Triage

FOLLOW_UP_WORDS = 12  # a message this short that changes a fact may be a follow-up
ELLIPTICAL_WORDS = 6  # this short, it is one whatever topic its words suggest
CORRECTION = re.compile(
    r"\b(actually|sorry|i meant|correction|misread|my mistake|wrong|not (his|her|their) "
    r"(mum|dad|parent)|to be clear)\b",
    re.I,
)
# A follow-up that changes the age moves across to that age's answer: for an adult, the
# over-18s answer replaces the answers written about a child's case.
_CHILD_CASE = ("first_steps", "young_person", "supporting_disclosure", "report_concern",
               "what_is_it", "who_is_targeted", "already_paid")  # fmt: skip
FOR_AGE = {
    "under_18": {"adult_victims": "first_steps"},
    "adult": dict.fromkeys(_CHILD_CASE, "adult_victims"),
}
# Topics a fact-changing follow-up is often matched to by its words alone ("she's 19").
FOR_AGE_TOPICS = ("first_steps", "adult_victims", "young_person", "out_of_scope")


class Engine:
    """Dispatches each event to the reply builders and the flow runner; keeps no state."""

    def __init__(self, content: Content) -> None:
        self.content = content
        self.triage = Triage(content)
        self.flows = FlowRunner(content.flows)
        self.replies = Replies(content, self.flows)
        self.notes = NoteWriter(content, self.flows)
        self.guides = Guides(self.flows, self.replies)

    def handle(self, state: State, event: Event) -> Outcome:
        state = self._drop_stale(state)
        if isinstance(event, Text):
            outcome = self._text(state, event.text)
        elif isinstance(event, Command):
            outcome = self._command(state, event.name.lower(), event.arg.strip(), event.group)
        elif isinstance(event, Media):
            outcome = Outcome([self.replies.media(event.deleted, state)], state)
        else:
            outcome = self._press(state, event.data, event.when)
        outcome.counts += tally(state, outcome)
        return outcome

    def classify(self, text: str) -> Assessment:
        """What `classify`, `eval` and inline mode report: the same triage as `handle`."""
        return self.triage.assess(text)

    def answer(self, intent: str, state: State | None = None) -> Reply:
        state = state or State()
        return self.replies.answer(intent, state, facts=state.facts)

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
        stale = state.flow and self.flows.is_stale(state.flow)
        return replace(state, flow=None) if stale else state

    # ------------------------------------------------------------ text

    def _text(self, state: State, text: str) -> Outcome:
        if not text.strip():
            return Outcome([self.replies.menu("empty_text", state)], state)
        found = self.triage.assess(text, known=state.facts)
        before, state = state, replace(state, facts=found.facts)
        if found.risk == "crisis":
            return self._crisis(state, found)
        said_age = "unknown" if found.said.guessed else found.said.age_band
        node = self.flows.node(state.flow) if state.flow else None
        if state.flow and node and (presses := typed_presses(state.flow, node, text, said_age)):
            if state.aside and presses == [callbacks.BACK]:
                presses = [callbacks.RESUME]  # back to the guide after a question aside
            return self._presses(state, presses)
        if state.flow and len(text.split()) <= 3 and found.match.band != "answer":
            # Too short to be a question and not one of the step's answers: ask again.
            lead = self.replies.text("pick_an_answer")
            return Outcome([replace(self.replies.flow_step(state.flow), lead=lead)], state)
        if not found.english:
            reply = self.replies.notice("not_english", "not_english_title", "fallback", state)
            return Outcome([reply], state)
        worded = "possible_lead_child" if found.child else "possible_lead"
        lead = self.replies.text(worded) if found.risk == "possible" else None
        counts = [("crisis", "possible")] if found.risk == "possible" else []
        topic = self._follow_up(before, found, text)
        if topic:
            reply = self.replies.answer(topic, state, lead=lead, facts=state.facts)
        else:
            reply = self.replies.answer_match(found.match, state, lead, state.facts)
            topic = found.match.intent if found.match.band != "reject" else before.topic
        state = replace(state, topic=topic, aside=state.flow is not None)
        return Outcome([reply], state, counts=counts)

    def _crisis(self, state: State, found: Assessment) -> Outcome:
        """Crisis first, written to the child when the child is writing; then the rest."""
        crisis = "crisis_child" if found.child else "crisis"
        replies = [self.replies.answer(crisis, state, kind="crisis", facts=state.facts)]
        rest = found.rest
        if rest and rest.intent not in MENU_INTENTS:
            replies.append(self.replies.answer_match(rest, state, facts=state.facts))
        return Outcome(replies, replace(state, topic=rest.intent if rest else state.topic))

    def _follow_up(self, before: State, found: Assessment, text: str) -> str | None:
        """The last topic again, for the new facts, when a short message only changes a fact
        ("and if she's 16?", "I'm actually her social worker")."""
        words = len(text.split())
        correcting = found.said.states_any() and CORRECTION.search(text) is not None
        if not before.topic or words > FOLLOW_UP_WORDS:
            return None
        if not (found.said.changes(before.facts) or correcting):
            return None
        match = found.match
        names_a_topic = match.band == "answer" and match.intent not in (
            before.topic,
            *FOR_AGE_TOPICS,
        )
        if names_a_topic and words > ELLIPTICAL_WORDS and not correcting:
            return None  # "she's 16, can she use Report Remove?" asks a question of its own
        topic = before.topic
        if found.said.age_band != before.facts.age_band:  # the same question, for that age
            topic = FOR_AGE.get(found.said.age_band, {}).get(topic, topic)
        return topic if topic in self.content.responses else None

    def _presses(self, state: State, presses: list[str]) -> Outcome:
        outcome = Outcome([], state)
        for data in presses:
            outcome = self._press(outcome.state, data)
        return outcome

    # ------------------------------------------------------------ commands

    def _command(self, state: State, name: str, arg: str, group: bool = False) -> Outcome:
        commands = self.content.commands
        if name == "start" and arg:  # deep links: /start signs, contact, report or links
            deep = commands.get(arg.lower())
            name = deep.name if deep and deep.deep_link else "start"
        spec = commands.get(name)
        if spec is None:
            return Outcome([self.replies.menu("unknown_command", state)], state)
        if spec.does == "flow" and spec.target:
            return self.guides.start(state, spec.target)
        if spec.does == "intent" and spec.target:
            reply = self.replies.answer(spec.target, state, facts=state.facts)
            return Outcome([reply], state)
        if spec.does in ("forget", "clear"):
            return self._erase(spec.does, group)
        if spec.does in ("welcome", "new_case"):  # a new case starts with nothing known
            return Outcome([self.replies.welcome(spec.does)], State())
        if spec.does == "menu":
            return Outcome([self.replies.menu("menu_prompt", state)], state)
        return Outcome([self.replies.links()], state)

    def _erase(self, does: str, group: bool) -> Outcome:
        if does == "forget":
            reply = self.replies.notice("forget_done", "forget_title", "forget", State())
            return Outcome([reply], State(), ["forget"])
        if group:  # in a group the bot never deletes anyone's messages
            reply = self.replies.notice("clear_group", "clear_title", "clear", State())
            return Outcome([reply], State(), ["forget"])
        reply = self.replies.notice("clear_private", "clear_title", "clear", State())
        return Outcome([reply], State(), ["forget", "clear"])

    # ------------------------------------------------------------ buttons

    def _press(self, state: State, data: str, when: str = "") -> Outcome:
        c = self.content
        state = replace(state, aside=False)
        press = callbacks.decode(data)
        kind = press.kind if press else None
        if kind == "menu":
            return Outcome([self.replies.menu("menu_prompt", state)], state)
        if kind == "note":
            return Outcome([self._note(state, when)], state)
        if press and kind == "helpful" and press.target in c.responses:
            thanks = self.replies.notice("helpful_thanks", "menu_title", "forget", state)
            return Outcome([thanks], state, counts=[("helpful", f"{press.target}|{press.node}")])
        if press and kind == "intent" and press.target in c.responses:
            reply = self.replies.answer(press.target, state, facts=state.facts)
            return Outcome([reply], replace(state, topic=press.target))
        if press and kind == "flow" and press.target in c.flows:
            return self.guides.start(state, press.target)
        if press and kind == "command" and press.target in c.commands:
            return self._command(state, press.target, "")
        pos = state.flow
        if press and pos and kind in ("back", "restart", "resume"):
            return self.guides.nav(state, pos, kind)
        if press and pos and (press.target, press.node) == (pos.flow, pos.node):
            return self.guides.step(state, pos, press)
        return Outcome([self.replies.menu("expired", state)], state)

    def _note(self, state: State, when: str) -> Reply:
        """The note for the record: the guide's result, or the case answer last given."""
        topic = state.topic if state.topic in self.content.responses else None
        answer = self.replies.answer(topic, state, facts=state.facts) if topic else None
        advice, routes = self.notes.advice_for(state, answer)
        if not advice:
            return self.replies.notice("note_nothing", "note_title", "forget", state)
        return self.notes.note(state, when or "-", advice, routes)
