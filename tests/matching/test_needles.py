"""The needles read from a pattern: every match must contain one, or the pattern would
be skipped on a message it matches (a missed crisis)."""

from __future__ import annotations

import random
import re
from re import _constants as c  # type: ignore[attr-defined]
from re import _parser  # type: ignore[attr-defined]

import pytest

from bot.matching import model_cache, needles
from bot.matching.needles import AnyOf, required_strings


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        # The parser factors "go" out of both alternatives; the needles join it back.
        (r"\b(gonna|going\s+to)\s+do\s+it\b", {"gonna", "going"}),
        (r"\bphotos?\s+of\s+me\b", {"photo"}),
        (r"\bsu(1c|ic)1d[e3]\b", {"su1c1de", "su1c1d3", "suic1de", "suic1d3"}),
        # The rarest piece is kept, not a frequent word in front of it.
        (r"\bwhat\s+(do|does)\s+\w+\s+mean\b", {"mean"}),
        (r"\b(kill|end)\s+(my|him|her)self\b", {"myself", "himself", "herself"}),
        (r"\b(kill|end)\s+(my|him|her)\b", {"kill", "end"}),
        # An alternative with nothing certain in it makes the whole pattern unknown.
        (r"\bfoo\b|\w+\s+\d", None),
        (r"(?i)kill", None),
        (r"[🪦⚰]", {"🪦", "⚰"}),
    ],
)
def test_required_strings(pattern: str, expected: set[str] | None) -> None:
    found = required_strings(pattern)
    assert (found if found is None else set(found)) == expected


@pytest.mark.parametrize(
    ("pattern", "parts"),
    [
        (r"\ba|b[|]c|(x|y)", [r"\ba", "b[|]c", "(x|y)"]),
        (r"[]|]z|\||[^]|]q", ["[]|]z", r"\|", "[^]|]q"]),
    ],
)
def test_patterns_split_only_at_top_level_bars(pattern: str, parts: list[str]) -> None:
    assert needles.top_level_split(pattern) == parts


def _sample(items: list, rng: random.Random) -> str:
    """A random string built to match a parsed pattern (boundaries may still fail it)."""
    out = []
    for op, arg in items:
        if op is c.LITERAL:
            out.append(chr(arg))
        elif op in (c.NOT_LITERAL, c.ANY):
            out.append("q")
        elif op is c.IN:
            out.append(_member(arg, rng))
        elif op is c.BRANCH:
            out.append(_sample(list(rng.choice(arg[1])), rng))
        elif op is c.SUBPATTERN:
            out.append(_sample(list(arg[-1]), rng))
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
            least, most, body = arg
            times = rng.randint(least, min(most, least + 2))
            out.extend(_sample(list(body), rng) for _ in range(times))
    return "".join(out)


def _member(items: list, rng: random.Random) -> str:
    chars = []
    for op, arg in items:
        if op is c.NEGATE:
            return "q"
        if op is c.LITERAL:
            chars.append(chr(arg))
        elif op is c.RANGE:
            chars.append(chr(rng.randint(*arg)))
        elif op is c.CATEGORY:
            chars.append({c.CATEGORY_DIGIT: "7", c.CATEGORY_SPACE: " "}.get(arg, "w"))
    return rng.choice(chars)


def _patterns(engine) -> set[str]:
    """Every pattern the crisis and facts readers hold."""
    triage = engine.triage
    holders = [*vars(triage.crisis).values(), *vars(triage.facts).values()]
    found: set[str] = set()
    for holder in holders:
        for item in holder if isinstance(holder, list) else [holder]:
            any_of = item[1] if isinstance(item, tuple) else item
            if isinstance(any_of, AnyOf):
                found.update(any_of.sources)
    return found


@pytest.mark.parametrize("folded", [False, True])
def test_every_match_of_every_content_pattern_holds_a_needle(engine, folded: bool) -> None:
    """`folded`: the needles for folded text, checked on samples with their words one
    space apart (as folding leaves them)."""
    rng = random.Random(7)
    patterns = _patterns(engine)
    assert len(patterns) > 200  # the crisis and facts patterns were all found
    checked = 0
    for pattern in patterns:
        wanted = required_strings(pattern, folded)
        assert wanted is not None, f"no needle: {pattern} is tried on every message"
        compiled = re.compile(pattern)
        tree = list(_parser.parse(pattern))
        for _ in range(40):
            sample = _sample(tree, rng)
            sample = " ".join(sample.split()) if folded else sample
            if match := compiled.search(f" {sample} "):
                checked += 1
                assert any(n in match.group(0) for n in wanted), (pattern, match.group(0))
    assert checked > 20 * len(patterns)  # most samples really matched


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"\bdo\s+(her|him)\s+in\b", {"do her in", "do him in"}),
        (r"\bno\s*one\s+cares\b", {"no one cares", "noone cares"}),
        (r"\bwhat\s+(do|does)\s+\w+\s+mean\b", {"what do ", "what does "}),
    ],
)
def test_needles_in_folded_text_span_words(pattern: str, expected: set[str]) -> None:
    """In folded text words are one space apart, so a needle can be a phrase: one word
    ("do") let the pattern through on most long messages."""
    assert required_strings(pattern) != expected
    assert set(required_strings(pattern, folded=True) or ()) == expected


def test_a_needle_index_finds_every_string_in_a_text() -> None:
    """Whatever piece a string is filed under, it is found where it occurs."""
    strings = frozenset({"do him in", "ing", "kill", "tonight", "rn", "🪢", "want to die"})
    index = needles.NeedleIndex(strings)
    text = "he said hes gonna do him in tonight rn i want to die 🪢 killing"
    assert strings <= index.find(text)
    assert index.find("a quiet day so far") == set()


def test_common_words_are_poor_needles() -> None:
    assert needles._chance("what") > needles._chance("mean")
    assert needles._chance("kill") < needles._chance("i")


@pytest.mark.parametrize(
    ("pattern", "text", "span"),
    [
        (r"\bgg\s+(all|guys)\b", "gg all", (0, 6)),
        (r"\bgg\s+(all|guys)\b", "egg all then gg guys", (13, 20)),  # the first has no boundary
        (r"\bwant\s+to\s+cut\b", "_want to cut", None),  # "_" is a word character
        (r"\bwant\s+to\s+cut\b", "éwant to cut, i want to cut", (16, 27)),
        (r"\b(im|hes)\s+(1[89]|[2-9]\d)\b", "him 19, hes 19", (8, 14)),
    ],
)
def test_a_leading_boundary_is_checked_after_the_search(pattern: str, text: str, span) -> None:
    ((part, after, _),) = needles.reading(pattern)
    assert after  # searched without its "\b"
    compiled = needles._compile(part, after)
    match = compiled.search(text)
    assert (
        (match and match.span()) == span == (m.span() if (m := re.search(pattern, text)) else None)
    )


def test_content_patterns_match_alike_with_the_boundary_checked_after(engine) -> None:
    """Every alternative searched without its leading boundary finds what `re` finds, after
    a word character and after a space alike."""
    rng = random.Random(11)
    converted = 0
    for pattern in _patterns(engine):
        for part, after, _ in needles.reading(pattern):
            if not after:
                continue
            compiled = needles._AfterBoundary(part)
            converted += 1
            plain, tree = re.compile(compiled.pattern), list(_parser.parse(compiled.pattern))
            for _ in range(10):
                sample = _sample(tree, rng)
                for text in (f" {sample} ", f"x{sample} {sample}", f"{sample}_"):
                    want = plain.search(text)
                    got = compiled.search(text)
                    assert (got and got.span()) == (want and want.span()), (compiled.pattern, text)
    assert converted > 500  # most alternatives start with a boundary


@pytest.mark.parametrize(
    ("pattern", "needs"),
    [
        (r"[\U0001F52A\U0001F48A]", True),
        (r"\U0001F309.{0,40}\b(tonight|tmrw)\b", True),
        (r"(\U0001F52A|\U0001F48A)+", True),
        (r"\bkys\b", False),
        (r"(\U0001F52A)?\s*kms", False),  # the emoji is optional
        (r"[x\U0001F52A]", False),  # "x" alone matches
        (r"\U0001F52A*", False),
    ],
)
def test_patterns_that_need_a_character_outside_ascii(pattern: str, needs: bool) -> None:
    """Only these are looked for in the raw text, and never in a plain-ASCII one."""
    assert needles.needs_non_ascii(pattern) is needs


def test_a_clause_is_tried_for_what_the_whole_text_matched_and_for_lookarounds() -> None:
    """A clause can match a pattern that looks past its end where the whole text did not
    ("left a note" then ", about..."); any other pattern only if the whole text matched it."""
    any_of = AnyOf((r"\bleft\s+a\s+note\b(?!\s+about)", r"\bpills\b"), folded=True)
    whole = "he left a note about the trip and pills"
    hits = any_of.hits(whole, any_of._index.find(whole))
    assert len(hits) == 1  # the pills, not the note
    assert any_of.search_part("he left a note", {"left a note"}, hits)
    assert any_of.search_part("pills", {"pills"}, hits)
    assert not any_of.search_part("pills", {"pills"}, ())


def test_alternatives_are_compiled_on_their_first_search() -> None:
    any_of = AnyOf((r"\bpills\b|\btablets\b", r"\bnote\b"), folded=True)
    assert not any(isinstance(r, re.Pattern) for r in any_of._regex)
    assert any_of.search("she took tablets") and not any_of.search("a pill")
    assert sum(isinstance(r, re.Pattern | needles._AfterBoundary) for r in any_of._regex) == 1


def test_readings_kept_on_disk_are_used_at_the_next_start(tmp_path, monkeypatch) -> None:
    """The second start reads no pattern; a damaged file costs only the reading."""
    monkeypatch.setenv("GUIDANCE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(needles, "_readings", {})
    patterns = (r"\b(kill|end)\s+(my|him|her)self\b", r"\bleft\s+a\s+note\b(?!\s+about)")
    with model_cache.kept_readings():
        first = AnyOf(patterns, folded=True)
    (kept,) = tmp_path.glob("needles-*.json")
    assert kept.stat().st_size > 0
    monkeypatch.setattr(needles, "_readings", {})
    monkeypatch.setattr(needles, "required_strings", None)  # reading a pattern would fail
    with model_cache.kept_readings():
        second = AnyOf(patterns, folded=True)
    assert second.needles == first.needles and "left a note" in first.needles
    assert second.search("i want to end myself") and not second.search("left a note about it")

    kept.write_text('{"fx": 3}', encoding="utf-8")
    monkeypatch.undo()
    monkeypatch.setenv("GUIDANCE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(needles, "_readings", {})
    with model_cache.kept_readings():
        third = AnyOf(patterns, folded=True)
    assert third.needles == first.needles
    assert "left" in kept.read_text(encoding="utf-8")  # rewritten whole
