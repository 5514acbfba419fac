"""Typed content objects: what the YAML files become once validated.

Kept free of loading logic so the matcher, engine and adapters depend only
on these small frozen records.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The stable intent IDs of the catalogue (shared/spec/intents.md).
IN_SCOPE: tuple[str, ...] = (
    "what_is_it",
    "terminology",
    "how_it_happens",
    "who_is_targeted",
    "adult_victims",
    "payment_demands",
    "financial_exploitation",
    "impact",
    "indicators",
    "supporting_disclosure",
    "language_no_blame",
    "parents_carers",
    "report_concern",
    "breaking_contact",
    "debt_bondage",
    "already_paid",
    "friends_targeted",
    "evidence_police",
    "handling_images",
    "image_removal",
    "local_support",
    "prevention_education",
    "professional_support",
    "young_person",
    "crisis",
    "greeting",
    "help",
    "about_source",
    "privacy",
    "feedback",
    "thanks",
)
OUT_OF_SCOPE = "out_of_scope"
CATALOGUE: tuple[str, ...] = (*IN_SCOPE, OUT_OF_SCOPE)


@dataclass(frozen=True)
class Route:
    """One phone number, link or address, with who it is for and its provenance."""

    id: str
    name: str
    for_whom: str
    source: str
    checked: str
    phone: str | None = None
    url: str | None = None
    email: str | None = None
    label: str | None = None
    notes: str | None = None
    nations: str | None = None
    confidence: str | None = None

    @property
    def button_label(self) -> str:
        return self.label or self.name

    @property
    def contact(self) -> str:
        """The number and address people call or write to, or ''."""
        return " / ".join(x for x in (self.phone, self.email) if x)

    @property
    def inline_value(self) -> str:
        """What `{route_id}` becomes inside a text."""
        return self.phone or self.email or self.name


@dataclass(frozen=True)
class Response:
    """The curated answer to one intent."""

    id: str
    title: str
    text: str
    source: str
    routes: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    flow: str | None = None


@dataclass(frozen=True)
class Choice:
    """A button on a question node."""

    label: str
    goto: str
    set: str | None = None


@dataclass(frozen=True)
class Option:
    """A tickable item on a checklist node; ticking it sets flag `id`."""

    id: str
    label: str


@dataclass(frozen=True)
class Rule:
    """A branch rule: go to `goto` when the flags match."""

    goto: str
    if_any: tuple[str, ...] = ()
    if_all: tuple[str, ...] = ()

    def matches(self, flags: frozenset[str]) -> bool:
        if self.if_any and not flags.intersection(self.if_any):
            return False
        return all(f in flags for f in self.if_all)


@dataclass(frozen=True)
class Section:
    """Part of a result, shown only when its conditions hold."""

    text: str
    routes: tuple[str, ...] = ()
    when_any: tuple[str, ...] = ()
    when_none: tuple[str, ...] = ()

    def applies(self, flags: frozenset[str]) -> bool:
        if self.when_any and not flags.intersection(self.when_any):
            return False
        return not flags.intersection(self.when_none)


@dataclass(frozen=True)
class Node:
    """One step of a flow: question, checklist, branch or result."""

    id: str
    type: str
    text: str = ""
    choices: tuple[Choice, ...] = ()
    options: tuple[Option, ...] = ()
    done: str | None = None
    rules: tuple[Rule, ...] = ()
    otherwise: str | None = None
    sections: tuple[Section, ...] = ()
    routes: tuple[str, ...] = ()
    source: str | None = None

    def targets(self) -> list[str]:
        """Every node this one can lead to."""
        out = [c.goto for c in self.choices] + [r.goto for r in self.rules]
        out += [t for t in (self.done, self.otherwise) if t]
        return out


@dataclass(frozen=True)
class Flow:
    """A button conversation."""

    id: str
    title: str
    start: str
    nodes: dict[str, Node]


@dataclass(frozen=True)
class CrisisRules:
    """Regular expressions for the crisis detector (see bot/crisis.py)."""

    danger: tuple[str, ...]
    topic: tuple[str, ...]
    general: tuple[str, ...]
    urgent: tuple[str, ...]


@dataclass(frozen=True)
class MatcherSettings:
    """Matcher bands on a 0-100 confidence scale, and the softmax scale behind it."""

    high: float = 70.0
    low: float = 40.0
    scale: float = 8.0


# The keys of responses/ui.yaml: every sentence the bot says around its answers.
UI_TEXTS: tuple[str, ...] = (
    "empty_text", "menu_title", "menu_prompt", "unknown_command", "expired",
    "did_you_mean", "closest_topics", "terminal_hint",
    "forget_title", "forget_done", "clear_title", "clear_private", "clear_group",
    "links_title", "links_intro", "links_source",
    "media_rule", "media_deleted", "media_not_deleted",
    "group_footer", "private_chat_button", "inline_open_button", "sorry",
    "source_prefix", "menu_button", "back_button", "restart_button", "resume_button",
    "done_button", "start_flow_button",
)  # fmt: skip

# What a command can do besides starting a flow or showing an intent's answer.
BUILT_IN_ACTIONS = ("welcome", "menu", "links", "forget", "clear")


@dataclass(frozen=True)
class CommandSpec:
    """One command of responses/commands.yaml: /name, its help line and what it does."""

    name: str
    help: str
    does: str  # one of BUILT_IN_ACTIONS, or "flow" / "intent" with `target`
    target: str | None = None
    deep_link: bool = False  # https://t.me/<bot>?start=NAME opens it
    private_only: bool = False  # not offered in groups


@dataclass
class Content:
    """Everything the bot knows, validated."""

    intents: dict[str, tuple[str, ...]]
    responses: dict[str, Response]
    routes: dict[str, Route]
    flows: dict[str, Flow]
    lexicon: dict[str, str]
    settings: MatcherSettings
    crisis: CrisisRules
    version: str = ""
    menu: tuple[tuple[str, str], ...] = field(default=())
    links: tuple[str, ...] = field(default=())
    texts: dict[str, str] = field(default_factory=dict)
    commands: dict[str, CommandSpec] = field(default_factory=dict)
