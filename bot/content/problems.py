"""Content problems: each one a file, a line and what to do about it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.content.yaml_lines import LDict, line_of


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class ContentError(Exception):
    """Content failed validation; `problems` lists every error found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} content problem(s)")
        self.problems = problems


class Collector:
    """Gathers problems with paths shown relative to the content root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []
        # Where each response and flow node was written, for checks made after parsing.
        self.where: dict[tuple[str, ...], LDict] = {}

    def rel(self, file: str) -> str:
        try:
            return str(Path(file).resolve().relative_to(self.root.resolve()))
        except ValueError:
            return file

    def add(self, where: Any, message: str, line: int | None = None) -> None:
        file = getattr(where, "file", None) or (where if isinstance(where, str) else "?")
        self.problems.append(Problem(self.rel(file), line or line_of(where, 1), message))
