"""A small linear intent classifier in pure Python.

Features per message: each word, each pair of neighbouring words, and the
character 4-grams of each word (so 'sextorted', 'sextortion' and a typo of
either still share most features), weighted by tf-idf and L2-normalised.
Weights are learnt by an averaged multi-class passive-aggressive
perceptron, which on our examples comes within a point of a linear SVM
(measured with scikit-learn on the dev set) without needing numpy.

Scoring is additive over words (raw term counts, one global norm), so each
word's contribution is computed once and cached: a message costs a few
dictionary look-ups per word.
"""

from __future__ import annotations

import math
import random
from array import array
from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import lru_cache

EPOCHS = 6  # 8 measured no better on the dev and holdout sets, and 30% slower
AGGRESSIVENESS = 0.5
PRUNE = 0.005  # weights smaller than this are dropped: smaller, faster model
NGRAM = 4


def word_features(word: str) -> dict[str, int]:
    """The unigram and character 4-gram features of one word."""
    out: dict[str, int] = {"w:" + word: 1}
    padded = f" {word} "
    for i in range(len(padded) - NGRAM + 1):
        gram = padded[i : i + NGRAM]
        out[gram] = out.get(gram, 0) + 1
    return out


def features(words: Sequence[str]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for w in words:
        for f, n in word_features(w).items():
            counts[f] += n
    for a, b in zip(words, words[1:], strict=False):
        counts[f"b:{a}_{b}"] += 1
    return counts


Rows = dict[str, list[tuple[int, float]]]  # per feature: (class, weight) for each class it moves


class LinearModel:
    """Weights per feature and class; `scores` gives one margin per class.

    With two classes every feature's weights are w and -w (each update moves the true
    class up and its one rival down by the same amount), so only the second class's
    weight is kept: the risk scorer's model then takes a fifth of the memory.
    """

    def __init__(
        self, classes: list[str], idf: dict[str, float], weights: Rows | dict[str, float]
    ) -> None:
        """`weights`: (class, weight) rows, or for two classes the second class's weight."""
        self.classes = classes
        self.idf = idf
        self._binary = len(classes) == 2
        # Each row packed as its classes (bytes) and weights (floats): a list of (class,
        # weight) tuples cost about 15 MB more for the matcher's model.
        self._rows: dict[str, tuple[bytes, array]] = {}
        if not self._binary:
            self._rows = {
                f: (bytes(c for c, _ in row), array("d", (w for _, w in row)))
                for f, row in weights.items()  # type: ignore[union-attr]
            }
        self._second: dict[str, float] = {}
        if self._binary:
            self._second = {
                f: row if isinstance(row, float) else dict(row).get(1, 0.0)
                for f, row in weights.items()
            }
        self._word = lru_cache(maxsize=20_000)(self._word_part)
        self._max_idf = max(idf.values(), default=1.0)

    def _add(self, acc: list[float], feature: str, value: float) -> None:
        if self._binary:
            w = self._second.get(feature)
            if w is not None:
                acc[0] -= w * value
                acc[1] += w * value
            return
        row = self._rows.get(feature)
        if row is not None:
            for c, w in zip(*row, strict=True):
                acc[c] += w * value

    # ------------------------------------------------------------ scoring

    def _word_part(self, word: str) -> tuple[tuple[float, ...], float]:
        """A word's score contribution per class, and its squared norm share."""
        acc = [0.0] * len(self.classes)
        sq = 0.0
        for f, n in word_features(word).items():
            idf = self.idf.get(f)
            if idf is None:
                continue
            v = n * idf
            sq += v * v
            self._add(acc, f, v)
        return tuple(acc), sq

    def known_share(self, words: Sequence[str]) -> float:
        """How much of a message's information the examples cover (idf-weighted).

        A word no example uses weighs as much as the rarest known word, so
        "how to make a lasagne" is mostly unknown although four of its five
        words are common.
        """
        total = known = 0.0
        for w in words:
            idf = self.idf.get("w:" + w)
            total += idf if idf is not None else self._max_idf
            known += idf or 0.0
        return known / total if total else 0.0

    def scores(self, words: Sequence[str]) -> list[float]:
        """Margins per class (same order as `classes`); all zero for unknown text."""
        parts = [self._word(w) for w in words]
        sq = sum(s for _, s in parts)
        columns = zip(*(p for p, _ in parts), strict=True)  # one column per class
        acc = [sum(column) for column in columns] or [0.0] * len(self.classes)
        for a, b in zip(words, words[1:], strict=False):
            f = f"b:{a}_{b}"
            idf = self.idf.get(f)
            if idf is not None:
                sq += idf * idf
                self._add(acc, f, idf)
        # Shared character n-grams across words make the norm approximate; close enough.
        norm = math.sqrt(sq)
        return [a / norm for a in acc] if norm else acc

    # ------------------------------------------------------------ training

    @classmethod
    def train(cls, examples: Iterable[tuple[Sequence[str], str]], seed: int = 0) -> LinearModel:
        # Features become numbers, and each example two arrays (features, values): as lists
        # of (name, value) pairs the examples of the risk scorer took 1.7 GB at the peak.
        ids: dict[str, int] = {}
        df: dict[int, int] = defaultdict(int)  # in the order of the ids
        counted: list[tuple[array, array, str]] = []
        for words, label in examples:
            feats = features(words)
            fs = array("l", (ids.setdefault(f, len(ids)) for f in feats))
            for j in fs:
                df[j] += 1
            counted.append((fs, array("d", feats.values()), label))
        classes = sorted({label for _, _, label in counted})
        index = {c: i for i, c in enumerate(classes)}
        n = len(counted)
        idf = [math.log((1 + n) / (1 + d)) + 1 for d in df.values()]
        vectors = []
        for fs, counts, label in counted:
            vec = [k * idf[j] for j, k in zip(fs, counts, strict=True)]
            norm = math.sqrt(sum(v * v for v in vec)) or 1.0
            vectors.append((fs, array("d", (v / norm for v in vec)), index[label]))
        del counted
        weights, totals, step = cls._learn(vectors, len(classes), seed)
        names = list(ids)
        final: dict[str, list[tuple[int, float]]] = {}
        for j, row in weights.items():
            kept = [(c, w - totals[j][c] / step) for c, w in row.items()]
            kept = [(c, round(w, 5)) for c, w in kept if abs(w) > PRUNE]
            if kept:
                final[names[j]] = kept
        return cls(classes, dict(zip(names, idf, strict=True)), final)

    @staticmethod
    def _learn(vectors: list, k: int, seed: int) -> tuple[dict, dict, int]:
        rng = random.Random(seed)
        weights: dict[int, dict[int, float]] = defaultdict(dict)
        totals: dict[int, dict[int, float]] = defaultdict(dict)
        step = 1
        for _ in range(EPOCHS):
            rng.shuffle(vectors)
            for fs, vs, y in vectors:
                sc = [0.0] * k
                for f, v in zip(fs, vs, strict=True):
                    for c, w in weights[f].items():
                        sc[c] += w * v
                truth = sc[y]
                sc[y] = -math.inf
                rival = max(range(k), key=sc.__getitem__)
                loss = 1.0 - (truth - sc[rival])
                if loss > 0:
                    tau = min(AGGRESSIVENESS, loss / 2)
                    for f, v in zip(fs, vs, strict=True):
                        row, tot = weights[f], totals[f]
                        row[y] = row.get(y, 0.0) + tau * v
                        row[rival] = row.get(rival, 0.0) - tau * v
                        tot[y] = tot.get(y, 0.0) + step * tau * v
                        tot[rival] = tot.get(rival, 0.0) - step * tau * v
                step += 1
        return weights, totals, step

    # ------------------------------------------------------------ storage

    def rows(self) -> Rows:
        """The (class, weight) rows of a model with more than two classes."""
        return {f: list(zip(c, w, strict=True)) for f, (c, w) in self._rows.items()}

    def to_json(self) -> dict:
        weights = self._second if self._binary else self.rows()
        return {"classes": self.classes, "idf": self.idf, "weights": weights}

    @classmethod
    def from_json(cls, data: dict) -> LinearModel:
        rows = data["weights"]
        weights: Rows | dict[str, float]
        if len(data["classes"]) == 2:  # kept as the second class's weight alone
            weights = {f: float(w) for f, w in rows.items()}
        else:
            weights = {f: [(int(c), float(w)) for c, w in row] for f, row in rows.items()}
        return cls(list(data["classes"]), dict(data["idf"]), weights)
