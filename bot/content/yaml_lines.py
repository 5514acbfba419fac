"""YAML loading that remembers line numbers.

Content editors fix errors by line, so every mapping, list and string that
comes out of a content file carries the line it started on. Plain PyYAML
throws that away once the document is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class Located:
    """Mixin: where a value came from (file and 1-based line)."""

    file: str = "?"
    line: int = 0


class LStr(str, Located):
    """A string that knows its source line."""


class LDict(dict, Located):
    """A mapping that knows its own line and each key's line."""

    key_lines: dict[Any, int] = {}  # noqa: RUF012 - replaced per instance by _build

    def line_of(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


class LList(list, Located):
    """A list that knows its own line."""


class YamlError(Exception):
    """A file that is not valid YAML; carries file and line for the message."""

    def __init__(self, file: str, line: int, problem: str) -> None:
        super().__init__(problem)
        self.file, self.line, self.problem = file, line, problem


# libyaml's C parser when PyYAML has it (five times faster start-up), else pure Python.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _locate(obj: Located, file: str, node: yaml.Node) -> Located:
    obj.file = file
    obj.line = node.start_mark.line + 1
    return obj


def _build(node: yaml.Node, file: str, loader: yaml.SafeLoader) -> Any:
    if isinstance(node, yaml.MappingNode):
        out = _locate(LDict(), file, node)
        out.key_lines = {}
        for key_node, value_node in node.value:
            key = _build(key_node, file, loader)
            key = str(key) if isinstance(key, str) else key
            try:
                hash(key)
            except TypeError:
                raise YamlError(
                    file, key_node.start_mark.line + 1, "a key must be a plain word"
                ) from None
            if key in out:
                raise YamlError(
                    file,
                    key_node.start_mark.line + 1,
                    f"'{key}' appears twice in this block (line {out.key_lines[key]} too); "
                    "the second would silently replace the first -> keep one",
                )
            out[key] = _build(value_node, file, loader)
            out.key_lines[key] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        out_list = _locate(LList(), file, node)
        out_list.extend(_build(child, file, loader) for child in node.value)
        return out_list
    value = loader.construct_object(node, deep=True)
    if isinstance(value, str):
        return _locate(LStr(value), file, node)
    return value


def load_file(path: Path) -> Any:
    """Parse one YAML file into located values; raise YamlError on bad syntax."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise YamlError(name, 1, f"the file is not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise YamlError(name, 1, f"cannot read the file ({exc.strerror})") from None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        return _build(node, name, loader)
    except yaml.MarkedYAMLError as exc:
        # An unclosed quote or bracket is found at the end of the file; where it was
        # opened (the context) is what an editor needs.
        scanning = exc.context and exc.context.startswith("while scanning a quoted")
        mark = (exc.context_mark if scanning else None) or exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = " ".join(f"{exc.context or ''} {exc.problem or 'invalid YAML'}".split())
        raise YamlError(name, line, f"YAML syntax: {problem}") from None
    except yaml.reader.ReaderError as exc:  # a control character such as NUL
        line = text.count("\n", 0, exc.position) + 1
        raise YamlError(name, line, f"character {exc.character!r} is not allowed") from None
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "invalid YAML"
        raise YamlError(name, 1, f"YAML syntax: {first}") from None
    finally:
        loader.dispose()


def line_of(value: Any, default: int = 0) -> int:
    """The source line of a located value, or `default`."""
    return getattr(value, "line", default) or default
