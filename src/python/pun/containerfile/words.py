"""Dockerfile word rules: quote removal, escapes and `$VAR` expansion.

Follows BuildKit's shell lexer (`frontend/dockerfile/shell/lex.go`, ProcessWord) for the
non-Windows case, so that a LABEL or COPY path means here what it means to `docker build`.
"""

from __future__ import annotations

from typing import List, Mapping, NamedTuple, Set

_SPECIAL = frozenset("'\"$")


class WordError(ValueError):
    pass


class _Lexer:
    def __init__(self, text: str, env: Mapping[str, str], escape: str) -> None:
        self.text, self.env, self.escape = text, env, escape
        self.pos = 0
        self.unset: Set[str] = set()

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def next(self) -> str:
        ch = self.peek()
        self.pos += 1 if ch else 0
        return ch

    def word(self, stop: str = "") -> str:
        out: List[str] = []
        while self.pos < len(self.text):
            ch = self.peek()
            if stop and ch == stop:
                break
            if ch == "'":
                out.append(self.single_quoted())
            elif ch == '"':
                out.append(self.double_quoted())
            elif ch == "$":
                out.append(self.dollar())
            elif ch == self.escape:
                self.next()
                escaped = self.next()  # a trailing escape is dropped
                out.append(escaped)
            else:
                out.append(self.next())
        return "".join(out)

    def single_quoted(self) -> str:
        self.next()
        end = self.text.find("'", self.pos)
        if end == -1:
            raise WordError("unexpected end of statement while looking for matching single-quote")
        value = self.text[self.pos : end]
        self.pos = end + 1
        return value

    def double_quoted(self) -> str:
        self.next()
        out: List[str] = []
        while True:
            ch = self.peek()
            if not ch:
                raise WordError(
                    "unexpected end of statement while looking for matching double-quote"
                )
            if ch == '"':
                self.next()
                return "".join(out)
            if ch == "$":
                out.append(self.dollar())
                continue
            self.next()
            if ch == self.escape:
                following = self.peek()
                if not following:
                    continue
                if following in ('"', "$", self.escape):
                    ch = self.next()
            out.append(ch)

    def dollar(self) -> str:
        self.next()  # the $
        ch = self.peek()
        if ch == "{":
            self.next()
            return self.braced()
        name = self.name()
        if not name:
            return "$"
        return self.lookup(name)

    def name(self) -> str:
        start = self.pos
        while self.pos < len(self.text) and (
            self.text[self.pos].isalnum() or self.text[self.pos] == "_"
        ):
            self.pos += 1
        return self.text[start : self.pos]

    def braced(self) -> str:
        name = self.name()
        if not name:
            raise WordError("bad substitution: a variable name is missing after ${")
        ch = self.next()
        if ch == "}":
            return self.lookup(name)
        if ch == ":" and self.peek() in "-+?":
            modifier = ":" + self.next()
        elif ch in ("-", "+", "?"):
            modifier = ch
        else:
            raise WordError(
                f"unsupported modifier ({ch or 'end of word'}) in substitution of ${{{name}}}"
            )
        operand = self.word(stop="}")
        if self.next() != "}":
            raise WordError(f"missing '}}' in substitution of ${{{name}}}")
        value = self.env.get(name)
        present = value is not None
        non_empty = present and value != ""
        if modifier == ":-":
            return value if non_empty else operand  # type: ignore[return-value]
        if modifier == "-":
            return value if present else operand  # type: ignore[return-value]
        if modifier == ":+":
            return operand if non_empty else ""
        if modifier == "+":
            return operand if present else ""
        # ? and :? fail when the variable is unset (or empty, for :?)
        if (modifier == ":?" and not non_empty) or (modifier == "?" and not present):
            raise WordError(f"{name}: {operand or 'is not allowed to be unset'}")
        return value or ""

    def lookup(self, name: str) -> str:
        value = self.env.get(name)
        if value is None:
            self.unset.add(name)
            return ""
        return value


class Expanded(NamedTuple):
    value: str
    unset_variables: "frozenset[str]"


def process_word(text: str, env: Mapping[str, str], escape: str = "\\") -> Expanded:
    """Remove quotes and escapes and expand variables in one Dockerfile word."""
    if not _SPECIAL.intersection(text) and escape not in text:
        return Expanded(value=text, unset_variables=frozenset())  # the common, plain word
    lexer = _Lexer(text=text, env=env, escape=escape)
    value = lexer.word()
    return Expanded(value=value, unset_variables=frozenset(lexer.unset))
