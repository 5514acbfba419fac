"""`guidance-bot` command line: run, chat, classify, examples, eval, validate, tune, graph."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from bot import content as content_mod
from bot.content import Content


def _load(root: str | None) -> Content:
    """Load content or exit 1 with every problem listed (never a traceback)."""
    try:
        return content_mod.load(Path(root) if root else None)
    except content_mod.ContentError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(
            f"{len(exc.problems)} problem(s) in the content; nothing was started.", file=sys.stderr
        )
        raise SystemExit(1) from None


def cmd_validate(args: argparse.Namespace) -> int:
    c = _load(args.content)
    print(
        f"content OK: {len(c.intents)} intents, "
        f"{sum(len(v) for v in c.intents.values())} examples, {len(c.responses)} responses, "
        f"{len(c.routes)} routes, {len(c.flows)} flows"
    )
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from bot.channels.terminal import chat
    from bot.dialogue import Engine

    return chat(Engine(_load(args.content)))


def cmd_run(args: argparse.Namespace) -> int:
    token = os.environ.get("TELEGRAM_BOT_TOKEN", "").strip()
    if not token:
        print(
            "TELEGRAM_BOT_TOKEN is not set: starting the terminal chat instead.\n", file=sys.stderr
        )
        return cmd_chat(args)
    from bot.channels.telegram.app import run_bot

    return run_bot(_load(args.content), token, webhook_url=args.webhook_url)


def _lines(texts: list[str]) -> list[str]:
    return texts if texts else [line.rstrip("\n") for line in sys.stdin]


def cmd_classify(args: argparse.Namespace) -> int:
    from bot.dialogue import Engine

    engine = Engine(_load(args.content))
    out = sys.stdout
    if args.explain:
        from bot.matching.explain import explain_text

        for text in _lines(args.text):
            out.write(explain_text(engine.triage, text) + "\n\n")
        return 0
    for text in _lines(args.text):
        found = engine.classify(text)
        m = found.match
        out.write(
            json.dumps(
                {
                    "text": text,
                    "intent": found.intent,
                    "score": 100.0 if found.intent != m.intent else m.score,
                    "risk": found.risk,
                    "alternatives": [{"intent": i, "score": s} for i, s in m.alternatives],
                },
                ensure_ascii=False,
            )
            + "\n"
        )
    return 0


def cmd_examples(args: argparse.Namespace) -> int:
    c = _load(args.content)
    for iid, texts in c.intents.items():
        for text in texts:
            print(json.dumps({"text": text, "intent": iid}, ensure_ascii=False))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from bot.dialogue import Engine
    from bot.matching.evaluate import format_report, metrics, read_jsonl

    engine = Engine(_load(args.content))
    path = Path(args.file)
    try:
        first = path.read_text(encoding="utf-8").lstrip().split("\n", 1)[0]
        if '"risk"' in first and '"intent"' not in first:
            return _eval_risk(engine, path, args)
        items = read_jsonl(path)
    except (OSError, ValueError) as exc:
        print(f"cannot read {args.file}: {exc}", file=sys.stderr)
        return 1
    start = time.perf_counter()
    m = metrics(items, lambda t: engine.classify(t).intent)
    m["seconds"] = round(time.perf_counter() - start, 3)
    if args.json:
        print(json.dumps(m, indent=2, ensure_ascii=False))
    else:
        print(format_report(m))
        if args.errors:
            print("\nerrors:")
            for e in m["errors"]:
                print(f"  [{e['gold']} -> {e['predicted']}] {e['text']}")
    return 0


def _eval_risk(engine, path: Path, args: argparse.Namespace) -> int:
    """A crisis catalogue: recall per tier and category, false alarms."""
    from bot.matching.evaluate import format_risk_report, read_risk_jsonl, risk_metrics

    m = risk_metrics(read_risk_jsonl(path), lambda t: engine.classify(t).risk)
    if args.json:
        print(json.dumps(m, indent=2, ensure_ascii=False))
    else:
        print(format_risk_report(m))
        if args.errors:
            print("\nmisses:", *m["misses"], "\nfalse alarms:", *m["false_alarms"], sep="\n  ")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from bot.matching import cache_dir
    from bot.matching.triage import Triage

    start = time.perf_counter()
    triage = Triage(_load(args.content))  # the matcher, the risk scorer, the nearest examples
    print(
        f"matcher, risk scorer and nearest examples ready in {time.perf_counter() - start:.1f} s "
        f"({len(triage.matcher.model.classes)} intents; models cached in {cache_dir()})"
    )
    return 0


def cmd_tune(args: argparse.Namespace) -> int:
    from bot.matching.evaluate import tune

    settings, m = tune(_load(args.content), folds=args.folds)
    print("chosen on held-out splits of our own examples:")
    print(f"  high: {settings.high:g}\n  low: {settings.low:g}\n  scale: {settings.scale:g}")
    print(
        f"held-out in-scope accuracy {m['in_scope_accuracy']:.3f}, "
        f"out-of-scope rejection {m['out_of_scope_rejection']:.3f}"
    )
    return 0


def cmd_tune_risk(args: argparse.Namespace) -> int:
    from bot.matching import Matcher
    from bot.matching.evaluate import tune_risk

    content = _load(args.content)
    chosen, report = tune_risk(content, Matcher(content))
    print("risk-scorer thresholds chosen on held-out folds of our own examples:")
    for tier, value in chosen.items():
        r = report[tier]
        print(
            f"  {tier}: {value}   (scorer alone: recall {r['recall']}, {r['false_alarms']} alarms)"
        )
    print("copy them under 'thresholds:' in intents/crisis_patterns.yaml")
    for veto in ("danger_veto", "topic_veto"):
        r = report[veto]
        print(
            f"{veto} {r['value']} overrules {r['risk_overruled']} risk examples it applies to on"
            f" the folds, and {r['others_overruled']} others (the other layers may still alarm)"
        )
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from bot.channels.counts import DB_NAME, DailyCounts
    from bot.stats import report_html, summarise, tables

    if not (Path(args.data_dir) / DB_NAME).is_file():
        print(f"no counts yet in {args.data_dir} (GUIDANCE_DATA_DIR)", file=sys.stderr)
        return 1
    counts = DailyCounts(Path(args.data_dir))
    summary = summarise(counts.rows(args.since))
    counts.close()
    print(tables(summary))
    if args.html:
        Path(args.html).write_text(report_html(summary, args.since), encoding="utf-8")
        print(f"report written to {args.html}")
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    from bot.content.diagram import diagram

    c = _load(args.content)
    if args.flow and args.flow not in c.flows:
        print(f"no flow '{args.flow}'; flows: {', '.join(c.flows)}", file=sys.stderr)
        return 1
    text = diagram(c, args.flow, args.format)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        print(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="guidance-bot", description=__doc__)
    p.add_argument("--content", help="content folder (default: this repository)")
    # --content is also accepted after the subcommand ("validate --content DIR").
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument("--content", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    sub = p.add_subparsers(dest="command")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, parents=[shared])

    command("validate", "check every content file").set_defaults(func=cmd_validate)
    command("chat", "chat in the terminal").set_defaults(func=cmd_chat)
    run = command("run", "Telegram bot (terminal chat when no token is set)")
    run.add_argument("--webhook-url", default=os.environ.get("TELEGRAM_WEBHOOK_URL"))
    run.set_defaults(func=cmd_run)
    cl = command("classify", "intent of each message, as JSON lines")
    cl.add_argument("text", nargs="*")
    cl.add_argument("--explain", action="store_true", help="why: words, crisis layers, scores")
    cl.set_defaults(func=cmd_classify)
    st = command("stats", "the anonymous daily counts, as tables or a report")
    st.add_argument("--since", default="", help="YYYY-MM-DD")
    st.add_argument("--html", help="write a one-page report with charts to this file")
    st.add_argument("--data-dir", default=os.environ.get("GUIDANCE_DATA_DIR") or "data")
    st.set_defaults(func=cmd_stats)
    command(
        "train", "train the matcher and risk scorer now and cache them (else the first start does)"
    ).set_defaults(func=cmd_train)
    command("examples", "training examples as JSON lines").set_defaults(func=cmd_examples)
    ev = command("eval", "accuracy on a labelled JSON-lines file")
    ev.add_argument("file")
    ev.add_argument("--json", action="store_true")
    ev.add_argument("--errors", action="store_true", help="list every wrong line")
    ev.set_defaults(func=cmd_eval)
    tu = command("tune", "choose matcher weights and thresholds")
    tu.add_argument("--folds", type=int, default=3)
    tu.set_defaults(func=cmd_tune)
    command("tune-risk", "choose the risk scorer's thresholds").set_defaults(func=cmd_tune_risk)
    gr = command("graph", "flows as Mermaid (or Graphviz) diagrams")
    gr.add_argument("--format", choices=("mermaid", "dot"), default="mermaid")
    gr.add_argument("--flow", help="one flow ID (default: all)")
    gr.add_argument("-o", "--output")
    gr.set_defaults(func=cmd_graph)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not getattr(args, "func", None):
        args = build_parser().parse_args(["chat", *(argv or [])])
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
