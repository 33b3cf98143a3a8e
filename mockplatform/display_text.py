"""Text from outside, made fit to show in any document: the web pages, and every format of the protocol;
and the short name of a contract, shown the same way in both.

A consumer's request may carry characters no document should hold: C0 control characters (but tab, line
feed and carriage return), DEL, the noncharacters U+FFFE and U+FFFF, and lone surrogates (bytes that were
not UTF-8). XML 1.0 forbids most of them (lxml and python-docx refuse to write them), HTML counts them as
parse errors, and those it lets through are invisible. ``clean`` shows each one as its code point,
``[U+001B]``: visible in the evidence, never fatal. Each format still escapes its own syntax.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["clean", "contract_name"]

_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff\ud800-\udfff]")


def _code_point(match: re.Match[str]) -> str:
    return f"[U+{ord(match.group()):04X}]"


def clean(value: object) -> str:
    """``value`` as text (None as ""), each forbidden character shown as ``[U+001B]`` instead of failing."""
    text = "" if value is None else str(value)
    return _FORBIDDEN.sub(_code_point, text)


_LINE_BREAKING = re.compile("[\t\n\r]")


def one_line(value: object) -> str:
    """``clean``, and a tab or line break shown as ``[U+000A]`` too: for a terminal table, one row a line."""
    return _LINE_BREAKING.sub(_code_point, clean(value))


def terminal_width(text: str) -> int:
    """Columns a text takes in a terminal: a wide character (CJK) two, a combining mark none."""
    return sum(0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def contract_name(namespace: str | None) -> str:
    """A contract's short name, as the pages and the protocol's evidence tables show it:
    ``urn:...:DoSomethingResponder:1`` -> ``DoSomething 1``; anything else as it is."""
    if not namespace:
        return ""
    parts = namespace.split(":")
    if len(parts) >= 2 and parts[-2].endswith("Responder"):
        return f"{parts[-2].removesuffix('Responder')} {parts[-1]}"
    return namespace
