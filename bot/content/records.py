"""Typed content objects: what the YAML files become once validated.

Kept free of loading logic so the matcher, engine and adapters depend only
on these small frozen records.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The stable intent IDs of the catalogue (docs/CONTENT.md lists them with their files).
IN_SCOPE: tuple[str, ...] = (
    "what_is_it",
    "terminology",
    "how_it_happens",
    "who_is_targeted",
    "adult_victims",
    "payment_demands",
    "financial_exploitation",
    "impact",
    "first_steps",
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
    copied: str  # when the route was copied from the research (not a live check)
    phone: str | None = None
    url: str | None = None
    email: str | None = None
    label: str | None = None
    notes: str | None = None
    nations: str | None = None
    confidence: str | None = None
    ages: str | None = None  # under_18 or adult: offered only when the child's age allows
    not_for: str | None = None  # a role never offered this route (police are not sent to 101)

    def suits(self, role: str, age_band: str) -> bool:
        """Whether to offer this route to this writer, for a child of that age band."""
        if self.not_for == role:
            return False
        return not self.ages or age_band in ("unknown", self.ages)

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
    """The crisis layers' content (intents/crisis_patterns.yaml, intents/crisis_training.yaml).

    `danger` patterns are grouped by the category of the risk taxonomy they
    catch; `possible` and `near_misses` are example lines for the risk scorer,
    and `thresholds` its cut-offs for the two tiers.
    """

    danger: tuple[str, ...]
    topic: tuple[str, ...]
    general: tuple[str, ...]
    urgent: tuple[str, ...]
    frame: tuple[str, ...] = ()  # message-wide: training, fiction, "if ever", a past case now well
    right_now: tuple[str, ...] = ()  # the urgent cues strong enough to break a frame
    signs: tuple[str, ...] = ()  # worrying signs that raise the `possible` tier
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)
    at_risk: tuple[str, ...] = ()
    possible: tuple[str, ...] = ()
    near_misses: tuple[str, ...] = ()
    thresholds: dict[str, float] = field(default_factory=dict)


# Who may be writing (intents/roles.yaml, responses/next_steps.yaml).
ROLES: tuple[str, ...] = (
    "school_staff", "parent_carer", "foster_residential", "social_worker", "police", "health",
    "youth_sport", "young_person", "adult_self", "unknown",
)  # fmt: skip
# What a conversation may establish about a case, and the UK nations.
EVENTS: tuple[str, ...] = ("extortion", "paid", "debt", "threats", "shared")
NATIONS: tuple[str, ...] = ("england", "wales", "scotland", "northern_ireland")
# Every case label responses/labels.yaml must name.
LABELS: tuple[str, ...] = (*ROLES, "under_18", "adult", *NATIONS)
# Age cues are tried in this order; each names the band it gives.
AGE_CUES: dict[str, str] = {
    "under_18_number": "under_18",
    "adult_number": "adult",
    "adult": "adult",
    "under_18": "under_18",
    "adult_general": "adult",
}


@dataclass(frozen=True)
class FactRules:
    """Cues for who is writing and the child's age band (intents/roles.yaml), in order."""

    roles: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # (band, patterns) in the order they are tried; the band is the first that matches.
    ages: tuple[tuple[str, tuple[str, ...]], ...] = ()
    events: dict[str, tuple[str, ...]] = field(default_factory=dict)  # paid, debt, ...
    nations: dict[str, tuple[str, ...]] = field(default_factory=dict)


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
    "done_button", "start_flow_button", "possible_lead", "possible_lead_child",
    "not_english_title", "not_english",
    "unsure_lead", "new_case_button", "new_case_done", "pick_an_answer",
    "note_button", "note_title", "note_intro", "note_when", "note_guide", "note_steps",
    "note_advice", "note_routes", "note_facts", "note_role", "note_age", "note_nation",
    "note_source", "note_sources", "note_nothing", "helpful_up", "helpful_down", "helpful_thanks",
    "why_title", "why_usage",
)  # fmt: skip

# Responses that are variants of an intent's answer rather than intents of their own.
RESPONSE_VARIANTS: tuple[str, ...] = ("crisis_child",)  # the crisis reply written to a child

# What a command can do besides starting a flow or showing an intent's answer.
BUILT_IN_ACTIONS = ("welcome", "menu", "links", "forget", "clear", "new_case")


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
    facts: FactRules = field(default_factory=FactRules)
    next_steps: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # how a case label is written out
