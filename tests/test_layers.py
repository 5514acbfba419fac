"""The layout of bot/, read from the source (ast), never by importing it.

bot/ is four layers read top to bottom as the data flows: content -> matching -> dialogue ->
channels. A layer imports only from the layers above it, only bot/channels/telegram/ talks
to python-telegram-bot, and no function or class grows past a size one can read at once.
Every check is also run on a small tree that breaks it, so none of them passes vacuously.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import REPO

BOT = REPO / "bot"
MAX_FUNCTION_LINES = 80
MAX_CLASS_LINES = 200
# layer -> the bot packages it must not import (the layers below it)
FORBIDDEN = {
    "content": ("bot.matching", "bot.dialogue", "bot.channels"),
    "matching": ("bot.dialogue", "bot.channels"),
    "dialogue": ("bot.channels",),
}
TELEGRAM_ONLY_IN = ("channels", "telegram")  # the one folder that may import `telegram`


def sources(root: Path) -> Iterator[tuple[Path, ast.Module]]:
    """(path, tree) for every .py file under `root` (a copy of bot/, or bot/ itself)."""
    for path in sorted(root.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _module_of(root: Path, path: Path) -> list[str]:
    """bot/dialogue/engine.py -> ["bot", "dialogue", "engine"]; __init__ is its package."""
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    return parts[:-1] if parts[-1] == "__init__" else parts


def imports(root: Path, path: Path, tree: ast.Module) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) for every import anywhere in the file, nested ones too."""
    here = _module_of(root, path)
    package = here if path.name == "__init__.py" else here[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            yield node.lineno, module
            for alias in node.names:  # `from bot import channels` imports bot.channels
                yield node.lineno, f"{module}.{alias.name}"


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _where(root: Path, path: Path, line: int) -> str:
    return f"{root.name}/{path.relative_to(root)}:{line}"


def layer_violations(root: Path) -> list[str]:
    """ "file:line: ..." for each import that breaks a rule (once per line and rule)."""
    out: dict[tuple[str, str], str] = {}
    for path, tree in sources(root):
        parts = path.relative_to(root).parts
        layer = parts[0] if len(parts) > 1 else ""
        for line, module in imports(root, path, tree):
            where = _where(root, path, line)
            if _under(module, "telegram") and parts[:2] != TELEGRAM_ONLY_IN:
                out.setdefault((where, "telegram"), f"{where}: imports {module}")
            for banned in FORBIDDEN.get(layer, ()):
                if _under(module, banned):
                    out.setdefault((where, banned), f"{where}: {layer} imports {module}")
    return sorted(out.values())


def too_long(root: Path) -> list[tuple[str, str, int, str]]:
    """(file, "kind name", size, "file:line: ...") for every function or class over its limit."""
    out = []
    for path, tree in sources(root):
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                kind, limit = "function", MAX_FUNCTION_LINES
            elif isinstance(node, ast.ClassDef):
                kind, limit = "class", MAX_CLASS_LINES
            else:
                continue
            size = (node.end_lineno or node.lineno) - node.lineno + 1
            if size > limit:
                where = _where(root, path, node.lineno)
                shown = f"{where}: {kind} {node.name} is {size} lines (at most {limit})"
                out.append((where.rsplit(":", 1)[0], f"{kind} {node.name}", size, shown))
    return out


# ---------------------------------------------------------------- the real bot/


def test_bot_has_the_four_layers() -> None:
    for layer in ("content", "matching", "dialogue", "channels"):
        assert (BOT / layer / "__init__.py").is_file(), f"bot/{layer}/ is not a package"
    assert (BOT.joinpath(*TELEGRAM_ONLY_IN) / "__init__.py").is_file()


def test_each_layer_imports_only_the_layers_above_it() -> None:
    found = layer_violations(BOT)
    assert not found, "imports that cross the layers the wrong way:\n" + "\n".join(found)


def test_no_function_or_class_is_too_long() -> None:
    found = too_long(BOT)
    assert not found, "split these:\n" + "\n".join(shown for *_, shown in found)


# ---------------------------------------------------------------- the checks can fail


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "bot"
    for rel, text in {"__init__.py": "", **files}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("rel", "source", "reported"),
    [
        ("dialogue/engine.py", "import telegram\n", "bot/dialogue/engine.py:1: imports telegram"),
        ("channels/terminal.py", "from telegram.ext import Application\n", "imports telegram.ext"),
        ("cli.py", "def f():\n    import telegram.error\n", "bot/cli.py:2: imports telegram"),
        ("content/loader.py", "from bot.matching import Matcher\n", "content imports bot.match"),
        ("content/diagram.py", "from bot import dialogue\n", "content imports bot.dialogue"),
        ("content/text.py", "from ..channels import terminal\n", "content imports bot.channels"),
        ("matching/matcher.py", "from bot.dialogue.state import State\n", "matching imports"),
        ("matching/crisis.py", "import bot.channels.terminal\n", "matching imports bot.channels"),
        ("dialogue/engine.py", "from bot.channels import terminal\n", "dialogue imports bot.chan"),
        ("dialogue/flows.py", "from ..channels.telegram import html\n", "dialogue imports"),
    ],
)
def test_layer_check_catches(tmp_path: Path, rel: str, source: str, reported: str) -> None:
    for package in ("content", "matching", "dialogue", "channels", "channels/telegram"):
        (tmp_path / "bot" / package).mkdir(parents=True, exist_ok=True)
        (tmp_path / "bot" / package / "__init__.py").write_text("", encoding="utf-8")
    found = layer_violations(_tree(tmp_path, {rel: source}))
    assert any(reported in f for f in found), found


def test_layer_check_allows_what_the_layers_may_do(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "channels/telegram/app.py": "from telegram.ext import Application\n",
            "channels/terminal.py": "from bot.dialogue import Engine\nfrom bot import content\n",
            "dialogue/engine.py": "from bot.matching import Matcher\nfrom . import state\n",
            "dialogue/state.py": "",
            "matching/matcher.py": "from bot.content import Content\n",
            "content/loader.py": "from bot.content.records import Content\nimport yaml\n",
            "cli.py": "from bot.channels.telegram.app import run_bot\n",
        },
    )
    assert layer_violations(root) == []


def _function(name: str, lines: int, indent: str = "") -> str:
    """Source of a function that is exactly `lines` lines long."""
    body = "".join(f"{indent}    x{i} = {i}\n" for i in range(lines - 1))
    return f"{indent}def {name}(self):\n{body}"


def test_size_check_catches(tmp_path: Path) -> None:
    at_limit = _function("fits", MAX_FUNCTION_LINES)
    over = "async " + _function("handle", MAX_FUNCTION_LINES + 1)
    methods = "".join(_function(f"m{i}", 40, indent="    ") for i in range(5))
    root = _tree(
        tmp_path,
        {
            "dialogue/engine.py": f"\n\n{at_limit}\n{over}",  # `handle` starts on line 84
            "content/records.py": f"class Content:\n{methods}",  # 1 + 5 * 40 lines
        },
    )
    assert [shown for *_, shown in too_long(root)] == [
        f"bot/content/records.py:1: class Content is 201 lines (at most {MAX_CLASS_LINES})",
        f"bot/dialogue/engine.py:{MAX_FUNCTION_LINES + 4}: function handle is "
        f"{MAX_FUNCTION_LINES + 1} lines (at most {MAX_FUNCTION_LINES})",
    ]
