"""The terminal chat in a subprocess: bytes that are not UTF-8 never crash it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO

pytestmark = pytest.mark.e2e


def test_terminal_reads_lone_surrogates(cli_env: dict[str, str], tmp_path: Path) -> None:
    """Under a C/POSIX locale Python reads undecodable stdin bytes as surrogate escapes."""
    env = {k: v for k, v in cli_env.items() if k != "PYTHONIOENCODING"}
    env.update(LC_ALL="C.UTF-8", LANG="C.UTF-8")
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "chat"],
        cwd=REPO,
        env=env,
        input=b"what are the signs \xff\xfe\n/quit\n",
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0 and b"Traceback" not in proc.stderr, proc.stderr[-500:]


def test_terminal_survives_non_utf8_stdin(cli_env: dict[str, str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "chat"],
        cwd=REPO,
        env=cli_env,
        input=b"caf\xe9 what are the signs\n/quit\n",
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0 and b"Traceback" not in proc.stderr, proc.stderr[-500:]
