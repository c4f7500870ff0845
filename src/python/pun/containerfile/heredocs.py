"""Which heredocs an instruction line opens (`RUN <<EOF`, `COPY <<-"A" <<B /dst/`).

BuildKit v0.32.2 `frontend/dockerfile/parser/parser.go` (heredocsFromLine, heredocFromMatch)
splits the line into words with its shell lexer (`frontend/dockerfile/shell/lex.go`: quotes and
escapes kept, `$VAR` left unexpanded) and takes each word that matches `^(\\d*)<<(-?)\\s*([^<]*)$`;
the name is that word's rest, lexed again without quotes. Only what that needs of the lexer is
here. Imported only for lines with `<<` in them.
"""

from __future__ import annotations

from pun.containerfile.nodes import go_quote
from pun.gostrings import GO_SPACE as _SPACE

TYPE_CHECKING = False  # typing is imported for mypy only: see pun.records
if TYPE_CHECKING:
    from typing import List, Optional, Tuple

_EOF = ""
_SPECIAL_PARAMS = "@*#?-$!0"  # lex.go isSpecialParam


class LexError(ValueError):
    pass


def heredocs_in_line(line: str) -> List[Tuple[str, int, bool, bool]]:
    """(name, file descriptor, chomp, expand) of each heredoc the line opens, in order."""
    try:
        words = _Lexer(line, raw_quotes=True, raw_escapes=True).words()
    except LexError:
        return []  # heredocsFromLine ignores the lexer's errors: no heredocs then
    found = []
    for word in words:
        heredoc = _heredoc(word)
        if heredoc is not None:
            found.append(heredoc)
    return found


def _heredoc(word: str) -> Optional[Tuple[str, int, bool, bool]]:
    digits = 0
    while digits < len(word) and "0" <= word[digits] <= "9":
        digits += 1
    if not word.startswith("<<", digits):
        return None
    rest = word[digits + 2 :]
    chomp = rest.startswith("-")
    if chomp:
        rest = rest[1:]
    rest = rest.lstrip("\t\n\f\r ")  # Go's `\s`
    if not rest or "<" in rest:
        return None
    descriptor = min(int(word[:digits]), 2**64 - 1) if digits else 0
    words = _Lexer(rest, raw_quotes=False, raw_escapes=False).words()
    if len(words) != 1:
        return None
    raw = _Lexer(rest, raw_quotes=True, raw_escapes=False).words()
    if len(raw) != 1:
        raise LexError(f"internal lexing of heredoc produced inconsistent results: {rest}")
    quotes = words[0].count("'") + words[0].count('"')
    raw_quotes = raw[0].count("'") + raw[0].count('"')
    return words[0], descriptor, chomp, quotes == raw_quotes


class _Words:
    """lex.go wordsStruct. Its buffer belongs to the lexer and every nested processStopOn
    empties it (a quirk kept: it decides what a word after `${x:-y}` holds)."""

    __slots__ = ("lexer", "words", "in_word")

    def __init__(self, lexer: "_Lexer") -> None:
        self.lexer = lexer
        self.words: List[str] = []
        self.in_word = False

    def add_char(self, ch: str) -> None:
        buffer = self.lexer.buffer
        if ch in _SPACE:
            if self.in_word and buffer:
                self.words.append("".join(buffer))
                buffer.clear()
                self.in_word = False
        else:
            buffer.append(ch)
            self.in_word = True

    def add_raw(self, text: str) -> None:
        self.lexer.buffer.append(text)
        self.in_word = True

    def get(self) -> List[str]:
        buffer = self.lexer.buffer
        if buffer:
            self.words.append("".join(buffer))
            buffer.clear()
            self.in_word = False
        return self.words


class _Lexer:
    """lex.go Lex with SkipUnsetEnv and no variables: `$X` stays `$X`. Escape token `\\`
    (heredocsFromLine uses the default one, whatever the escape directive says)."""

    def __init__(self, text: str, raw_quotes: bool, raw_escapes: bool) -> None:
        self.source = text
        if text.startswith("\ufeff"):  # text/scanner skips a leading byte-order mark
            text = text[1:]
        self.text = text
        self.pos = 0
        self.raw_quotes = raw_quotes
        self.raw_escapes = raw_escapes
        self.buffer: List[str] = []

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else _EOF

    def next(self) -> str:
        ch = self.peek()
        if ch:
            self.pos += 1
        return ch

    def words(self) -> List[str]:
        try:
            return self.stop_on(_EOF, self.raw_escapes)[1]
        except LexError as exc:  # lex.go process wraps its errors so
            raise LexError(f"failed to process {go_quote(self.source)}: {exc}") from None

    def stop_on(self, stop: str, raw_escapes: bool) -> Tuple[str, List[str]]:
        """processStopOn: up to `stop` (consumed) or the end."""
        saved = self.raw_escapes
        self.raw_escapes = raw_escapes
        try:
            return self._stop_on(stop)
        finally:
            self.raw_escapes = saved

    def _stop_on(self, stop: str) -> Tuple[str, List[str]]:
        result: List[str] = []
        self.buffer.clear()
        words = _Words(self)
        while self.peek() != _EOF:
            ch = self.peek()
            if stop and ch == stop:
                self.next()
                return "".join(result), words.get()
            if ch == "$":
                text = self.dollar()
                result.append(text)
                for char in text:
                    words.add_char(char)
            elif ch in "<'\"":
                text = self.heredoc_marker() if ch == "<" else self.quoted(ch)
                result.append(text)
                words.add_raw(text)
            else:
                ch = self.next()
                if ch == "\\":
                    if self.raw_escapes:
                        words.add_raw(ch)
                        result.append(ch)
                    ch = self.next()
                    if ch == _EOF:
                        break
                    words.add_raw(ch)
                else:
                    words.add_char(ch)
                result.append(ch)
        if stop:
            raise LexError(f"unexpected end of statement while looking for matching {stop}")
        return "".join(result), words.get()

    def quoted(self, quote: str) -> str:
        """processSingleQuote / processDoubleQuote."""
        opening = self.next()
        out = [opening] if self.raw_quotes else []
        while True:
            ch = self.peek()
            if ch == _EOF:
                kind = "single-quote" if quote == "'" else "double-quote"
                raise LexError(f"unexpected end of statement while looking for matching {kind}")
            if ch == quote:
                self.next()
                if self.raw_quotes:
                    out.append(ch)
                return "".join(out)
            if quote == '"' and ch == "$":
                out.append(self.dollar())
                continue
            ch = self.next()
            if quote == '"' and ch == "\\":
                if self.raw_escapes:
                    out.append(ch)
                following = self.peek()
                if following == _EOF:
                    continue
                if following in '"$\\':
                    ch = self.next()
            out.append(ch)

    def heredoc_marker(self) -> str:
        """processPossibleHeredoc: `<<` keeps the spaces after it in its word."""
        self.next()
        if self.peek() != "<":
            return "<"
        self.next()
        start = self.pos
        while self.peek() in ("\t", "\r", " ") and self.peek():
            self.next()
        return "<<" + self.text[start : self.pos]

    def dollar(self) -> str:
        """processDollar with every variable unset and SkipUnsetEnv: the text is rebuilt."""
        self.next()
        if self.peek() != "{":
            name = self.name()
            return "$" + name
        self.next()
        ch = self.peek()
        if ch == _EOF:
            raise LexError("syntax error: missing '}'")
        if ch in "{}:":
            raise LexError("syntax error: bad substitution")
        name = self.name()
        ch = self.next()
        modifier = ch if ch else "\ufffd"
        if ch == "}":
            return "${" + name + "}"
        null_is_unset = False
        if ch == ":":
            null_is_unset = True
            ch = self.next()
            modifier += ch if ch else "\ufffd"
        if null_is_unset or ch in ("+", "-", "?", "#", "%"):
            raw = ch in ("#", "%")
            if null_is_unset and raw:
                raise LexError(f"unsupported modifier ({modifier}) in substitution")
            word = self._nested("}", raw, "syntax error: missing '}'")
            return "${" + name + modifier + word + "}"
        if ch == "/":
            if self.peek() == "/":
                self.next()
            pattern = self._nested("/", True, "syntax error: missing '/' in ${}")
            replacement = self._nested("}", True, "syntax error: missing '}'")
            return "${" + name + "/" + pattern + "/" + replacement + "}"
        raise LexError(f"unsupported modifier ({modifier}) in substitution")

    def _nested(self, stop: str, raw_escapes: bool, at_end: str) -> str:
        try:
            return self.stop_on(stop, raw_escapes)[0]
        except LexError:
            if self.peek() == _EOF:
                raise LexError(at_end) from None
            raise

    def name(self) -> str:
        """processName: letters, digits and `_`; or digits; or one special parameter."""
        start = self.pos
        ch = self.peek()
        if ch and ch.isdecimal():
            while self.peek() and self.peek().isdecimal():
                self.next()
            return self.text[start : self.pos]
        if ch and ch in _SPECIAL_PARAMS:
            self.next()
            return ch
        while True:  # Go's IsLetter, IsDigit: Python's isalnum would add other numerics
            ch = self.peek()
            if not ch or not (ch.isalpha() or ch.isdecimal() or ch == "_"):
                break
            self.next()
        return self.text[start : self.pos]
