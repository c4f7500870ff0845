"""Containerfile text -> instructions, by the rules of BuildKit's Dockerfile parser.

A pure-Python reading of `frontend/dockerfile/parser` at BuildKit v0.32.2 (parser.go,
split_command.go, line_parsers.go, directives.go; one line's node: `nodes.py`, heredoc
words: `heredocs.py`): parser
directives, line continuations with the escape token, comments and empty lines inside
continuations, flags, the JSON and shell forms of each instruction, heredocs, and the same
error messages. It replaces the Go-compiled `dockerfile` package (BuildKit v0.12.5 inside) on
`pun --LLB`'s hot path: loading that one starts a Go runtime. The tests hold the two to each
other instruction by instruction, except where BuildKit changed between those versions (the
differences are listed in tests/python/pun/containerfile/test_splitter.py).

What a result holds is what that package hands to Python (`dockerfile.Command`), with one
difference: ENV and LABEL values are key, value pairs (v0.24+ adds a separator node after
each pair; nothing here needs to know whether `=` was written).
"""

from __future__ import annotations

from pun.containerfile.nodes import Node, SplitError, node_from_line
from pun.gostrings import GO_SPACE
from pun.records import Record

TYPE_CHECKING = False  # typing is imported for mypy only: see pun.records
if TYPE_CHECKING:
    from typing import List, Optional, Tuple

# bufio.Scanner's default limit (parser.go handleScannerError).
MAX_LINE_BYTES = 64 * 1024 - 1
_DIRECTIVES = frozenset({"syntax", "escape", "check"})  # directives.go validDirectives


class Heredoc(Record):
    name: str
    file_descriptor: int
    chomp: bool  # `<<-`: leading tabs are stripped (from the terminator line, here)
    expand: bool  # the name was not quoted: the content's variables expand
    content: str


class Instruction(Record):
    cmd: str  # as written ("" for a line that is only a continuation)
    sub_cmd: Optional[str]  # ONBUILD's instruction, as written
    json: bool
    original: str  # the instruction's text, continuation lines joined
    start_line: int
    end_line: int  # the last line, heredoc bodies included
    flags: Tuple[str, ...]
    value: Tuple[str, ...]
    heredocs: Tuple[Heredoc, ...]


class Split(Record):
    instructions: Tuple[Instruction, ...]
    escape: str
    directives: Tuple[Tuple[str, str], ...]  # (lower-case name, value), in file order


def split_instructions(text: str) -> Split:
    return _Splitter(text).run()


def leading_directives(text: str) -> Tuple[str, Tuple[Tuple[str, str], ...]]:
    """The escape token and the parser directives, without splitting the rest."""
    splitter = _Splitter(text)
    while not splitter.directives_done:
        raw = splitter.read()
        if raw is None:
            break
        splitter.directive(raw.rstrip("\r\n").lstrip(GO_SPACE))
    return splitter.escape, tuple(splitter.directives)


class _Splitter:
    def __init__(self, text: str) -> None:
        if text.startswith("\ufeff"):  # parser.go discardBOM, first line only
            text = text[1:]
        lines = text.split("\n")
        self.ends_with_newline = lines[-1] == ""
        if self.ends_with_newline:
            lines.pop()
        self.lines = lines
        self.next = 0  # index of the next physical line to read
        self.too_long = False
        self.escape = "\\"
        self.directives: List[Tuple[str, str]] = []
        self.directives_done = False

    def read(self) -> Optional[str]:
        """The next physical line with its "\\n" (if it had one), like bufio.Scanner with
        parser.go's scanLines; None at the end or at a line too long for the scanner."""
        if self.next == len(self.lines) or self.too_long:
            return None
        line = self.lines[self.next]
        if len(line) > MAX_LINE_BYTES // 4 and len(line.encode("utf-8")) > MAX_LINE_BYTES:
            self.too_long = True
            return None
        self.next += 1
        if self.next < len(self.lines) or self.ends_with_newline:
            return line + "\n"
        return line

    def directive(self, token: str) -> None:
        """directives.go DirectiveParser.ParseLine: directives are the leading `#` lines; the
        first line that is not one ends them."""
        if self.directives_done:
            return
        if not token.startswith("#"):
            self.directives_done = True
            return
        found = _match_directive(token[1:].lstrip(GO_SPACE))
        if found is None or found[0] not in _DIRECTIVES:
            self.directives_done = True
            return
        name, value = found
        if any(seen == name for seen, _ in self.directives):
            raise SplitError(f"only one {name} parser directive can be used", self.next)
        self.directives.append((name, value))
        if name == "escape":  # parser.go setEscapeToken
            if value not in ("`", "\\"):
                raise SplitError(
                    f"invalid escape token '{value}' does not match ` or \\", self.next
                )
            self.escape = value

    def run(self) -> Split:
        instructions: List[Instruction] = []
        while True:
            raw = self.read()
            if raw is None:
                break
            token = raw.rstrip("\r\n").lstrip(GO_SPACE)  # processLine(..., true)
            self.directive(token)
            if token.startswith("#"):
                continue
            start = self.next
            line, ended = _trim_continuation(token, self.escape)
            if ended and not line:
                continue
            parts = [line]
            while not ended:
                raw = self.read()
                if raw is None:
                    break
                token = raw.rstrip("\r\n")
                self.directive(token)
                stripped = token.lstrip(GO_SPACE)
                if stripped.startswith("#") or not stripped:
                    continue  # a comment, or an empty continuation line (BuildKit warns)
                line, ended = _trim_continuation(token, self.escape)
                parts.append(line)
            line = "".join(parts)
            try:
                node = node_from_line(line, self.escape)
            except SplitError as exc:
                raise SplitError(str(exc), start) from None
            heredocs: Tuple[Heredoc, ...] = ()
            if node.can_contain_heredoc() and "<<" in line:
                heredocs = self.heredoc_bodies(line, start)
            instructions.append(_instruction(node, line, start, self.next, heredocs))
        if not instructions:
            raise SplitError("file with no instructions", self.next)
        if self.too_long:
            raise SplitError(
                f"dockerfile line greater than max allowed size of {MAX_LINE_BYTES}",
                self.next + 1,
            )
        return Split(tuple(instructions), self.escape, tuple(self.directives))

    def heredoc_bodies(self, line: str, start: int) -> Tuple[Heredoc, ...]:
        from pun.containerfile.heredocs import LexError, heredocs_in_line

        try:
            found = heredocs_in_line(line)
        except LexError as exc:
            raise SplitError(str(exc), start) from None
        bodies = []
        for name, descriptor, chomp, expand in found:
            content = []
            while True:
                raw = self.read()
                if raw is None:
                    raise SplitError("unterminated heredoc", start)
                candidate = raw.rstrip("\r\n")
                if chomp:
                    candidate = candidate.lstrip("\t")
                if candidate == name:
                    break
                content.append(raw)
            bodies.append(Heredoc(name, descriptor, chomp, expand, "".join(content)))
        return tuple(bodies)


def _match_directive(text: str) -> Optional[Tuple[str, str]]:
    """directives.go directiveRegexp `^([a-zA-Z][a-zA-Z0-9]*)\\s*=\\s*(.+?)\\s*$` (Go's
    `\\s` is ASCII: tab, newline, form feed, carriage return, space)."""
    end = 0
    while end < len(text) and (text[end].isascii() and (text[end].isalnum())):
        end += 1
    if end == 0 or not text[0].isalpha():
        return None
    name = text[:end]
    rest = text[end:].lstrip("\t\n\f\r ")
    if not rest.startswith("="):
        return None
    after = rest[1:]
    value = after.strip("\t\n\f\r ")
    if not value:
        if not after:
            return None
        value = after[-1]  # `(.+?)` takes one character even when all are spaces
    return name.lower(), value


def _trim_continuation(line: str, escape: str) -> Tuple[str, bool]:
    """parser.go trimContinuationCharacter: `([^E])E[ \\t]*$|^E[ \\t]*$` for the escape token
    E. Returns the line without it, and whether the instruction ends on this line. (An escaped
    escape token before the end, `\\\\`, is not a continuation.)"""
    body = line.rstrip(" \t")
    if not body.endswith(escape):
        return line, True
    if len(body) == 1:
        return "", False
    if body[-2] == escape:
        return line, True
    return body[:-1], False


def _instruction(
    node: Node, line: str, start: int, end: int, heredocs: Tuple[Heredoc, ...]
) -> Instruction:
    # The Python package's shape (asottile/dockerfile parse.go): ONBUILD's own flags, its
    # instruction's values.
    inner = node.sub if node.sub is not None else node
    return Instruction(
        cmd=node.cmd,
        sub_cmd=node.sub.cmd if node.sub is not None else None,
        json=inner.json,
        original=line,
        start_line=start,
        end_line=end,
        flags=node.flags,
        value=inner.values,
        heredocs=heredocs,
    )
