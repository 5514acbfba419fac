"""The nearest-examples check: are the examples most like this message about a child at risk?

One of the crisis layers. The risk scorer (risk.py) learns one weight per word
over all the examples, so a phrasing new as a whole can score as ordinary even
when a handful of risk examples say nearly the same ("packed his things into
boxes with names on", "gone. phone off now"). Here a message is compared with
every example, by the cosine of tf-idf vectors of the matcher's terms and term
pairs, and judged by its K nearest: the similarity-weighted balance of risk
(+1) and ordinary (-1) among them. It raises the `possible` tier only (the
answer, with the crisis lines on top).

Its cut-off comes from the examples themselves: each ordinary example is scored
against all the others, and the cut-off is the score that only SHARE of them
reach. Terms in more than MAX_DF of the examples are left out, and a message is
looked up by its QUERY rarest terms: the common ones say least about risk and
would make every message visit thousands of examples.

Measured on eight catalogues never trained on (2,240 risk lines, 1,200 near
misses), with sklearn first and then as here: it caught 14 of the 43 risk lines
every other layer missed, and raised no more false alarms there, nor on the 662
ordinary questions of the intent sets.
"""

from __future__ import annotations

import heapq
import math
from array import array
from collections import Counter
from collections.abc import Callable

from bot.matching.model_cache import cached_json
from bot.matching.packing import packed, unpacked
from bot.matching.risk import RISK

K = 15  # nearest examples a message is judged by
MAX_DF = 0.01  # terms in more of the examples than this are not looked up
QUERY = 6  # a message is looked up by its most telling terms only (the rarest, by tf-idf)
SHARE = 0.01  # of the ordinary examples, each scored against the others, this share alarm
RECIPE = ("nearest-2", K, MAX_DF, QUERY, SHARE)

Terms = Callable[[str], list[str]]


def _features(terms: list[str]) -> Counter[str]:
    return Counter([*terms, *(f"{a} {b}" for a, b in zip(terms, terms[1:], strict=False))])


class NearestExamples:
    """Every example as a tf-idf vector, kept as one index: for each feature (its number
    in `features`), the examples holding it and their weights, `ids[starts[j]:starts[j + 1]]`
    and the same slice of `weights`. Flat arrays, because a dict of small arrays per feature
    cost 21 MB for the 300,000 entries of today's examples."""

    def __init__(
        self,
        features: dict[str, int],
        arrays: tuple[array, array, array, array],
        risk: bytes,
        cut: float,
    ) -> None:
        self._features = features
        self._idf, self._starts, self._ids, self._weights = arrays
        self._risk = risk  # per example: 1 for a risk example
        self.cut = cut

    @classmethod
    def train(cls, rows: list[tuple[list[str], bool]], max_df: float = MAX_DF) -> NearestExamples:
        """`rows`: each example's terms and whether it shows a child at risk."""
        counted = [_features(terms) for terms, _ in rows]
        df = Counter(f for c in counted for f in c)
        n, most = len(rows), max_df * len(rows)
        kept = sorted(f for f, d in df.items() if 2 <= d <= most)
        features = {f: j for j, f in enumerate(kept)}
        idf = array("f", (math.log((1 + n) / (1 + df[f])) + 1 for f in kept))
        vectors = [_weighted(c, features, idf) for c in counted]
        postings: list[list[tuple[int, float]]] = [[] for _ in kept]
        for i, vector in enumerate(vectors):
            for j, w in vector.items():
                postings[j].append((i, w))
        starts, ids, weights = array("i", [0]), array("i"), array("f")
        for entries in postings:
            ids.extend(i for i, _ in entries)
            weights.extend(w for _, w in entries)
            starts.append(len(ids))
        risk = bytes(int(at_risk) for _, at_risk in rows)
        model = cls(features, (idf, starts, ids, weights), risk, math.inf)
        ordinary = sorted(
            s
            for i, vector in enumerate(vectors)
            if not risk[i] and (s := model._score(vector, skip=i)) is not None
        )
        if ordinary:  # else it never alarms: no ordinary example to set the cut-off by
            model.cut = ordinary[min(len(ordinary) - 1, int((1 - SHARE) * len(ordinary)))]
        return model

    def score(self, terms: list[str]) -> float | None:
        """From -1 (the nearest examples are all ordinary) to 1 (all show risk); None when
        no example shares a telling term."""
        return self._score(_weighted(_features(terms), self._features, self._idf))

    def alarms(self, terms: list[str]) -> bool:
        score = self.score(terms)
        return score is not None and score >= self.cut

    def _score(self, query: dict[int, float], skip: int = -1) -> float | None:
        acc: dict[int, float] = {}
        get, starts, ids, weights = acc.get, self._starts, self._ids, self._weights
        for j, q in heapq.nlargest(QUERY, query.items(), key=lambda item: item[1]):
            start, end = starts[j], starts[j + 1]
            for i, w in zip(ids[start:end], weights[start:end], strict=True):
                acc[i] = get(i, 0.0) + q * w
        acc.pop(skip, None)
        nearest = heapq.nlargest(K, acc.items(), key=lambda item: item[1])
        total = sum(s for _, s in nearest)
        if not total:
            return None
        return sum(s if self._risk[i] else -s for i, s in nearest) / total

    # ------------------------------------------------------------ storage

    def to_json(self) -> dict:
        """The arrays as base64 of their bytes (the cache is this machine's own)."""
        arrays = (self._idf, self._starts, self._ids, self._weights)
        return {
            "features": list(self._features),
            "arrays": [packed(a) for a in arrays],
            "risk": self._risk.hex(),
            "cut": self.cut,
        }

    @classmethod
    def from_json(cls, data: dict) -> NearestExamples:
        arrays = [unpacked(code, text) for code, text in zip("fiif", data["arrays"], strict=True)]
        features = {f: j for j, f in enumerate(data["features"])}
        if len(arrays[0]) != len(features) or len(arrays[1]) != len(features) + 1:
            raise ValueError("a damaged nearest-examples index")
        idf, starts, ids, weights = arrays
        return cls(features, (idf, starts, ids, weights), bytes.fromhex(data["risk"]), data["cut"])

    @classmethod
    def build(
        cls, rows: list[tuple[str, str]], terms: Terms, key: object, use_cache: bool = True
    ) -> NearestExamples:
        """Trained on the risk scorer's `rows` (text, `risk` or `none`), or loaded when
        trained on exactly these before; `key`: what decides how texts become terms."""

        def train() -> NearestExamples:
            return cls.train([(terms(text), label == RISK) for text, label in rows])

        return cached_json("nearest", (RECIPE, key, rows), train, cls.from_json, use_cache)


def _weighted(counts: Counter[str], features: dict[str, int], idf: array) -> dict[int, float]:
    """Sub-linear tf times idf over the indexed features, L2-normalised, by feature number."""
    vector = {}
    for f, k in counts.items():
        j = features.get(f)
        if j is not None:
            vector[j] = (1 + math.log(k)) * idf[j]
    norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
    return {j: v / norm for j, v in vector.items()}
