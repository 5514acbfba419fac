"""Typed answers inside a guide: "yes", "nope", "not sure", "2", "wales", "done", "back".

At a question or checklist step, what the user types is first read as an
answer to that step (its options, their common synonyms, their numbers,
with rapidfuzz for typos); only text that is not an answer is treated as a
question. Returns the button presses it stands for, in the callback grammar,
so a typed walkthrough goes exactly where the buttons go.
"""

from __future__ import annotations

import re

from rapidfuzz import fuzz

from bot.content.records import Node
from bot.dialogue import callbacks
from bot.dialogue.callbacks import Callback
from bot.dialogue.state import FlowPos
from bot.matching.language import FUNCTION_WORDS
from bot.matching.normalise import fold

MAX_WORDS = 6  # longer text is a question, not an answer
FUZZY = 85
_SAYINGS = {
    "unsure": "not sure|unsure|dont know|do not know|dunno|idk|no idea|maybe|possibly|perhaps|"
    "cant tell|can t tell|not certain|no clue|hard to say|might be",
    "yes": "yes|y|yeah|yea|yep|yup|ya|aye|yes please|correct|true|definitely|i think so|sure|ok|"
    "okay|it is|they are|he is|she is|has|have|did",
    "no": "no|n|nope|nah|not really|no way|negative|none|never|it isnt|they arent|hasnt|"
    "havent|didnt",
}
_EXACT = {
    k: re.compile(rf"^({v})( (it|they|he|she|we|so|thanks|thank you))?$")
    for k, v in _SAYINGS.items()
}
_NAV = {
    "back": re.compile(r"^(back|go back|previous|undo|back one)$"),
    "resume": re.compile(
        r"^(resume|carry on|back to (the )?(guide|questions|steps)|continue the guide)$"
    ),
    "restart": re.compile(r"^(start over|restart|start again|from the start|reset)$"),
    "menu": re.compile(r"^(menu|main menu|home)$"),
}
_NAV_PRESS = {
    "back": callbacks.BACK,
    "resume": callbacks.RESUME,
    "restart": callbacks.RESTART,
    "menu": callbacks.MENU,
}
_DONE = re.compile(
    r"^(done|finished|thats all|that s all|thats it|that s it|next|continue|ok done"
    r"|none of them|none)$"
)


def _kind(label: str) -> str | None:
    """Whether a button label is the step's yes, no or not-sure answer."""
    folded = fold(label)
    if folded.startswith(("not sure", "unsure", "don t know", "dont know", "maybe")):
        return "unsure"
    if folded.startswith("yes"):
        return "yes"
    if folded == "no" or folded.startswith("no "):
        return "no"
    return None


def typed_presses(pos: FlowPos, node: Node, text: str, age_band: str = "unknown") -> list[str]:
    """The presses the text stands for at this step, or [] when it is not an answer.

    A stated age ("she's 19") picks the answer that sets that age band.
    """
    if node.type == "question" and age_band != "unknown":
        for i, choice in enumerate(node.choices):
            if choice.set == age_band:
                return [Callback("choose", pos.flow, pos.node, i).encode()]
    folded = fold(text)
    if not folded or len(folded.split()) > MAX_WORDS:
        return []
    for kind, pattern in _NAV.items():
        if pattern.match(folded):
            return [
                {"back": callbacks.BACK, "restart": callbacks.RESTART, "menu": callbacks.MENU}[kind]
            ]
    if node.type == "question":
        index = _choice(folded, [c.label for c in node.choices])
        kind = "choose"
    elif node.type == "checklist":
        if _DONE.match(folded):
            return [Callback("done", pos.flow, pos.node).encode()]
        numbers = [int(n) - 1 for n in re.findall(r"\b\d\b", folded)]
        if numbers and all(0 <= n < len(node.options) for n in numbers):
            return [Callback("toggle", pos.flow, pos.node, n).encode() for n in numbers]
        index = _choice(folded, [o.label for o in node.options], sayings=False)
        kind = "toggle"
    else:
        return []
    return [] if index is None else [Callback(kind, pos.flow, pos.node, index).encode()]


def _content_word(word: str) -> bool:
    return word.isdigit() or (len(word) > 2 and word not in FUNCTION_WORDS)


def _words(folded: str, label: str) -> float:
    """How well the typed words cover the label's words (typos allowed): 'report to the
    police' answers 'Report to police or CEOP'."""
    typed = [w for w in folded.split() if _content_word(w)]
    wanted = [w for w in label.split() if _content_word(w)]
    if not typed or not wanted:
        return 0.0
    hits = sum(1 for w in typed if any(fuzz.ratio(w, x) >= FUZZY for x in wanted))
    return 100.0 * hits / len(typed) if hits >= min(2, len(wanted)) else 0.0


def _choice(folded: str, labels: list[str], sayings: bool = True) -> int | None:
    if folded.isdigit() and 1 <= int(folded) <= len(labels):
        return int(folded) - 1
    if sayings:
        kinds = [_kind(label) for label in labels]
        for kind, pattern in _EXACT.items():  # "not sure" is tried before "no"
            if pattern.match(folded) and kind in kinds:
                return kinds.index(kind)
    choices = [fold(label) for label in labels]
    short = len(folded.split()) <= 3
    # (score, closeness): covering the words wins; between equal covers, the closer label.
    scores = [
        (
            100.0
            if short and f" {c} " in f" {folded} "
            else max(fuzz.ratio(folded, c), _words(folded, c)),
            fuzz.ratio(folded, c),
        )
        for c in choices
    ]
    best = max(range(len(choices)), key=scores.__getitem__, default=None)
    return best if best is not None and scores[best][0] >= FUZZY else None
