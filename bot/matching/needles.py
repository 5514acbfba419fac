"""Many regular expressions, each tried only when a string it needs is in the text.

The crisis and facts readers hold over a thousand patterns, and most
messages match none of them. A pattern runs only when the text holds one of
the strings every match of it contains (its needles), and all the needles
of a text are found in one pass (`NeedleIndex`). The needles are read from
the pattern's parse tree, in the manner of Russ Cox's trigram index for code
search: each piece of a pattern gets the set of exact strings it can match
(while that set stays small), the strings its matches start and end with,
and the rarest set one of which every match contains.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from re import _constants as c  # type: ignore[attr-defined]
from re import _parser  # type: ignore[attr-defined]  # the stdlib's own parser

import ahocorasick


class AnyOf:
    """Regular expressions tried only when one of their needles is present.

    Each pattern is split into its top-level alternatives, each with its own
    needles: a pattern line often joins a dozen phrasings, and one of them
    needing a frequent word ("do it when") would have the whole line tried on
    most messages.
    """

    def __init__(self, patterns: tuple[str, ...], folded: bool = False) -> None:
        """`folded`: every text searched is folded (lower case, words one space apart), so
        `\\s+` stands for one space and needles may span words ("do him in")."""
        self.sources = patterns
        alternatives = [
            (part, after, wanted, owner)
            for owner, pattern in enumerate(patterns)
            for part, after, wanted in reading(pattern, folded)
        ]
        # Compiled on first use (see `_Unread`): most alternatives wait long for a message
        # holding their strings, and compiling 1,400 of them added 0.2 s to start-up.
        self._regex: list[_Regex] = []
        self._regex.extend(_Unread(self._regex, i, *a[:2]) for i, a in enumerate(alternatives))
        self._owner = [owner for *_, owner in alternatives]
        self.needles = frozenset().union(*(n for _, _, n, _ in alternatives if n))
        self._always = [i for i, (_, _, n, _) in enumerate(alternatives) if n is None]
        self._by_needle: dict[str, list[int]] = {}
        for i, (_, _, wanted, _) in enumerate(alternatives):
            for needle in wanted or ():
                self._by_needle.setdefault(needle, []).append(i)
        # Alternatives that look past a match or at the text's ends ("left a note(?! about)",
        # "^cut again"): on a part of a text they can match where the text did not.
        self._edges = frozenset(i for i, (p, *_) in enumerate(alternatives) if _EDGES.search(p))

    @cached_property
    def _index(self) -> NeedleIndex:
        return NeedleIndex(self.needles)

    def search(self, text: str, present: frozenset[str] | set[str] | None = None) -> bool:
        """Whether any pattern matches; `present`: the needles found in `text` already
        (when several AnyOf search one text, find them once for all)."""
        return any(self._regex[i].search(text) for i in self._candidates(text, present))

    def hits(self, text: str, present: frozenset[str] | set[str] | None = None) -> tuple[int, ...]:
        """Every alternative that matches (by position), for `search_part`."""
        return tuple(i for i in self._candidates(text, present) if self._regex[i].search(text))

    def search_part(self, part: str, present: set[str], hits: tuple[int, ...]) -> bool:
        """Whether any pattern matches `part`, a piece of a text cut at word boundaries
        (a clause) whose `hits` are known: only those alternatives can match it, and those
        that look past a match or at the ends. A long message has a dozen clauses and the
        strings of a hundred alternatives."""
        if any(self._regex[i].search(part) for i in hits):
            return True
        if not self._edges:
            return False
        edges = self._edges.intersection(self._candidates(part, present)).difference(hits)
        return any(self._regex[i].search(part) for i in edges)

    def first(
        self, text: str, present: frozenset[str] | set[str] | None = None
    ) -> tuple[int, re.Match[str]] | None:
        """The pattern with the match that ends first, and that match (where a statement
        ends)."""
        found = ((i, self._regex[i].search(text)) for i in self._candidates(text, present))
        first = min(((i, m) for i, m in found if m), key=lambda im: im[1].end(), default=None)
        return None if first is None else (self._owner[first[0]], first[1])

    def _candidates(self, text: str, present: frozenset[str] | set[str] | None) -> list[int]:
        """The alternatives that may match: those whose strings are in the text, and
        those without any."""
        if present is None:
            present = self._index.find(text)  # built on first use: most lists are given theirs
        hits = self.needles.intersection(present)
        if not hits:
            return self._always  # the usual case: none of its strings is in the text
        chosen = set(self._always)
        for needle in hits:
            chosen.update(self._by_needle[needle])
        return sorted(chosen)


class _AfterBoundary:
    r"""A pattern that starts with a word boundary, searched without it and the boundary
    checked at each match's start.

    CPython's regular expression engine scans fast for a literal a pattern starts with,
    but not after a leading "\b": on a 360-character message `\bwant\s+to\s+cut\b`
    took 11 us and `want\s+to\s+cut\b` 0.4 us. Every match of the rest starts with a
    word character, so the boundary holds where the character before is not one.
    """

    __slots__ = ("_body", "pattern")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._body = re.compile(pattern[2:])

    def search(self, text: str) -> re.Match[str] | None:
        find = self._body.search
        at = 0
        while (match := find(text, at)) is not None:
            start = match.start()
            if start == 0 or not _is_word(text[start - 1]):
                return match
            at = start + 1
        return None


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"  # what \w matches in a str pattern


def _compile(pattern: str, after_boundary: bool) -> _Regex:
    return _AfterBoundary(pattern) if after_boundary else re.compile(pattern)


class _Unread:
    """An alternative not compiled yet: its first search compiles it and puts the compiled
    pattern in its place, so later searches cost nothing extra."""

    __slots__ = ("_after", "_at", "_slots", "pattern")

    def __init__(self, slots: list[_Regex], at: int, pattern: str, after_boundary: bool) -> None:
        self._slots, self._at, self.pattern, self._after = slots, at, pattern, after_boundary

    def search(self, text: str) -> re.Match[str] | None:
        compiled = self._slots[self._at] = _compile(self.pattern, self._after)
        return compiled.search(text)


_Regex = re.Pattern[str] | _AfterBoundary | _Unread

# Per top-level alternative of a pattern: its text, whether it is searched after its leading
# word boundary (`_AfterBoundary`), and its needles (None: always tried).
Reading = tuple[tuple[str, bool, frozenset[str] | None], ...]
_readings: dict[tuple[str, bool], Reading] = {}  # by (pattern, folded)


def reading(pattern: str, folded: bool = False) -> Reading:
    """The pattern's top-level alternatives, each with its needles; the whole pattern when
    it cannot be split (a flag or a group reference spans them). Read once per pattern:
    the crisis reader holds each in two or three lists, and `remember` takes readings
    kept from an earlier start."""
    known = _readings.get((pattern, folded))
    if known is None:
        parts = top_level_split(pattern)
        if len(parts) == 1 or _SPANS.search(pattern):
            parts = [pattern]
        known = tuple((p, _after_boundary(p), required_strings(p, folded)) for p in parts)
        _readings[(pattern, folded)] = known
    return known


def _after_boundary(pattern: str) -> bool:
    if not pattern.startswith(r"\b") or len(top_level_split(pattern)) > 1:
        return False
    starts = _sequence(list(_parser.parse(pattern[2:]))).prefix
    return all(s and _is_word(s[0]) for s in starts)


def known() -> int:
    """How many patterns have a reading: cheaper to compare than `readings()`."""
    return len(_readings)


def readings() -> dict[str, list]:
    """Every reading made or remembered, as JSON: keyed by the pattern, after "f" when
    read for folded text and "r" when not."""
    return {
        ("f" if folded else "r") + pattern: [
            [p, a, None if n is None else sorted(n)] for p, a, n in parts
        ]
        for (pattern, folded), parts in _readings.items()
    }


def remember(kept: dict[str, list]) -> None:
    """Take readings made by `readings()` in an earlier process (of this same code: see
    `model_cache.kept_readings`); ValueError if they are not readings."""
    found: dict[tuple[str, bool], Reading] = {}
    for key, parts in kept.items():
        if not (key[:1] in ("f", "r") and isinstance(parts, list) and parts):
            raise ValueError("not a reading of needles")
        found[(key[1:], key[0] == "f")] = tuple(
            (str(p), bool(a), None if n is None else frozenset(map(str, n))) for p, a, n in parts
        )
    _readings.update(found)


# Anchors and lookarounds (a class's "^" is caught too: then it is only tried needlessly).
_EDGES = re.compile(r"\^|\$|\(\?<?[=!]|\\[AZ]")
# Global flags and references to numbered or named groups.
_SPANS = re.compile(r"^\(\?[aiLmsux]+\)|\\[1-9]|\(\?P=")


def top_level_split(pattern: str) -> list[str]:
    """The pattern cut at each "|" outside groups and character classes."""
    parts, start, depth, in_class, i = [], 0, 0, False, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            i += 2 if pattern[i + 1 : i + 2] == "^" else 1
            i += 1 if pattern[i : i + 1] == "]" else 0  # "[]...]" and "[^]...]" hold a "]"
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    return [*parts, pattern[start:]]


class NeedleIndex:
    """Which of many strings occur in a text, in one pass over it.

    Testing each of a thousand strings with `in` cost more than the patterns themselves;
    filing them under their rarest three characters still left 360 to test on a long
    message (190 us a search). An Aho-Corasick automaton (pyahocorasick, in C) reports
    every string ending at each character, overlapping ones too: 12 us.
    """

    def __init__(self, needles: frozenset[str]) -> None:
        self._automaton = ahocorasick.Automaton()
        for needle in sorted(needles):
            self._automaton.add_word(needle, needle)
        self._automaton.make_automaton()
        self._empty = not needles  # an automaton of no strings cannot search

    def find(self, text: str) -> set[str]:
        """The strings in the text."""
        if self._empty:
            return set()
        return {needle for _, needle in self._automaton.iter(text)}


def required_strings(pattern: str, folded: bool = False) -> frozenset[str] | None:
    """Strings of which every match contains at least one; None when none can be proved
    (then the pattern is always tried). `folded`: of the matches in folded text."""
    tree = _parser.parse(pattern)
    if tree.state.flags & re.IGNORECASE:
        return None
    items = list(tree)
    return _sequence(_one_space(items) if folded else items).needed


def needs_non_ascii(pattern: str) -> bool:
    """Whether every match holds a character outside ASCII (an emoji): then a plain-ASCII
    text never needs the pattern tried."""
    return _needs_non_ascii(list(_parser.parse(pattern)))


def _needs_non_ascii(items: list) -> bool:
    for op, arg in items:
        if op is c.LITERAL and arg > 127:
            return True
        if op is c.IN and all(o is c.LITERAL and a > 127 for o, a in arg):
            return True
        if op is c.SUBPATTERN and _needs_non_ascii(list(arg[-1])):
            return True
        if op is c.BRANCH and all(_needs_non_ascii(list(b)) for b in arg[1]):
            return True
        if op in _REPEATS and arg[0] >= 1 and _needs_non_ascii(list(arg[2])):
            return True
    return False


_SPACE = 32
_REPEATS = (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT)


def _one_space(items: list) -> list:
    """The parsed pattern as it can match folded text, where words are one space apart:
    a whitespace class is a space, and a run of them one space (or none, if optional).

    In a long message nearly every frequent word is present, so a needle of one word
    ("want", "do") let most patterns through; across the spaces it is a phrase ("do him
    in", "want to die"), which a message rarely holds unless the pattern matches.
    """
    out = []
    for op, arg in items:
        if _is_space(op, arg):
            op, arg = c.LITERAL, _SPACE
        elif op in _REPEATS and all(_is_space(*item) for item in arg[2]) and len(arg[2]) == 1:
            if arg[0] >= 1:
                op, arg = c.LITERAL, _SPACE
            else:
                op, arg = c.MAX_REPEAT, (0, 1, [(c.LITERAL, _SPACE)])
        elif op in _REPEATS:
            arg = (arg[0], arg[1], _one_space(list(arg[2])))
        elif op is c.SUBPATTERN:
            arg = (*arg[:-1], _one_space(list(arg[-1])))
        elif op is c.BRANCH:
            arg = (arg[0], [_one_space(list(alternative)) for alternative in arg[1]])
        elif op is c.ATOMIC_GROUP:
            arg = _one_space(list(arg))
        out.append((op, arg))
    return out


def _is_space(op, arg) -> bool:
    return (op is c.LITERAL and arg == _SPACE) or (
        op is c.IN and list(arg) == [(c.CATEGORY, c.CATEGORY_SPACE)]
    )


# Sets of exact strings larger than this are not multiplied out further.
_MOST = 16

# How often each letter occurs in English text; other characters are rarer still.
_LETTERS = dict(
    zip(
        "etaoinshrdlcumwfgypbvkjxqz ",
        (127, 91, 82, 75, 70, 67, 63, 61, 60, 43, 40, 28, 28, 24, 24, 22, 20, 20, 19, 15, 10, 8)
        + (2, 2, 1, 1, 180),
        strict=True,
    )
)
# Frequent words occur far more often than their letters suggest.
_COMMON_WORDS = (
    "a am an and are as at be been but can could did do does for from get got had has have"
    " he her here him his how i if im in is it its just know last like me my no not now of"
    " on or our out she so that the them then there they this to up was we what when who"
    " will with would you your"
)
_COMMON = frozenset(_COMMON_WORDS.split())
_MESSAGE = 80  # characters in a typical message


def _usable(strings: frozenset[str]) -> frozenset[str] | None:
    """The strings without those containing a shorter one (finding "photo" is enough
    for "photos"); None when one is empty (every text contains it)."""
    if "" in strings:
        return None
    return frozenset(s for s in strings if not any(t != s and t in s for t in strings))


@dataclass(frozen=True)
class _Piece:
    """What is known of the strings a piece of a pattern matches."""

    exact: frozenset[str] | None  # all of them, when there are few
    prefix: frozenset[str]  # each starts with one of these ({""}: nothing known)
    suffix: frozenset[str]  # each ends with one of these
    needed: frozenset[str] | None  # each contains one of these

    @classmethod
    def of(cls, strings: frozenset[str]) -> _Piece:
        return cls(strings, strings, strings, _usable(strings))


_UNKNOWN = _Piece(None, frozenset({""}), frozenset({""}), None)
_ZERO_WIDTH = (c.AT, c.ASSERT, c.ASSERT_NOT)  # they match no characters


def _sequence(items: list) -> _Piece:
    """Pieces one after another: runs of exact strings are multiplied out, and the
    run broken by a piece with no exact set joins that piece's prefix."""
    found: list[frozenset[str] | None] = []
    run = frozenset({""})
    prefix: frozenset[str] | None = None
    for op, arg in items:
        if op is c.LITERAL:  # the usual case, done without a piece
            run = frozenset(r + chr(arg) for r in run)
            continue
        if op in _ZERO_WIDTH:
            continue
        piece = _piece(op, arg)
        if piece.exact is not None and len(run) * len(piece.exact) <= _MOST:
            run = _times(run, piece.exact)
            continue
        stretch = _times(run, piece.prefix) if len(run) * len(piece.prefix) <= _MOST else run
        found.append(stretch)
        prefix = stretch if prefix is None else prefix
        if piece.exact is not None:
            run = piece.exact
        else:
            found.append(piece.needed)
            run = piece.suffix
    if prefix is None:
        return _Piece.of(run)
    found.append(run)
    return _Piece(None, prefix, run, _rarest(found))


def _piece(op, arg) -> _Piece:
    """A piece other than a literal or a zero-width assertion (`_sequence` takes those)."""
    if op is c.IN:
        return _class(arg)
    if op is c.SUBPATTERN:
        return _UNKNOWN if arg[1] & re.IGNORECASE else _sequence(list(arg[-1]))
    if op is c.ATOMIC_GROUP:
        return _sequence(list(arg))
    if op is c.BRANCH:
        return _either([_sequence(list(alternative)) for alternative in arg[1]])
    if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
        return _repeat(*arg)
    return _UNKNOWN


def _class(items: list) -> _Piece:
    """A character class of listed characters and short ranges: those characters."""
    chars: set[str] = set()
    for op, arg in items:
        if op is c.LITERAL:
            chars.add(chr(arg))
        elif op is c.RANGE and arg[1] - arg[0] < _MOST:
            chars.update(map(chr, range(arg[0], arg[1] + 1)))
        else:
            return _UNKNOWN  # a category, a negation, a wide range
    return _Piece.of(frozenset(chars)) if len(chars) <= _MOST else _UNKNOWN


def _either(alternatives: list[_Piece]) -> _Piece:
    exact = [a.exact for a in alternatives]
    if all(e is not None for e in exact) and sum(map(len, exact)) <= _MOST:  # type: ignore[arg-type]
        return _Piece.of(frozenset().union(*exact))  # type: ignore[arg-type]
    needed = [a.needed for a in alternatives]
    return _Piece(
        None,
        frozenset().union(*(a.prefix for a in alternatives)),
        frozenset().union(*(a.suffix for a in alternatives)),
        None if None in needed else _usable(frozenset().union(*needed)),  # type: ignore[arg-type]
    )


def _repeat(least: int, most: int, body: list) -> _Piece:
    inner = _sequence(list(body))
    if least == most == 1:
        return inner
    if least == 0:
        if most == 1 and inner.exact is not None:
            return _Piece.of(inner.exact | {""})  # optional: "photos?"
        return _UNKNOWN
    return _Piece(None, inner.prefix, inner.suffix, inner.needed)


def _times(left: frozenset[str], right: frozenset[str]) -> frozenset[str]:
    return frozenset(a + b for a in left for b in right)


def _rarest(sets: list[frozenset[str] | None]) -> frozenset[str] | None:
    """The set least likely to be in an ordinary message."""
    usable = [u for s in sets if s is not None and (u := _usable(s))]
    return min(usable, key=lambda s: (sum(map(_chance, s)), len(s)), default=None)


def _chance(needle: str) -> float:
    """Roughly how likely an ordinary message is to contain the string."""
    if needle in _COMMON:
        return 1.0 if len(needle) < 3 else 0.3
    chance = float(_MESSAGE)
    for char in needle:
        chance *= _LETTERS.get(char, 5) / 1000
    return min(chance, 1.0)
