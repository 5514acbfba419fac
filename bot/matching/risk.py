"""The learned risk scorer: is a specific child at risk now? One of the crisis layers.

The patterns (crisis.py) catch what is said plainly; this catches what is
said indirectly ("wishes he could go to sleep and not wake up", "he's
outside the school"), which is how risk is usually described. It is a
binary linear model over the matcher's own words (typos mended, lexicon
applied), trained on the crisis and possible-risk examples against every
other example and the near misses (intents/crisis.yaml,
intents/crisis_training.yaml). The message is scored whole: scoring each
sentence and keeping the highest was measured, and lost recall at the same
false-alarm rate. The two thresholds live in the content and were chosen on
held-out folds (`guidance-bot tune-risk`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from functools import partial

from bot.content.records import Content
from bot.matching.classifier import LinearModel
from bot.matching.model_cache import cached_model

RISK, NONE = "risk", "none"
KNOWN_SHARE = 0.5
BURIED_SEED = 7  # which ordinary example each training example is joined to (`with_buried_copies`)
MIN_TERMS = 6  # shorter messages are left to the patterns: a short follow-up is no evidence

Terms = Callable[[str], list[str]]


def training_set(content: Content) -> list[tuple[str, str]]:
    """(text, label) for every example: crisis and possible-risk lines are `risk`."""
    rules = content.crisis
    positives = [*content.intents.get("crisis", ()), *rules.at_risk, *rules.possible]
    negatives = [t for iid, ts in content.intents.items() if iid != "crisis" for t in ts]
    negatives += rules.near_misses
    return sorted([(t, RISK) for t in positives] + [(t, NONE) for t in negatives])


def with_buried_copies(rows: list[tuple[str, str]], seed: int) -> list[tuple[str, str]]:
    """Each example once more, joined to an ordinary one and keeping its label.

    Risk is usually one clause of a longer practical question ("...do we report to CEOP
    or the police first? he told her he wishes he could not wake up"). Trained on
    examples alone, a whole-message model learns that long practical questions are
    safe. Measured with each writer's catalogue left out of training in turn (D to J):
    at 2% false alarms the scorer alone caught 86.0% of their risk lines, against 79.8%
    without the copies (74.0% against 71.4% at 1%).
    """
    rng = random.Random(seed)
    ordinary = [text for text, label in rows if label == NONE]
    out = list(rows)
    for text, label in rows:
        other = rng.choice(ordinary)
        if other != text:
            joined = f"{other} {text}" if rng.random() < 0.6 else f"{text} {other}"
            out.append((joined, label))
    return sorted(out)


class RiskScorer:
    def __init__(self, model: LinearModel, terms: Terms) -> None:
        self.model = model
        self.terms = terms
        self._risk = model.classes.index(RISK)
        self._none = model.classes.index(NONE)

    @classmethod
    def train(
        cls, rows: list[tuple[str, str]], terms: Terms, key: object = None, use_cache: bool = True
    ) -> RiskScorer:
        """`key`: what decides how texts become terms (the matcher's vocabulary and lexicon)."""
        # The copies are made from the rows alone (and the seed): only training needs them.
        copies = partial(with_buried_copies, rows, BURIED_SEED)
        data = lambda: [(terms(text), label) for text, label in copies()]  # noqa: E731
        if not use_cache:
            return cls(LinearModel.train(data()), terms)
        return cls(cached_model("risk", (key, rows, BURIED_SEED), data, use_cache), terms)

    def score(self, text: str, terms: list[str] | None = None) -> float | None:
        """The margin of `risk` over `none`; above 0 the model leans to risk. None: too
        little to judge by, or mostly unknown words (other languages); the scorer then
        neither raises an alarm nor overrules one."""
        terms = self.terms(text) if terms is None else terms
        if len(terms) < MIN_TERMS or self.model.known_share(terms) < KNOWN_SHARE:
            return None
        margins = self.model.scores(terms)
        return margins[self._risk] - margins[self._none]


def held_out_scores(
    rows: list[tuple[str, str]], terms: Terms, folds: int = 5, seed: int = 3
) -> list[tuple[float, str]]:
    """Each example scored by a model that never saw it (k folds): for choosing thresholds.
    In the order of `rows`, so a caller can pair each score with its text."""
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    out: list[tuple[float, str]] = [(-math.inf, label) for _, label in rows]
    for k in range(folds):
        held = set(order[k::folds])
        train = [r for i, r in enumerate(rows) if i not in held]
        model = RiskScorer.train(train, terms, use_cache=False)
        for i in held:
            score = model.score(rows[i][0])
            out[i] = (-math.inf if score is None else score, rows[i][1])
    return out
