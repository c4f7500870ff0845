"""Dockerfile word rules: quote removal, escapes and `$VAR` expansion.

Follows BuildKit's shell lexer (`frontend/dockerfile/shell/lex.go`, ProcessWord) for the
non-Windows case, so that a LABEL or COPY path means here what it means to `docker build`.
"""

from __future__ import annotations

from pun.records import Record

TYPE_CHECKING = False  # typing is imported for mypy only: see pun.records
if TYPE_CHECKING:
    import re
    from typing import List, Mapping, Set

_SPECIAL = frozenset("'\"$")
# POSIX special parameters: `$$`, `$#`, ... name a (never set) variable of one character.
_SPECIAL_PARAMS = frozenset("@*#?-$!0")


class WordError(ValueError):
    pass


class _Lexer:
    def __init__(self, text: str, env: Mapping[str, str], escape: str) -> None:
        self.text, self.env, self.escape = text, env, escape
        self.pos = 0
        self.unset: Set[str] = set()
        # Every variable read and not set, with or without a modifier (`${X:-d}` too): where a
        # base image's Env could have given it a value.
        self.missing: Set[str] = set()
        # Patterns (`${v#pat}`, `${v/pat/rep}`) keep their escapes, for the pattern matcher.
        self.raw_escapes = False

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
                if self.raw_escapes:
                    out.append(ch)
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
                if self.raw_escapes:
                    out.append(ch)
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
        """A variable name: letters, digits and `_`; or only digits (`$1`); or one special
        parameter character (`$$`, `$#`, ...), like BuildKit's processName."""
        text, start = self.text, self.pos
        if start < len(text) and text[start].isdecimal():
            while self.pos < len(text) and text[self.pos].isdecimal():
                self.pos += 1
            return text[start : self.pos]
        if start < len(text) and text[start] in _SPECIAL_PARAMS:
            self.pos += 1
            return text[start]
        while self.pos < len(text) and (
            text[self.pos].isalpha() or text[self.pos].isdecimal() or text[self.pos] == "_"
        ):
            self.pos += 1
        return text[start : self.pos]

    def braced(self) -> str:
        ch = self.peek()
        if not ch:
            raise WordError("syntax error: missing '}'")
        if ch in "{}:":
            raise WordError("syntax error: bad substitution")
        name = self.name()
        ch = self.next()
        if ch == "}":
            return self.lookup(name)
        if ch == "/":
            return self.replaced(name)
        modifier = ch
        if ch == ":":
            ch = self.next()
            modifier += ch
            if ch not in ("-", "+", "?"):
                raise WordError(f"unsupported modifier ({modifier}) in substitution")
        elif ch not in ("-", "+", "?", "#", "%"):
            raise WordError(f"unsupported modifier ({ch or 'end of word'}) in substitution")
        operand = self.operand(stop="}", raw=ch in "#%")
        value = self.env.get(name)
        if value is None:
            self.note_missing(name)
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
        if modifier in ("#", "%"):
            greedy = operand.startswith(modifier)
            pattern = operand[1:] if greedy else operand
            if modifier == "#":
                return _trim_prefix(pattern, value or "", greedy)
            return _trim_suffix(pattern, value or "", greedy)
        # ? and :? fail when the variable is unset (or empty, for :?)
        if not present:
            raise WordError(f"{name}: {operand or 'is not allowed to be unset'}")
        if modifier == ":?" and not non_empty:
            raise WordError(f"{name}: {operand or 'is not allowed to be empty'}")
        return value or ""

    def replaced(self, name: str) -> str:
        """`${name/pattern/replacement}` (first match) and `${name//pattern/replacement}`."""
        replace_all = self.peek() == "/"
        if replace_all:
            self.next()
        pattern = self.operand(stop="/", raw=True, missing="syntax error: missing '/' in ${}")
        replacement = self.operand(stop="}", raw=True)
        if name not in self.env:
            self.note_missing(name)
        value = self.env.get(name) or ""
        matcher = _shell_pattern(pattern, greedy=True, anchored=False)
        if replace_all:
            return matcher.sub(lambda _: replacement, value)
        return matcher.sub(lambda _: replacement, value, count=1)

    def operand(self, stop: str, raw: bool, missing: str = "syntax error: missing '}'") -> str:
        """The word after a modifier, up to and without `stop`."""
        saved, self.raw_escapes = self.raw_escapes, raw
        try:
            operand = self.word(stop=stop)
        finally:
            self.raw_escapes = saved
        if self.next() != stop:
            raise WordError(missing)
        return operand

    def lookup(self, name: str) -> str:
        value = self.env.get(name)
        if value is None:
            if self.note_missing(name):
                self.unset.add(name)
            return ""
        return value

    def note_missing(self, name: str) -> bool:
        """Record a variable read and not set; False for `$1`, `$$` (never set, by anyone)."""
        if not name or name[0].isdecimal() or name in _SPECIAL_PARAMS:
            return False
        self.missing.add(name)
        return True


def _shell_pattern(pattern: str, greedy: bool, anchored: bool) -> "re.Pattern[str]":
    """A `${v#pattern}` pattern as a regex: `*` any string (shortest unless greedy), `?` one
    character, `\\` escapes `*`, `?` and itself (and is dropped before `}` and `/`)."""
    import re  # only for `${v#...}`-style words: `pun --LLB` usually needs no regex

    out = ["^"] if anchored else []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        i += 1
        if ch == "*":
            out.append(".*" if greedy else ".*?")
        elif ch == "?":
            out.append(".")
        elif ch == "\\":
            if i < len(pattern) and pattern[i] in "}/":
                continue
            escaped = pattern[i] if i < len(pattern) else ""
            if escaped not in ("*", "?", "\\") or not escaped:
                raise WordError(
                    f"invalid pattern ({pattern}) in substitution: invalid escape " f"'\\{escaped}'"
                )
            out.append(re.escape(escaped))
            i += 1
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out), re.DOTALL)


def _trim_prefix(pattern: str, value: str, greedy: bool) -> str:
    match = _shell_pattern(pattern, greedy, anchored=True).search(value)
    return value[match.end() :] if match else value


def _trim_suffix(pattern: str, value: str, greedy: bool) -> str:
    # The shortest match at the end is the shortest match at the start of the reversed
    # value, with the pattern reversed (escapes kept in front of what they escape).
    return _trim_prefix(_reverse_pattern(pattern), value[::-1], greedy)[::-1]


def _reverse_pattern(pattern: str) -> str:
    parts: List[str] = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern):
            parts.append(pattern[i : i + 2])
            i += 2
        else:
            parts.append(pattern[i])
            i += 1
    return "".join(reversed(parts))


class Expanded(Record):
    value: str
    unset_variables: "frozenset[str]"
    missing_variables: "frozenset[str]" = frozenset()


def process_word(text: str, env: Mapping[str, str], escape: str = "\\") -> Expanded:
    """Remove quotes and escapes and expand variables in one Dockerfile word."""
    if not _SPECIAL.intersection(text) and escape not in text:
        return Expanded(value=text, unset_variables=frozenset())  # the common, plain word
    lexer = _Lexer(text=text, env=env, escape=escape)
    value = lexer.word()
    return Expanded(
        value=value,
        unset_variables=frozenset(lexer.unset),
        missing_variables=frozenset(lexer.missing),
    )
