"""Shared fixtures: the real content, one Engine per session, and the flows explored.

The matcher trains a model when an Engine is built, so the content is loaded and the
Engine built once per test session. The model cache is a session temp dir that the CLI
subprocess tests share (GUIDANCE_CACHE_DIR), so they start warm and never touch ~/.cache.

Tests that start the Bot API emulator, a Telegram Application or a subprocess are marked
`e2e` (`pytest -m "not e2e"` runs the pure core); a test that uses one of the fixtures in
`E2E_FIXTURES` without the mark stops the run.

`flow_walks` explores every flow through the engine itself, by pressing the buttons it
offers (breadth-first from the start; checklists by subsets of options), so the flow tests
follow whatever the flow files say today rather than a hand-written list.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import REPO

MAX_STEPS = 60  # a walk longer than this means the flow never reaches a result
E2E_FIXTURES = {"emu", "app", "cli_env", "run_cli"}  # each starts the emulator or a process


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    unmarked = [
        item.nodeid
        for item in items
        if E2E_FIXTURES & set(getattr(item, "fixturenames", ()))
        and item.get_closest_marker("e2e") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "these tests start the emulator or a subprocess but are not marked e2e:\n  "
            + "\n  ".join(unmarked)
        )


# ---------------------------------------------------------------- content and engine


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model cache of the session's own, seeded with the two newest models of each kind that
    `guidance-bot train` left (make's install step runs it). A cached model is used only
    under the exact key it was trained on, so a stale one is retrained; training both
    again under coverage had cost CI about a minute."""
    from bot.matching.model_cache import cache_dir

    path = tmp_path_factory.mktemp("model-cache")
    found = sorted(cache_dir().glob("*-*.json"), key=lambda m: m.stat().st_mtime, reverse=True)
    for kind in {model.name.split("-")[0] for model in found}:
        for model in [m for m in found if m.name.startswith(f"{kind}-")][:2]:
            shutil.copy2(model, path / model.name)
    return path


@pytest.fixture(scope="session")
def content():
    from bot.content import load

    return load(REPO)


@pytest.fixture(scope="session")
def engine(content, model_cache):
    from bot.dialogue import Engine

    patch = pytest.MonkeyPatch()
    patch.setenv("GUIDANCE_CACHE_DIR", str(model_cache))
    try:
        return Engine(content)
    finally:
        patch.undo()


# ---------------------------------------------------------------- subprocess CLI


@pytest.fixture(scope="session")
def cli_env(engine, model_cache) -> dict[str, str]:
    """Environment for `python -m bot`: the session's warm model cache, this repo's content."""
    env = dict(os.environ, GUIDANCE_CACHE_DIR=str(model_cache), PYTHONIOENCODING="utf-8")
    env.pop("GUIDANCE_CONTENT", None)
    env.pop("TELEGRAM_BOT_TOKEN", None)
    return env


@pytest.fixture(scope="session")
def run_cli(cli_env):
    """Run `python -m bot ARGS` from the repository root; returns the CompletedProcess."""

    def run(
        *args: str, stdin: str | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            cwd=REPO,
            env=cli_env,
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=timeout,
        )

    return run


# ---------------------------------------------------------------- flow exploration


@dataclass(frozen=True)
class Walk:
    """One path through a flow: the presses made and what the engine showed before each.

    `shown[i]` is the reply on screen when `presses[i]` was pressed; `shown[-1]` is the
    final reply. `states[i]` is the state that went with `shown[i]`.
    """

    flow: str
    presses: tuple  # Button objects, in order
    shown: tuple  # Reply objects, len(presses) + 1
    states: tuple  # State objects, len(presses) + 1

    @property
    def final(self):
        return self.shown[-1]

    @property
    def final_state(self):
        return self.states[-1]

    @property
    def labels(self) -> list[str]:
        return [b.label for b in self.presses]


def buttons_of(reply) -> list:
    return [b for row in reply.buttons for b in row]


def press(engine, state, button):
    from bot.dialogue import Press

    assert button.data, f"button {button.label!r} has no callback data"
    return engine.handle(state, Press(button.data))


def _checklist_choices(toggles: list) -> list[tuple[int, ...]]:
    """Subsets of option indexes: none, each of size 1 and 2, and all."""
    n = len(toggles)
    subsets: list[tuple[int, ...]] = [()]
    for k in (1, 2):
        subsets += list(itertools.combinations(range(n), k))
    if n > 2:
        subsets.append(tuple(range(n)))
    return subsets


def explore(engine, flow_id: str) -> list[Walk]:
    """Every path through a flow, found by pressing the buttons the engine offers."""
    from bot.dialogue import Press, State

    first = engine.handle(State(), Press(f"f:{flow_id}"))
    assert len(first.replies) == 1, f"starting flow {flow_id} gave {len(first.replies)} replies"
    walks: list[Walk] = []
    queue = deque([Walk(flow_id, (), (first.replies[0],), (first.state,))])
    while queue:
        walk = queue.popleft()
        reply, state = walk.final, walk.final_state
        if reply.kind == "result":
            walks.append(walk)
            continue
        assert reply.kind == "flow", f"{flow_id}: unexpected reply kind {reply.kind} {walk.labels}"
        assert len(walk.presses) < MAX_STEPS, f"{flow_id}: no result after {walk.labels}"
        buttons = buttons_of(reply)
        choices = [b for b in buttons if b.data and b.data.startswith("q:")]
        toggles = [b for b in buttons if b.data and b.data.startswith("t:")]
        done = [b for b in buttons if b.data and b.data.startswith("d:")]
        assert choices or (toggles and done), f"{flow_id}: dead end after {walk.labels}"
        for button in choices:
            out = press(engine, state, button)
            queue.append(_extend(walk, [button], [out.replies[0]], [out.state]))
        for subset in _checklist_choices(toggles) if toggles else []:
            shown, states, pressed = [], [], []
            cur_state, cur_buttons = state, buttons
            for i in subset:
                # Press the i-th option as shown *now* (its label changes when ticked).
                tog = [b for b in cur_buttons if b.data and b.data.startswith("t:")][i]
                out = press(engine, cur_state, tog)
                pressed.append(tog)
                shown.append(out.replies[0])
                states.append(out.state)
                cur_state, cur_buttons = out.state, buttons_of(out.replies[0])
            fin = [b for b in cur_buttons if b.data and b.data.startswith("d:")]
            assert fin, f"{flow_id}: checklist lost its Done button after ticking"
            out = press(engine, cur_state, fin[0])
            queue.append(
                _extend(walk, [*pressed, fin[0]], [*shown, out.replies[0]], [*states, out.state])
            )
    return walks


def _extend(walk: Walk, presses: list, shown: list, states: list) -> Walk:
    return Walk(
        walk.flow,
        (*walk.presses, *presses),
        (*walk.shown, *shown),
        (*walk.states, *states),
    )


@pytest.fixture(scope="session")
def flow_walks(engine, content) -> dict[str, list[Walk]]:
    """flow id -> every path through it (see `explore`)."""
    return {fid: explore(engine, fid) for fid in content.flows}


@pytest.fixture(scope="session")
def node_positions(flow_walks) -> dict[tuple[str, str], tuple]:
    """(flow, node) -> the shortest press sequence that shows that non-result node."""
    out: dict[tuple[str, str], tuple] = {}
    for fid, walks in flow_walks.items():
        for walk in walks:
            for i, (reply, state) in enumerate(zip(walk.shown, walk.states, strict=True)):
                if reply.kind == "result" or state.flow is None:
                    continue
                key = (fid, state.flow.node)
                if key not in out or i < len(out[key]):
                    out[key] = walk.presses[:i]
    return out
