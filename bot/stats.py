"""`guidance-bot stats`: the anonymous daily counts as tables and a one-page report.

The report is plain HTML with inline SVG bar charts (no chart library: a few bars do not
earn a dependency, and the page opens anywhere, offline). It shows answers per week, the
can't-answer and did-you-mean rates, crisis replies, each guide's funnel (started, then
each result), the routes shown and helpfulness per answer.
"""

from __future__ import annotations

import datetime
import html
from collections import Counter, defaultdict

Row = tuple[str, str, str, int]


def summarise(rows: list[Row]) -> dict:
    weeks: dict[str, Counter] = defaultdict(Counter)
    answers: Counter = Counter()
    bands: Counter = Counter()
    crisis: Counter = Counter()
    starts: Counter = Counter()
    results: dict[str, Counter] = defaultdict(Counter)
    routes: Counter = Counter()
    helpful: dict[str, Counter] = defaultdict(Counter)
    notes = 0
    for day, what, which, n in rows:
        year, week, _ = datetime.date.fromisoformat(day).isocalendar()
        wk = f"{year}-W{week:02d}"
        if what == "answer":
            intent, _, band = which.partition("|")
            answers[intent] += n
            bands[band] += n
            weeks[wk]["answers"] += n
            weeks[wk][band] += n
        elif what == "crisis":
            crisis[which] += n
            weeks[wk]["crisis"] += n
        elif what == "guide_start":
            starts[which] += n
        elif what == "guide_result":
            flow, _, node = which.partition("/")
            results[flow][node] += n
        elif what == "route":
            routes[which] += n
        elif what == "note":
            notes += n
        elif what == "helpful":
            intent, _, vote = which.partition("|")
            helpful[intent][vote] += n
    return {
        "weeks": dict(sorted(weeks.items())),
        "answers": answers,
        "bands": bands,
        "crisis": crisis,
        "starts": starts,
        "results": results,
        "routes": routes,
        "helpful": helpful,
        "notes": notes,
    }


def _rate(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "n/a"


def tables(s: dict) -> str:
    total = sum(s["bands"].values())
    lines = [
        f"answers shown: {total}  (can't answer {_rate(s['bands']['cant_answer'], total)}, "
        f"did you mean {_rate(s['bands']['did_you_mean'], total)})",
        f"crisis replies: {s['crisis']['crisis']}  possible-risk lines: {s['crisis']['possible']}",
        f"notes for the record: {s['notes']}",
        "",
        "answers per intent:",
        *(f"  {k:28} {v:6}" for k, v in s["answers"].most_common()),
        "",
        "guides (started -> results):",
    ]
    for flow in sorted(set(s["starts"]) | set(s["results"])):
        done = sum(s["results"][flow].values())
        lines.append(f"  {flow:28} {s['starts'][flow]:6} -> {done}")
        lines += [f"    {node:26} {n:6}" for node, n in s["results"][flow].most_common()]
    lines += ["", "routes shown:", *(f"  {k:28} {v:6}" for k, v in s["routes"].most_common())]
    lines += ["", "helpful (up / down):"]
    lines += [f"  {k:28} {v['up']:6} / {v['down']}" for k, v in sorted(s["helpful"].items())]
    return "\n".join(lines)


def bars(title: str, items: list[tuple[str, float]], unit: str = "") -> str:
    """A horizontal bar chart as inline SVG."""
    width, row, label_w = 640, 22, 220
    top = max((v for _, v in items), default=0) or 1
    height = 30 + row * max(len(items), 1)
    parts = [
        f'<svg class="chart" role="img" aria-label="{html.escape(title)}" width="{width}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="0" y="16" font-weight="bold">{html.escape(title)}</text>',
    ]
    for i, (label, value) in enumerate(items):
        y = 28 + i * row
        w = (width - label_w - 60) * value / top
        parts += [
            f'<text x="0" y="{y + 14}" font-size="12">{html.escape(label)}</text>',
            f'<rect x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{row - 6}" fill="#2b6cb0"/>',
            f'<text x="{label_w + w + 4:.1f}" y="{y + 14}" font-size="12">{value:g}{unit}</text>',
        ]
    if not items:
        parts.append('<text x="0" y="44" font-size="12">nothing counted yet</text>')
    parts.append("</svg>")
    return "".join(parts)


def report_html(s: dict, since: str) -> str:
    weeks = s["weeks"]

    def rate(key: str) -> list[tuple[str, float]]:
        return [
            (wk, round(100 * c[key] / c["answers"], 1) if c["answers"] else 0)
            for wk, c in weeks.items()
        ]

    funnels = []
    for flow in sorted(set(s["starts"]) | set(s["results"])):
        items = [("started", s["starts"][flow]), *s["results"][flow].most_common()]
        funnels.append(bars(f"Guide: {flow} (started, then each result)", items))
    helpful = [(f"{k} 👍", v["up"]) for k, v in sorted(s["helpful"].items())]
    helpful += [(f"{k} 👎", v["down"]) for k, v in sorted(s["helpful"].items())]
    charts = [
        bars("Answers per week", [(wk, c["answers"]) for wk, c in weeks.items()]),
        bars("Can't answer, per week", rate("cant_answer"), "%"),
        bars("Did you mean, per week", rate("did_you_mean"), "%"),
        bars("Crisis replies per week", [(wk, c["crisis"]) for wk, c in weeks.items()]),
        *funnels,
        bars("Routes shown", s["routes"].most_common()),
        bars("Was this helpful?", helpful),
    ]
    body = "\n".join(f"<section>{c}</section>" for c in charts)
    return (
        "<!doctype html><html lang='en'><meta charset='utf-8'>"
        "<title>Guidance bot: anonymous counts</title>"
        "<style>body{font-family:sans-serif;max-width:700px;margin:2em auto}"
        "section{margin:1.5em 0}</style>"
        "<h1>Guidance bot: what was shown</h1>"
        f"<p>Daily counts since {html.escape(since or 'the start')}. "
        "No chat, no message and no time finer than a day is counted.</p>"
        f"{body}<h2>The figures</h2><pre>{html.escape(tables(s))}</pre></html>"
    )
