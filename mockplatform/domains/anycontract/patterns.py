"""A value that matches an XML Schema pattern facet: the small generator the generic producer needs.

It reads the subset of the XSD regular-expression language that RIVTA schemas use: literal characters
and escapes, character classes (``[0-9pPtTfF]``, ranges, negation ``[^...]``, subtraction
``[a-z-[aeiou]]``), the class escapes ``\\d \\s \\w \\i \\c`` (and their capitals), ``\\p{..}``
categories and ``.``; the quantifiers ``? * + {n} {n,} {n,m}``; alternation and groups. An XSD pattern
is anchored at both ends (``^`` and ``$`` are ordinary characters). What it cannot read raises
``PatternError`` naming the pattern and the place.

``generate(pattern, extra, last)`` writes the smallest value: each quantifier its least count (plus up
to ``extra`` more where the quantifier allows, for a length facet), each alternation its first branch
(its last with ``last``), each class its first character.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

__all__ = ["PatternError", "generate"]

_MAX_REPEAT = 1000  # a {n} larger than this is not a value anyone wants written out
_SINGLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", "|": "|", ".": ".", "-": "-", "^": "^", "?": "?",
                   "*": "*", "+": "+", "{": "{", "}": "}", "(": "(", ")": ")", "[": "[", "]": "]", "$": "$"}
# Characters tried, in order, for a class given by what it holds (\w, a negated class): plain ones first.
_PREFERRED = "0aA1bB2cC3xX_-.:9zZ /+=$~^`|#@!%&*,;?'\"()<>[]{}\\\t"


class PatternError(ValueError):
    """A pattern outside the subset the generator reads, or one no value can match."""


def _name_start(ch: str) -> bool:
    return ch.isalpha() or ch in "_:"


def _name_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_:.-\u00b7"


def _word(ch: str) -> bool:
    # XSD \w: anything but punctuation, separators and "other" (control) characters.
    return unicodedata.category(ch)[0] not in "PZC"


_CLASS_ESCAPES: dict[str, Callable[[str], bool]] = {
    "d": lambda ch: unicodedata.category(ch) == "Nd",
    "s": lambda ch: ch in " \t\n\r",
    "w": _word,
    "i": _name_start,
    "c": _name_char,
}


def _category(name: str, pattern: str) -> Callable[[str], bool]:
    """``\\p{name}``: a Unicode general category (``L``, ``Lu``, ``Nd``, ...) or a block ``IsBasicLatin``."""
    if name.startswith("Is"):
        blocks = {"IsBasicLatin": (0x00, 0x7F), "IsLatin-1Supplement": (0x80, 0xFF),
                  "IsLatinExtended-A": (0x100, 0x17F)}
        if name not in blocks:
            raise PatternError(f"pattern '{pattern}': the block \\p{{{name}}} is not supported")
        low, high = blocks[name]
        return lambda ch: low <= ord(ch) <= high
    if not name or not name[0].isalpha() or len(name) > 2:
        raise PatternError(f"pattern '{pattern}': \\p{{{name}}} is not a Unicode category")
    return lambda ch: unicodedata.category(ch).startswith(name)


@dataclass
class _Set:
    """A character class: its items (ranges and class predicates), negated or not, less a subtracted class."""

    ranges: list[tuple[str, str]] = field(default_factory=list)
    predicates: list[Callable[[str], bool]] = field(default_factory=list)
    negated: bool = False
    subtract: _Set | None = None

    def contains(self, ch: str) -> bool:
        inside = any(lo <= ch <= hi for lo, hi in self.ranges) or any(p(ch) for p in self.predicates)
        if self.negated:
            inside = not inside
        return inside and not (self.subtract is not None and self.subtract.contains(ch))

    def candidates(self) -> Iterator[str]:
        if not self.negated:
            for lo, hi in self.ranges:  # the class's own first characters, as written
                for code in range(ord(lo), min(ord(hi), ord(lo) + 255) + 1):
                    yield chr(code)
        yield from _PREFERRED
        yield from (chr(c) for c in range(0xA0, 0x250))

    def first(self, pattern: str) -> str:
        for ch in self.candidates():
            if self.contains(ch):
                return ch
        raise PatternError(f"pattern '{pattern}': a character class no character matches")


@dataclass
class _Piece:
    atom: object  # str (a literal), _Set or list of alternatives (a group)
    low: int = 1
    high: int | None = 1  # None: unbounded


class _Parser:
    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.pos = 0

    def fail(self, what: str) -> PatternError:
        return PatternError(f"pattern '{self.pattern}': {what} at character {self.pos + 1}")

    def peek(self) -> str | None:
        return self.pattern[self.pos] if self.pos < len(self.pattern) else None

    def take(self) -> str:
        ch = self.peek()
        if ch is None:
            raise self.fail("unexpected end")
        self.pos += 1
        return ch

    def parse(self) -> list[list[_Piece]]:
        branches = self.branches()
        if self.peek() is not None:
            raise self.fail(f"unexpected '{self.peek()}'")
        return branches

    def branches(self) -> list[list[_Piece]]:
        out = [self.sequence()]
        while self.peek() == "|":
            self.pos += 1
            out.append(self.sequence())
        return out

    def sequence(self) -> list[_Piece]:
        pieces: list[_Piece] = []
        while self.peek() is not None and self.peek() not in "|)":
            atom = self.atom()
            low, high = self.quantifier()
            pieces.append(_Piece(atom, low, high))
        return pieces

    def atom(self) -> object:
        ch = self.take()
        if ch == "(":
            if self.peek() == "?":
                raise self.fail("'(?' (not XML Schema)")
            inner = self.branches()
            if self.take() != ")":
                raise self.fail("')' expected")
            return inner
        if ch == "[":
            return self.char_class()
        if ch == ".":
            return _Set(predicates=[lambda c: c not in "\n\r"])
        if ch == "\\":
            return self.escape(in_class=False)
        if ch in "?*+{":
            raise self.fail(f"a quantifier '{ch}' with nothing before it")
        if ch in "]}":
            raise self.fail(f"'{ch}' without its opening bracket")
        return ch

    def escape(self, in_class: bool) -> str | _Set:
        ch = self.take()
        if ch in _SINGLE_ESCAPES:
            return _SINGLE_ESCAPES[ch]
        lower = ch.lower()
        if lower in _CLASS_ESCAPES:
            return _Set(predicates=[_CLASS_ESCAPES[lower]], negated=ch.isupper())
        if lower == "p":
            if self.take() != "{":
                raise self.fail("'{' expected after \\p")
            end = self.pattern.find("}", self.pos)
            if end < 0:
                raise self.fail("'}' expected")
            name, self.pos = self.pattern[self.pos:end], end + 1
            return _Set(predicates=[_category(name, self.pattern)], negated=ch == "P")
        raise self.fail(f"the escape \\{ch} is not supported")

    def class_char(self) -> str | _Set:
        ch = self.take()
        if ch == "\\":
            return self.escape(in_class=True)
        if ch == "[":
            raise self.fail("'[' inside a class (escape it as \\[)")
        return ch

    def char_class(self) -> _Set:
        result = _Set()
        if self.peek() == "^":
            self.pos += 1
            result.negated = True
        first = True
        while True:
            ch = self.peek()
            if ch is None:
                raise self.fail("']' expected")
            if ch == "]" and not first:
                self.pos += 1
                return result
            if ch == "-" and self.pattern.startswith("-[", self.pos) and not first:  # subtraction: [a-z-[aeiou]]
                self.pos += 2
                result.subtract = self.char_class()
                if self.take() != "]":
                    raise self.fail("']' expected after a subtraction")
                return result
            first = False
            item = self.class_char()
            if isinstance(item, _Set):
                result.predicates.append(item.contains)
                continue
            if self.peek() == "-" and self.pattern[self.pos + 1:self.pos + 2] not in ("]", "["):
                self.pos += 1
                high = self.class_char()
                if isinstance(high, _Set) or high < item:
                    raise self.fail(f"a range '{item}-...' that is not a range of characters")
                result.ranges.append((item, high))
            else:
                result.ranges.append((item, item))

    def quantifier(self) -> tuple[int, int | None]:
        ch = self.peek()
        if ch == "?":
            self.pos += 1
            return 0, 1
        if ch == "*":
            self.pos += 1
            return 0, None
        if ch == "+":
            self.pos += 1
            return 1, None
        if ch != "{":
            return 1, 1
        end = self.pattern.find("}", self.pos)
        if end < 0:
            raise self.fail("'}' expected")
        text, self.pos = self.pattern[self.pos + 1:end], end + 1
        low_text, comma, high_text = text.partition(",")
        try:
            low = int(low_text)
            high = (int(high_text) if high_text else None) if comma else low
        except ValueError:
            raise self.fail(f"'{{{text}}}' is not a quantifier") from None
        if high is not None and high < low:
            raise self.fail(f"'{{{text}}}': the larger number comes first")
        if low > _MAX_REPEAT:
            raise self.fail(f"'{{{text}}}' repeats more than {_MAX_REPEAT} times")
        return low, high


def _write(branches: list[list[_Piece]], extra: int, last: bool, pattern: str) -> str:
    pieces = branches[-1] if last else branches[0]
    out = []
    for piece in pieces:
        room = extra if piece.high is None else min(extra, piece.high - piece.low)
        count = piece.low + max(room, 0)
        for _ in range(count):
            atom = piece.atom
            if isinstance(atom, str):
                out.append(atom)
            elif isinstance(atom, _Set):
                out.append(atom.first(pattern))
            else:
                out.append(_write(atom, extra, last, pattern))
    return "".join(out)


def generate(pattern: str, extra: int = 0, last: bool = False) -> str:
    """The smallest value matching ``pattern`` (see the module's docstring); PatternError if unreadable."""
    return _write(_Parser(pattern).parse(), extra, last, pattern)
