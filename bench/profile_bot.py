"""`python -m bench.profile_bot [--seconds S] [--cprofile]`: where the bot process spends its
CPU under the closed-loop end-to-end load (200 chats x 20 messages, TELEGRAM_MAX_RATE=0).

Not part of `make bench` (sampling slows the bot a little); run it by hand. The bot child is
the one bench/e2e.py starts. With py-spy in the venv (`.venv/bin/pip install py-spy`) the
child is sampled (`py-spy record --format raw`, 250 Hz, idle samples excluded) and each
sample is charged to the outermost frame that belongs to a known part (see PARTS): the HTTP
client, PTB's object parsing, the engine, SQLite, ... Shares times the bot's CPU per message
(utime + stime from /proc) give microseconds per message. With --cprofile the child runs
under cProfile instead (call counts; about 2x slower, and coroutine resumptions count as
calls). Temporary model cache and data dir; nothing under ~/.cache is touched.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pstats
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench import e2e
from bench.util import us

# (part, needles): a sample goes to the first part (in this order) with a needle in any of
# its frames, so e.g. the HTTP round trip inside the rate limiter counts as HTTP.
PARTS = (
    ("engine: Engine.handle (crisis check, matcher, reply)", ("Engine.handle (",)),
    ("SQLite store (bot/channels/telegram/store.py)", ("(bot/channels/telegram/store.py",)),
    (
        "HTML render and keyboard (bot/channels/telegram/html.py)",
        ("(bot/channels/telegram/html.py",),
    ),
    (
        "getUpdates guard: _readable's extra Update.de_json",
        ("_readable (bot/channels/telegram/app.py",),
    ),
    ("PTB parsing replies and updates (de_json)", ("de_json (", "de_list (")),
    (
        "PTB request encoding (to_dict, RequestData)",
        ("to_dict (", "RequestData.", "RequestParameter.", "_insert_defaults ("),
    ),
    ("httpx/httpcore/h11/anyio: HTTP round trip, socket I/O", ("AsyncClient.request (",)),
    ("rate limiter (AIORateLimiter without an overall cap)", ("AIORateLimiter.",)),
)
OTHER = "PTB dispatch, asyncio event loop, the rest"


def part_of(stack: list[str]) -> str:
    joined = ";".join(stack)
    for name, needles in PARTS:
        if any(n in joined for n in needles):
            return name
    return OTHER


def summarise_raw(path: Path, cpu_ms: float, top: int) -> list[str]:
    """py-spy raw output: 'frame;frame;...;frame count' lines, outermost frame first."""
    total = 0
    parts: Counter = Counter()
    own: Counter = Counter()  # self time per function (line numbers dropped)
    for line in path.read_text().splitlines():
        stack_s, _, n_s = line.rpartition(" ")
        if not n_s.isdigit():
            continue
        n, stack = int(n_s), stack_s.split(";")
        total += n
        parts[part_of(stack)] += n
        own[re.sub(r":\d+\)$", ")", stack[-1])] += n
    if not total:
        return ["py-spy recorded no CPU samples"]
    out = [f"{total:,} CPU samples; {cpu_ms:.2f} ms CPU per message", "",
           "| Part | Share | µs per message |", "|---|--:|--:|"]  # fmt: skip
    out += [f"| {name} | {100 * n / total:.1f}% | {1e3 * cpu_ms * n / total:,.0f} |"
            for name, n in parts.most_common()]  # fmt: skip
    out += ["", f"Top {top} functions by self time (time in C calls is charged to the calling "
            "Python line and py-spy sometimes mislabels a frame: trust the parts above more "
            "than single lines; --cprofile cross-checks):"]  # fmt: skip
    out += [f"  {100 * n / total:5.1f}%  {f}" for f, n in own.most_common(top)]
    return out


async def main_async(a) -> int:
    from bench.matcher_perf import dev_texts, perturbed
    from bot import content
    from bot.dialogue.engine import Engine

    cache = tempfile.mkdtemp(prefix="bench-prof-cache-")
    os.environ["GUIDANCE_CACHE_DIR"] = cache
    work = Path(tempfile.mkdtemp(prefix="bench-prof-"))
    spy = None
    try:
        engine = Engine(content.load())  # trains once and fills the temp model cache
        chats, per_chat = 200, 20
        texts = perturbed(dev_texts(), chats * per_chat + 100, seed=7)
        expect = {t: e2e.expected_replies(engine, t) for t in texts}
        emu = await e2e._emulator_class()().start()
        prof = work / "bot.prof" if a.cprofile else None
        bot = e2e.BotProcess(emu, work / "bot", cache, True, cprofile=prof)
        raw = work / "spy.txt"
        try:
            await bot.ready(timeout=60)
            spy_bin = Path(sys.executable).parent / "py-spy"
            if not a.cprofile and not a.no_sampling:
                if not spy_bin.exists():
                    print(
                        "py-spy is not in the venv: .venv/bin/pip install py-spy", file=sys.stderr
                    )
                else:
                    spy = subprocess.Popen(
                        [str(spy_bin), "record", "--format", "raw", "--rate", "250",
                         "--output", str(raw), "--pid", str(bot.proc.pid)],
                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                    )  # fmt: skip
                    await asyncio.sleep(1.0)  # let it attach
            c0, u0 = bot.cpu_s(), resource.getrusage(resource.RUSAGE_SELF)
            r = await e2e.closed_load(emu, "profile", 500_000, chats, per_chat, texts, expect,
                                      send_s=a.seconds, drain_s=20.0)  # fmt: skip
            c1, u1 = bot.cpu_s(), resource.getrusage(resource.RUSAGE_SELF)
            if spy is not None:
                spy.send_signal(2)  # SIGINT: py-spy writes its output and exits
                await asyncio.to_thread(spy.wait, 30)
        finally:
            await bot.stop()
            await emu.stop()
        n = max(r["sent"], 1)
        me = u1.ru_utime + u1.ru_stime - u0.ru_utime - u0.ru_stime
        print(f"{r['sent']:,} messages, {r['received']:,} replies in {r['span_s']:.1f} s "
              f"({r['per_s']:.0f} msg/s); first-reply p50 {us(r['p50_us'])}, "
              f"p99 {us(r['p99_us'])}; exact replies: {r['ok']}")  # fmt: skip
        print(f"bot process CPU {c1 - c0:.1f} s = {1e3 * (c1 - c0) / n:.2f} ms per message; "
              f"benchmark process (emulator + users) {me:.1f} s = {1e3 * me / n:.2f} ms per "
              "message")  # fmt: skip
        if spy is not None:
            if raw.exists():
                if a.keep:
                    shutil.copy(raw, a.keep)
                print("\n".join(summarise_raw(raw, 1e3 * (c1 - c0) / n, a.top)))
            else:
                err = spy.stderr.read().decode()[-500:] if spy.stderr else ""
                print("py-spy wrote nothing:", err)
        if prof is not None and prof.exists():
            st = pstats.Stats(str(prof))
            st.sort_stats("cumulative").print_stats(a.top)
            st.sort_stats("tottime").print_stats(a.top)
    finally:
        if spy is not None and spy.poll() is None:
            spy.kill()
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile_bot",
                                description=__doc__.split("\n")[0])  # fmt: skip
    p.add_argument("--seconds", type=float, default=20.0, help="sending window (default 20)")
    p.add_argument("--cprofile", action="store_true", help="cProfile in the child, not py-spy")
    p.add_argument("--no-sampling", action="store_true", help="only the CPU times")
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--keep", help="copy py-spy's raw output here")
    a = p.parse_args(argv)
    t = time.monotonic()
    rc = asyncio.run(main_async(a))
    print(f"({time.monotonic() - t:.0f} s)", file=sys.stderr)
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
