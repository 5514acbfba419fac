"""Map a free-text question to an intent, with a confidence and alternatives.

Steps: normalise (bot/normalise.py and the lexicon); mend misspelt words
with rapidfuzz against the examples' vocabulary; score every intent with
the linear classifier (bot/classifier.py); turn margins into a 0-100
confidence (softmax, times the share of words the examples know); and
let an example typed again verbatim (after normalising) win outright.
`out_of_scope` is an intent with examples of its own: the near misses the
bot must not answer.

Bands (thresholds in intents/matcher.yaml, chosen by `guidance-bot tune`):
answer above `high`; answer with "Did you mean" buttons between; below
`low`, out of scope with the closest topics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from bot.content.records import OUT_OF_SCOPE, Content, MatcherSettings
from bot.matching.model_cache import cached_model
from bot.matching.normalise import Lexicon, fold, stem

MAX_ALTERNATIVES = 3


@dataclass(frozen=True)
class Match:
    """The matcher's verdict: `band` is answer, suggest or reject."""

    intent: str
    score: float
    alternatives: tuple[tuple[str, float], ...]
    band: str


@dataclass(frozen=True)
class Reading:
    """A message's words: folded with the lexicon applied, typos mended, and stemmed; and
    the classifier's margins for them, which every match of the message shares (a crisis
    is matched again without the crisis card)."""

    plain: list[str]
    words: list[str]
    terms: list[str]
    margins: list[float]

    @property
    def mended(self) -> bool:
        return self.words != self.plain


class Matcher:
    """Built once from the content; `match` is pure and cheap per message."""

    def __init__(
        self, content: Content, settings: MatcherSettings | None = None, use_cache: bool = True
    ) -> None:
        self.settings = settings or content.settings
        self.lexicon = Lexicon(content.lexicon)
        self._typo_cache: dict[str, str] = {}
        # Sorted, so that how examples are spread over files never changes the model.
        examples = sorted((iid, text) for iid, texts in content.intents.items() for text in texts)
        plain = [self.lexicon.apply(fold(text)) for _, text in examples]
        self.vocab = sorted({w for ws in plain for w in ws})
        # Typos rarely change the first letter; requiring it stops "mount" -> "amount", and
        # looking only among words of that letter is about twenty times faster.
        self._targets: dict[str, list[str]] = {}
        for target in sorted({*self.vocab, *self.lexicon.words}):
            self._targets.setdefault(target[:1], []).append(target)
        self._vocab_set = frozenset(self.vocab)
        # An example typed again (after normalising) is answered with certainty.
        self.verbatim = {" ".join(ws): iid for ws, (iid, _) in zip(plain, examples, strict=True)}
        training = [(self._terms(ws), iid) for ws, (iid, _) in zip(plain, examples, strict=True)]
        self.model_key = examples  # with the lexicon, this decides every word the models see
        self.model = cached_model("model", training, lambda: training, use_cache)

    # ------------------------------------------------------------ text

    def _correct(self, word: str) -> str:
        """Mend a misspelt word against the examples' vocabulary and the lexicon's variants
        (the result may be two words: "im" -> "i am")."""
        if word in self._vocab_set or len(word) < 4 or not word.isalpha():
            return word
        cached = self._typo_cache.get(word)
        if cached is None:
            cutoff = 80 if len(word) < 7 else 75
            targets = self._targets.get(word[0], ())
            hit = process.extractOne(word, targets, scorer=fuzz.ratio, score_cutoff=cutoff)
            cached = hit[0] if hit else word
            # A misspelt variant ("sextroted") mends to the variant, then to its canonical word.
            cached = self.lexicon.words.get(cached, cached)
            if len(self._typo_cache) < 50_000:
                self._typo_cache[word] = cached
        return cached

    @property
    def vocabulary(self) -> frozenset[str]:
        """Every word the examples use (after folding and the lexicon)."""
        return self._vocab_set

    def terms(self, text: str) -> list[str]:
        """The words a model sees: folded, lexicon applied, typos mended, stemmed."""
        return self._terms(self._words(self.lexicon.apply(fold(text))))

    def read(self, text: str) -> Reading:
        """One message's words, read once for every layer that needs them."""
        plain = self.lexicon.apply(fold(text))
        words = self._words(plain)
        terms = self._terms(words)
        return Reading(plain, words, terms, self.model.scores(terms) if terms else [])

    def _words(self, plain: list[str]) -> list[str]:
        return [x for w in plain for x in self._correct(w).split()]

    def respell(self, text: str) -> str:
        """The folded message with its misspelt words mended and every other word as
        written, for the crisis patterns. Unlike `read`, it keeps tenses and synonyms: a
        mend that only cuts a word's ending ("killed" to "kill") or swaps a synonym ("lads"
        to "boy") would turn a news story into a statement of danger."""
        out = []
        for word in fold(text, limit=None).split():
            mended = self._correct(word)
            if mended != word and not word.startswith(mended) and stem(mended) != stem(word):
                word = mended
            out.append(word)
        return " ".join(out)

    @staticmethod
    def _terms(words: list[str]) -> list[str]:
        # Function words stay: "my", "you", "what" carry intent (measured: +3 points).
        return [stem(w) for w in words]

    # ------------------------------------------------------------ scoring

    def scores(
        self, text: str, exclude: tuple[str, ...] = (), reading: Reading | None = None
    ) -> dict[str, float]:
        """Confidence 0..100 per intent (a softmax of the margins), `exclude` left out."""
        reading = reading or self.read(text)
        words, terms = reading.words, reading.terms
        if not terms:
            return {}
        pairs = [
            (c, m) for c, m in zip(self.model.classes, reading.margins, strict=True)
            if c not in exclude
        ]  # fmt: skip
        margins = [m for _, m in pairs]
        if not any(margins):
            return {}
        scale = self.settings.scale
        top = max(margins)
        exps = [math.exp(scale * (m - top)) for m in margins]
        total = sum(exps)
        # Words no example uses lower confidence: off-topic questions share only a word or two.
        known = self.model.known_share(terms)
        out = {c: 100 * known * e / total for (c, _), e in zip(pairs, exps, strict=True)}
        label = self.verbatim.get(" ".join(words))
        if label and label not in exclude:
            out[label] = 100.0
        return out

    def match(
        self, text: str, exclude: tuple[str, ...] = (), reading: Reading | None = None
    ) -> Match:
        """The best intent and its band; `exclude` leaves intents out (the rest of a crisis)."""
        scores = self.scores(text, exclude, reading)
        ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
        if not ranked:
            return Match(OUT_OF_SCOPE, 0.0, (), "reject")
        top, top_score = ranked[0]
        if top == OUT_OF_SCOPE or top_score < self.settings.low:
            floor = self.settings.low / 3
            alts = tuple((i, round(s, 1)) for i, s in ranked if i != OUT_OF_SCOPE and s >= floor)
            return Match(OUT_OF_SCOPE, round(top_score, 1), alts[:MAX_ALTERNATIVES], "reject")
        band = "answer" if top_score >= self.settings.high else "suggest"
        return Match(top, round(top_score, 1), _close_alternatives(ranked), band)


def _close_alternatives(ranked: list[tuple[str, float]]) -> tuple[tuple[str, float], ...]:
    """Runners-up close enough to offer (QnA Maker's square-root gap rule)."""
    out: list[tuple[str, float]] = []
    top = prev = ranked[0][1]
    for label, score in ranked[1:]:
        if label == OUT_OF_SCOPE:
            continue
        if top - score > math.sqrt(top) * 1.5 or prev - score > 0.7 * math.sqrt(prev) * 1.5:
            break
        out.append((label, round(score, 1)))
        prev = score
        if len(out) == MAX_ALTERNATIVES:
            break
    return tuple(out)
