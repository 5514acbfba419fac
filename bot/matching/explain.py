"""Why this answer: what the matcher read, which crisis layers fired and why, the top
intents with their scores, the band and its thresholds, and the case facts derived.

For content editors (`guidance-bot classify --explain`, `/why` on Telegram): computed
again from the text given, never stored.
"""

from __future__ import annotations

from bot.matching.matcher import MAX_ALTERNATIVES
from bot.matching.normalise import fold
from bot.matching.triage import Triage


def explain(triage: Triage, text: str) -> dict:
    m = triage.matcher
    folded = fold(text)
    reading = m.read(text)
    lexicon = [w for w in reading.plain if w not in folded.split()]
    mends = [f"{a} -> {b}" for a, b in zip(reading.plain, reading.words, strict=True) if a != b]
    found = triage.assess(text)
    scores = sorted(m.scores(text, reading=reading).items(), key=lambda kv: -kv[1])
    fired = triage.crisis.categories_fired(text)
    score = triage.scorer.score(text, reading.terms)
    near = triage.nearest.score(reading.terms)
    return {
        "normalised": folded,
        "lexicon_words": lexicon,
        "typo_mends": mends,
        "crisis": {
            "risk": found.risk,
            "layers": list(found.layers),
            "pattern_categories": fired,
            "scorer": None if score is None else round(score, 3),
            "scorer_thresholds": {"crisis": triage.crisis_at, "possible": triage.possible_at},
            "nearest": None if near is None else round(near, 3),
            "nearest_cut": round(triage.nearest.cut, 3),
        },
        "top_intents": [
            {"intent": i, "score": round(s, 1)} for i, s in scores[: MAX_ALTERNATIVES + 2]
        ],
        "answer": found.intent,
        "band": found.match.band,
        "thresholds": {"high": m.settings.high, "low": m.settings.low},
        "facts": found.facts.to_dict() | {"english": found.english},
    }


def explain_text(triage: Triage, text: str) -> str:
    e = explain(triage, text)
    c = e["crisis"]
    lines = [
        f"normalised: {e['normalised']}",
        f"lexicon words: {', '.join(e['lexicon_words']) or '-'}",
        f"typo mends: {', '.join(e['typo_mends']) or '-'}",
        f"crisis: {c['risk'] or 'none'} (layers: {', '.join(c['layers']) or '-'}; "
        f"pattern categories: {', '.join(c['pattern_categories']) or '-'}; "
        f"scorer {c['scorer']} vs crisis {c['scorer_thresholds']['crisis']} / "
        f"possible {c['scorer_thresholds']['possible']}; "
        f"nearest examples {c['nearest']} vs {c['nearest_cut']})",
        "top intents: " + ", ".join(f"{t['intent']} {t['score']}" for t in e["top_intents"]),
        f"answer: {e['answer']} (band {e['band']}; high {e['thresholds']['high']}, "
        f"low {e['thresholds']['low']})",
        "facts: " + ", ".join(f"{k}={v}" for k, v in e["facts"].items()),
    ]
    return "\n".join(lines)
