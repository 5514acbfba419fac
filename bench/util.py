"""Small shared helpers: percentiles, formatting, machine facts, deadlines."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pct(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of an already sorted list."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


def summary_ns(lat_ns: list[int]) -> dict:
    """p50/p90/p99/max/mean in microseconds for a list of nanosecond latencies."""
    s = sorted(lat_ns)
    n = len(s)
    return {
        "n": n,
        "p50_us": pct(s, 50) / 1e3,
        "p90_us": pct(s, 90) / 1e3,
        "p99_us": pct(s, 99) / 1e3,
        "max_us": (s[-1] / 1e3) if s else float("nan"),
        "mean_us": (sum(s) / n / 1e3) if n else float("nan"),
    }


def us(v: float | None) -> str:
    """Microseconds, shown in the most readable unit."""
    if v is None or v != v:
        return "n/a"
    if v >= 1e6:
        return f"{v / 1e6:.2f} s"
    if v >= 1e3:
        return f"{v / 1e3:.2f} ms"
    return f"{v:.0f} µs"


def percent(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**PASS**" if ok else "**FAIL**")


class Deadline:
    """A monotonic time budget."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()

    def over(self) -> bool:
        return self.left() <= 0


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError):
        pass
    return "unknown"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git(*args: str) -> str:
    """Read-only git queries (never changes git state)."""
    try:
        out = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine() -> list[tuple[str, str]]:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    dirty = _git("status", "--porcelain")
    commit = _git("rev-parse", "--short", "HEAD") or "unknown"
    if dirty:
        commit += f" + {len(dirty.splitlines())} uncommitted/untracked paths"
    pkgs = ", ".join(
        f"{d} {_version(d)}"
        for d in ("python-telegram-bot", "httpx", "rapidfuzz", "PyYAML", "scikit-learn", "aiohttp")
    )
    return [
        ("CPU", _cpu_model()),
        ("Cores", f"{os.cpu_count()} logical, {usable} usable by this process"),
        ("RAM", _ram_gib()),
        ("Python", f"{platform.python_implementation()} {sys.version.split()[0]}"),
        ("OS", f"{platform.system()} {platform.release()} ({platform.machine()})"),
        ("Packages", pkgs),
        ("Code", f"git {commit}"),
    ]
