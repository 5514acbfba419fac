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
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache

from bot.matching.packing import packed, unpacked

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


class PackedRows:
    """Every feature's (class, weight) row in one bytes and one array, and where each row
    starts (times 256, plus its length: a row has at most one weight per class).

    A bytes and an array per feature took 7 MB for the matcher's 27,000 features.
    """

    __slots__ = ("at", "of", "weights")

    def __init__(self, at: dict[str, int], of: bytes, weights: array) -> None:
        if len(of) != len(weights):
            raise ValueError("a damaged model: classes and weights differ in number")
        self.at, self.of, self.weights = at, of, weights

    @classmethod
    def of_rows(cls, rows: Rows) -> PackedRows:
        at: dict[str, int] = {}
        of, weights = bytearray(), array("d")
        for f, row in rows.items():
            at[f] = len(of) << 8 | len(row)
            of.extend(c for c, _ in row)
            weights.extend(w for _, w in row)
        return cls(at, bytes(of), weights)

    def add(self, acc: list[float], feature: str, value: float) -> None:
        at = self.at.get(feature)
        if at is not None:
            start = at >> 8
            end = start + (at & 255)
            for c, w in zip(self.of[start:end], self.weights[start:end], strict=True):
                acc[c] += w * value


class LinearModel:
    """Weights per feature and class; `scores` gives one margin per class.

    With two classes every feature's weights are w and -w (each update moves the true
    class up and its one rival down by the same amount), so only the second class's
    weight is kept: the risk scorer's model then takes a fifth of the memory.
    """

    def __init__(
        self,
        classes: list[str],
        idf: dict[str, float],
        weights: Rows | dict[str, float] | PackedRows,
    ) -> None:
        """`weights`: each feature's (class, weight) row, packed or not; for two classes
        the second class's weight alone."""
        self.classes = classes
        self.idf = idf
        self._binary = len(classes) == 2
        self._rows = PackedRows({}, b"", array("d"))
        self._second: dict[str, float] = {}
        if self._binary:
            self._second = weights  # type: ignore[assignment]
        elif isinstance(weights, PackedRows):
            self._rows = weights
        else:
            self._rows = PackedRows.of_rows(weights)  # type: ignore[arg-type]
        self._word = lru_cache(maxsize=20_000)(self._word_part)
        self._max_idf = max(idf.values(), default=1.0)

    def _add(self, acc: list[float], feature: str, value: float) -> None:
        if not self._binary:
            self._rows.add(acc, feature, value)
            return
        w = self._second.get(feature)
        if w is not None:
            acc[0] -= w * value
            acc[1] += w * value

    # ------------------------------------------------------------ scoring

    def _word_part(self, word: str) -> tuple[array, float]:
        """A word's score contribution per class (an array: as a tuple of floats, the
        matcher's 33 classes took 1 KB a word in the cache), and its squared norm share."""
        acc = [0.0] * len(self.classes)
        sq = 0.0
        for f, n in word_features(word).items():
            idf = self.idf.get(f)
            if idf is None:
                continue
            v = n * idf
            sq += v * v
            self._add(acc, f, v)
        return array("d", acc), sq

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
        names = list(ids)
        idf_of = dict(zip(names, idf, strict=True))
        if len(classes) == 2:
            second, totals, step = _learn_two(vectors, seed)
            averaged = ((j, w - totals[j] / step) for j, w in second.items())
            return cls(
                classes, idf_of, {names[j]: round(w, 5) for j, w in averaged if abs(w) > PRUNE}
            )
        weights, all_totals, step = _learn(vectors, len(classes), seed)
        final: dict[str, list[tuple[int, float]]] = {}
        for j, row in weights.items():
            kept = [(c, w - all_totals[j][c] / step) for c, w in row.items()]
            kept = [(c, round(w, 5)) for c, w in kept if abs(w) > PRUNE]
            if kept:
                final[names[j]] = kept
        return cls(classes, idf_of, final)

    # ------------------------------------------------------------ storage

    def to_json(self) -> dict:
        """The features once, and the numbers as arrays (`packing`): read back in a tenth
        of the time of lists in JSON."""
        features = list(self.idf)
        number = {f: j for j, f in enumerate(features)}
        rows = self._rows
        weighted = list(self._second) if self._binary else list(rows.at)
        data = {
            "classes": self.classes,
            "features": features,
            "idf": packed(array("d", self.idf.values())),
            "weighted": packed(array("i", (number[f] for f in weighted))),
            "weights": packed(array("d", self._second.values()) if self._binary else rows.weights),
        }
        if not self._binary:  # each row's classes, one byte each, and where each row ends
            data["row_classes"] = rows.of.hex()
            data["row_ends"] = packed(array("i", ((a >> 8) + (a & 255) for a in rows.at.values())))
        return data

    @classmethod
    def from_json(cls, data: dict) -> LinearModel:
        """ValueError or KeyError if `data` is not what `to_json` gave."""
        classes, features = list(data["classes"]), list(data["features"])
        # An idf is one of a few values (one per document frequency: 1,900 for 128,000
        # features), and many weights are equal: each value is kept once.
        idf = dict(zip(features, _once(unpacked("d", data["idf"], len(features))), strict=True))
        weighted = [features[j] for j in unpacked("i", data["weighted"])]
        weights = unpacked("d", data["weights"])
        if len(classes) == 2:
            return cls(classes, idf, dict(zip(weighted, _once(weights), strict=True)))
        ends = unpacked("i", data["row_ends"], len(weighted))
        at: dict[str, int] = {}
        start = 0
        for f, end in zip(weighted, ends, strict=True):
            if not 0 < end - start < 256:
                raise ValueError("a damaged model: a row of no weights, or of too many")
            at[f] = start << 8 | end - start
            start = end
        if start != len(weights):
            raise ValueError("a damaged model: the rows do not cover the weights")
        return cls(classes, idf, PackedRows(at, bytes.fromhex(data["row_classes"]), weights))


def _once(numbers: array) -> Iterator[float]:
    """The numbers, each distinct value one float object."""
    same: dict[float, float] = {}
    return (same.setdefault(x, x) for x in numbers)


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


def _learn_two(vectors: list, seed: int) -> tuple[dict[int, float], dict[int, float], int]:
    """`_learn` for two classes, keeping the second class's weights alone: the first's are
    exactly their negation (each update moves one up and the other down by the same
    amount), so the margin is twice the second's score and the model learnt is the same,
    bit for bit, in a third of the time."""
    rng = random.Random(seed)
    weights: dict[int, float] = {}
    totals: dict[int, float] = {}
    get = weights.get
    step = 1
    for _ in range(EPOCHS):
        rng.shuffle(vectors)
        for fs, vs, y in vectors:
            score = 0.0
            for f, v in zip(fs, vs, strict=True):
                w = get(f)
                if w is not None:
                    score += w * v
            margin = score + score if y else -score - score
            loss = 1.0 - margin
            if loss > 0:
                tau = min(AGGRESSIVENESS, loss / 2)
                sign = tau if y else -tau
                for f, v in zip(fs, vs, strict=True):
                    weights[f] = get(f, 0.0) + sign * v
                    totals[f] = totals.get(f, 0.0) + step * sign * v
            step += 1
    return weights, totals, step
