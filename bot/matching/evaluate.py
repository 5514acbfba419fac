"""Accuracy metrics for a labelled file, and threshold tuning on held-out examples.

Kept apart from the matcher so the numbers in the README come from the same
code anyone can rerun with `guidance-bot eval` and `guidance-bot tune`.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from bot.content.records import OUT_OF_SCOPE, Content, MatcherSettings
from bot.matching.matcher import Matcher

if TYPE_CHECKING:
    from bot.matching.crisis import CrisisDetector

Classify = Callable[[str], str]
HIGH_PRECISION = 0.9  # above `high`, answers need no "Did you mean"


@dataclass(frozen=True)
class Labelled:
    text: str
    intent: str


def read_jsonl(path: Path) -> list[Labelled]:
    """Read `{"text", "intent"}` lines; a bad line is an error naming its number."""
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            out.append(Labelled(str(obj["text"]), str(obj["intent"])))
        except (ValueError, KeyError, TypeError) as exc:
            msg = f"{path}:{n}: not a JSON line with text and intent ({exc})"
            raise ValueError(msg) from None
    return out


def metrics(items: Iterable[Labelled], classify: Classify) -> dict:
    items = list(items)
    pairs = [(it.intent, classify(it.text), it.text) for it in items]
    ins = [(g, p) for g, p, _ in pairs if g != OUT_OF_SCOPE]
    oos = [(g, p) for g, p, _ in pairs if g == OUT_OF_SCOPE]
    crisis_gold = sum(1 for g, _, _ in pairs if g == "crisis")
    crisis_pred = sum(1 for _, p, _ in pairs if p == "crisis")
    crisis_hit = sum(1 for g, p, _ in pairs if g == p == "crisis")
    per: dict[str, dict] = {}
    for label in sorted({g for g, _, _ in pairs} | {p for _, p, _ in pairs}):
        tp = sum(1 for g, p, _ in pairs if g == p == label)
        gold = sum(1 for g, _, _ in pairs if g == label)
        pred = sum(1 for _, p, _ in pairs if p == label)
        per[label] = {
            "precision": round(tp / pred, 3) if pred else None,
            "recall": round(tp / gold, 3) if gold else None,
            "support": gold,
        }
    confusions = Counter((g, p) for g, p, _ in pairs if g != p)
    errors = [{"text": t, "gold": g, "predicted": p} for g, p, t in pairs if g != p]
    return {
        "lines": len(pairs),
        "in_scope_accuracy": _ratio(sum(g == p for g, p in ins), len(ins)),
        "out_of_scope_rejection": _ratio(sum(p == OUT_OF_SCOPE for _, p in oos), len(oos)),
        "false_accept_rate": _ratio(sum(p != OUT_OF_SCOPE for _, p in oos), len(oos)),
        "in_scope_false_reject_rate": _ratio(sum(p == OUT_OF_SCOPE for _, p in ins), len(ins)),
        "crisis_recall": _ratio(crisis_hit, crisis_gold),
        "crisis_precision": _ratio(crisis_hit, crisis_pred),
        "per_intent": per,
        "top_confusions": [
            {"gold": g, "predicted": p, "count": n} for (g, p), n in confusions.most_common(10)
        ],
        "errors": errors,
    }


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def format_report(m: dict) -> str:
    lines = [
        f"lines: {m['lines']}",
        f"in-scope top-1 accuracy: {pct(m['in_scope_accuracy'])}",
        f"out-of-scope rejection:  {pct(m['out_of_scope_rejection'])}",
        f"false-accept rate:       {pct(m['false_accept_rate'])}",
        f"in-scope false rejects:  {pct(m['in_scope_false_reject_rate'])}",
        f"crisis recall:           {pct(m['crisis_recall'])}",
        f"crisis precision:        {pct(m['crisis_precision'])}",
        "",
        "per intent (precision / recall / support):",
    ]
    for label, v in m["per_intent"].items():
        p, r = pct(v["precision"]), pct(v["recall"])
        lines.append(f"  {label:24} {p:>7} {r:>7} {v['support']:>4}")
    lines += ["", "top confusions (gold -> predicted):"]
    lines += [f"  {c['gold']} -> {c['predicted']}: {c['count']}" for c in m["top_confusions"]]
    return "\n".join(lines)


# ---------------------------------------------------------------- tuning


def split(content: Content, share: float = 0.2, seed: int = 7) -> tuple[Content, list[Labelled]]:
    """Hold out `share` of each intent's examples; return the reduced content and them."""
    rng = random.Random(seed)
    kept: dict[str, tuple[str, ...]] = {}
    held: list[Labelled] = []
    for iid, texts in content.intents.items():
        texts = list(texts)
        rng.shuffle(texts)
        k = max(1, int(len(texts) * share)) if len(texts) > 4 else 0
        held += [Labelled(t, iid) for t in texts[:k]]
        kept[iid] = tuple(texts[k:])
    return replace(content, intents=kept), held


def objective(m: dict) -> float:
    """What tuning maximises: in-scope accuracy plus half the out-of-scope rejection.

    The held-out negatives are deliberately hard near misses and few, so a
    full weight would trade many right answers for a few rejections.
    """
    return (m["in_scope_accuracy"] or 0) + 0.5 * (m["out_of_scope_rejection"] or 0)


def tune(content: Content, folds: int = 3) -> tuple[MatcherSettings, dict]:
    """Choose scale and thresholds on held-out splits of our own examples.

    `low` maximises the objective; `high` is the lowest confidence above
    which held-out answers were right at least HIGH_PRECISION of the time.
    """
    splits = [split(content, seed=s) for s in range(folds)]
    matchers = [(Matcher(reduced, use_cache=False), held) for reduced, held in splits]
    best: tuple[float, MatcherSettings, dict, list] | None = None
    for scale in (4.0, 6.0, 8.0, 12.0, 16.0):
        scored = []
        for matcher, held in matchers:
            matcher.settings = MatcherSettings(high=0, low=0, scale=scale)
            scored += [(it.intent, matcher.scores(it.text)) for it in held]
        for low in range(10, 72, 2):
            m = _metrics_at(scored, low)
            score = objective(m)
            if best is None or score > best[0]:
                best = (score, MatcherSettings(high=0, low=float(low), scale=scale), m, scored)
    assert best is not None
    _, settings, m, scored = best
    high = 100.0
    for cand in range(int(settings.low), 101, 2):
        accepted = [(g, s) for g, s in scored if s and max(s.values()) >= cand]
        right = sum(1 for g, s in accepted if max(s, key=s.get) == g)
        if accepted and right / len(accepted) >= HIGH_PRECISION:
            high = float(cand)
            break
    return replace(settings, high=high), m


def _metrics_at(scored: list[tuple[str, dict[str, float]]], low: float) -> dict:
    ins_right = ins_total = oos_right = oos_total = 0
    for gold, scores in scored:
        if scores:
            top = max(scores, key=scores.get)
            pred = top if top != OUT_OF_SCOPE and scores[top] >= low else OUT_OF_SCOPE
        else:
            pred = OUT_OF_SCOPE
        if gold == OUT_OF_SCOPE:
            oos_total += 1
            oos_right += pred == OUT_OF_SCOPE
        else:
            ins_total += 1
            ins_right += pred == gold
    return {
        "in_scope_accuracy": ins_right / ins_total if ins_total else None,
        "out_of_scope_rejection": oos_right / oos_total if oos_total else None,
    }


# Share of non-risk examples (held out, k folds) each tier may alarm on. Recall first:
# a false alarm costs a few lines, a miss can cost a life; but an alarm on every
# second message would teach people to ignore it. `possible` was 1.5%: at 2.5% (chosen
# on the folds) the scorer catches 86.6% of risk lines there instead of 82.5%, for about
# one more alarm in a hundred ordinary questions, answered with one line on top.
RISK_FALSE_ALARMS = {"crisis": 0.005, "possible": 0.025}


def tune_risk(content: Content, matcher: Matcher) -> tuple[dict[str, float], dict]:
    """Risk-scorer thresholds from held-out folds of our own risk examples, and what the
    content's vetoes do on the same folds."""
    from bot.matching.crisis import CrisisDetector
    from bot.matching.risk import RISK, held_out_scores, training_set

    rows = training_set(content)
    scored = held_out_scores(rows, matcher.terms)
    negatives = sorted((s for s, label in scored if label != RISK), reverse=True)
    positives = [s for s, label in scored if label == RISK]
    chosen, report = {}, {}
    for tier, share in RISK_FALSE_ALARMS.items():
        allowed = int(share * len(negatives))
        threshold = round(negatives[allowed] + 0.001, 3) if negatives else 0.0
        chosen[tier] = threshold
        caught = sum(s >= threshold for s in positives)
        report[tier] = {
            "recall": round(caught / max(len(positives), 1), 3),
            "false_alarms": allowed,
        }
    # What the content's vetoes do on the same folds: the examples they overrule.
    overruled = _overruled(CrisisDetector(content.crisis), rows, scored)
    for veto, (risk, other) in overruled.items():
        value = content.crisis.thresholds.get(veto, -10.0)
        report[veto] = {
            "value": value,
            "risk_overruled": f"{sum(s < value for s in risk)} of {len(risk)}",
            "others_overruled": f"{sum(s < value for s in other)} of {len(other)}",
        }
    return chosen, report


def _overruled(
    detector: CrisisDetector,
    rows: list[tuple[str, str]],
    scored: list[tuple[float, str]],
) -> dict[str, tuple[list[float], list[float]]]:
    """Held-out scores of the examples each veto could overrule, risk and other: a danger
    statement or sign in a message that sounds general, and a topic word alone."""
    from bot.matching.risk import RISK

    found: dict[str, tuple[list[float], list[float]]] = {
        "danger_veto": ([], []),
        "topic_veto": ([], []),
    }
    for (text, label), (score, _) in zip(rows, scored, strict=True):
        signals = detector.read(text)
        if score == -math.inf or signals.framed:
            continue  # too short to judge: never overruled
        topic_only = bool(signals.reasons) and set(signals.reasons) == {"topic"}
        danger = (set(signals.reasons) - {"topic"} or signals.signs) and signals.general
        for veto, applies in (("danger_veto", danger), ("topic_veto", topic_only)):
            if applies:
                found[veto][label != RISK].append(score)
    return found


# ---------------------------------------------------------------- risk


def read_risk_jsonl(path: Path) -> list[dict]:
    """Read `{"text", "risk": crisis|possible|none, "category"}` lines (a crisis catalogue)."""
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                obj = json.loads(line)
                rows.append({"text": str(obj["text"]), "risk": str(obj["risk"]),
                             "category": str(obj.get("category", "?"))})  # fmt: skip
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(
                    f"{path}:{n}: not a JSON line with text and risk ({exc})"
                ) from None
    return rows


def risk_metrics(rows: list[dict], assess: Callable[[str], str | None]) -> dict:
    """Recall per tier and per taxonomy category, and the false-alarm rate (either tier)."""
    found = [(r, assess(r["text"])) for r in rows]
    at_risk = [(r, got) for r, got in found if r["risk"] != "none"]
    calm = [(r, got) for r, got in found if r["risk"] == "none"]
    per: dict[str, list[int]] = {}
    for r, got in at_risk:
        hit = per.setdefault(f"{r['risk']}/{r['category']}", [0, 0])
        hit[0] += got is not None
        hit[1] += 1
    crisis = [got for r, got in at_risk if r["risk"] == "crisis"]
    return {
        "lines": len(rows),
        "recall_any_tier": _ratio(sum(g is not None for _, g in at_risk), len(at_risk)),
        "crisis_at_crisis_tier": _ratio(sum(g == "crisis" for g in crisis), len(crisis)),
        "false_alarm_rate": _ratio(sum(g is not None for _, g in calm), len(calm)),
        "per_category": {
            k: {"recall": _ratio(a, b), "support": b} for k, (a, b) in sorted(per.items())
        },
        "misses": [r["text"] for r, got in at_risk if got is None],
        "false_alarms": [r["text"] for r, got in calm if got is not None],
    }


def format_risk_report(m: dict) -> str:
    lines = [
        f"lines: {m['lines']}",
        f"risk recall (crisis or possible tier): {pct(m['recall_any_tier'])}",
        f"crisis lines given the crisis tier:    {pct(m['crisis_at_crisis_tier'])}",
        f"false alarms on lines without risk:    {pct(m['false_alarm_rate'])}",
        "",
        "recall per tier/category (support):",
    ]
    lines += [
        f"  {k:34} {pct(v['recall']):>7} {v['support']:>4}" for k, v in m["per_category"].items()
    ]
    return "\n".join(lines)
