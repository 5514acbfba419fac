"""`python -m bench.run [--quick] [--out PATH]`: measure the bot and write bench/RESULTS.md.

1. matcher latency, throughput, start-up and memory (bench/matcher_perf.py)
2. accuracy and speed against difflib, rapidfuzz and TF-IDF + LR (bench/baselines.py)
3. end to end through the Bot API emulator over real HTTP (bench/e2e.py)

Everything runs locally (network traffic only to 127.0.0.1) with a temporary model cache
($GUIDANCE_CACHE_DIR), so nothing under ~/.cache is read or written. Full mode takes about
three and a half minutes, --quick about 40 s. Where the bot's CPU goes under load:
`python -m bench.profile_bot` (by hand; not part of this run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench import baselines, e2e, matcher_perf
from bench.util import ROOT, machine, verdict


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="a smaller run (about 40 s)")
    p.add_argument("--out", default=str(ROOT / "bench" / "RESULTS.md"), help="report path")
    opts = p.parse_args(argv)
    opts.messages = 2_000 if opts.quick else 10_000
    opts.warm_runs, opts.cold_runs = (1, 1) if opts.quick else (5, 2)
    opts.budget_matcher = 20.0 if opts.quick else 60.0
    opts.e2e_send_s = 30.0
    return opts


def main(argv: list[str] | None = None) -> int:
    opts = parse(argv)
    started = time.monotonic()
    load_start = os.getloadavg()
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    cache = tempfile.mkdtemp(prefix="bench-cache-")
    os.environ["GUIDANCE_CACHE_DIR"] = cache  # children inherit it; ~/.cache is left alone
    sections: list[str] = []
    checks: list[tuple[str, str, bool]] = []
    timings: list[str] = []
    failed = False
    try:
        engines: list = []

        def engine():  # built once, after part 1 has warmed the model cache
            if not engines:
                from bot import content
                from bot.dialogue.engine import Engine

                engines.append(Engine(content.load()))
            return engines[0]

        def part1() -> None:
            res = matcher_perf.run(opts, cache)
            sections.extend(matcher_perf.report(res))
            checks.extend(matcher_perf.targets(res))

        def part2() -> None:
            sections.extend(baselines.report(baselines.run(opts, engine())))

        def part3() -> None:
            res = e2e.run(opts, cache, engine())
            sections.extend(e2e.report(res))
            checks.extend(e2e.targets(res))

        for name, part in (
            ("1. matcher", part1),
            ("2. baselines", part2),
            ("3. end to end", part3),
        ):
            t0 = time.monotonic()
            print(f"bench: part {name} ...", file=sys.stderr, flush=True)
            try:
                part()
            except Exception as exc:  # report it and carry on with the other parts
                failed = True
                sections += [f"## Part {name}: FAILED", "", "```",
                             traceback.format_exc().strip()[-3000:], "```", ""]  # fmt: skip
                print(f"bench: part {name} failed: {exc!r}", file=sys.stderr)
            timings.append(f"part {name} {time.monotonic() - t0:.0f} s")
    finally:
        shutil.rmtree(cache, ignore_errors=True)

    command = " ".join(["python -m bench.run", *(argv if argv is not None else sys.argv[1:])])
    total = time.monotonic() - started
    head = [
        "# Benchmark results",
        "",
        f"Generated {when} by `{command}` ({'quick' if opts.quick else 'full'} mode, "
        f"{total:.0f} s: {', '.join(timings)}). Regenerate with `make bench`; numbers vary "
        "from run to run and machine to machine.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in machine()],
        f"| Load average | {load_start[0]:.2f} (1 min) at the start, {os.getloadavg()[0]:.2f} at "
        "the end: anything well above 0 means other processes shared the CPUs |",
        "",
        "## Targets",
        "",
        "| Target | Measured | Result |",
        "|---|--:|:-:|",
        *[f"| {name} | {value} | {verdict(ok)} |" for name, value, ok in checks],
        "",
    ]
    text = "\n".join(head + sections).rstrip() + "\n"
    out = Path(opts.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    for name, value, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {value}")
    print(f"bench: wrote {out} in {total:.0f} s", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
