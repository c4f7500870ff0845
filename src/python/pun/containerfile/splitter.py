"""Containerfile text -> instructions, by the rules of BuildKit's Dockerfile parser.

A pure-Python reading of `frontend/dockerfile/parser` at BuildKit v0.32.2 (parser.go,
split_command.go, line_parsers.go, directives.go; heredoc words: `heredocs.py`): parser
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

from pun.records import Record

TYPE_CHECKING = False  # typing is imported for mypy only: see pun.records
if TYPE_CHECKING:
    from typing import Callable, Dict, List, Optional, Tuple

# Go's unicode.IsSpace (Latin-1 spaces, then the White_Space property): Python's str.isspace
# also counts U+001C..U+001F, which Go does not.
GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)
# parser.go reWhitespace `[\t\v\f\r ]+`, the separator of whitespace-delimited arguments.
_ARG_SPACE = "\t\v\f\r "
_TO_BLANK = str.maketrans({c: " " for c in _ARG_SPACE})
# unicode.IsSpace(rune(b)) for one byte, as split_command.go and parseHealthConfig test bytes.
_SPACE_BYTES = frozenset(b"\t\n\v\f\r \x85\xa0")
# bufio.Scanner's default limit (parser.go handleScannerError).
MAX_LINE_BYTES = 64 * 1024 - 1
_HEREDOC_COMMANDS = frozenset({"add", "copy", "run"})  # parser.go heredocDirectives
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


class SplitError(ValueError):
    """BuildKit's parse error, with its message text, at `line` (1-based)."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


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
                node = _node(line, self.escape)
            except SplitError as exc:
                raise SplitError(str(exc), start) from None
            heredocs: Tuple[Heredoc, ...] = ()
            if node.can_contain_heredoc() and "<<" in line:
                heredocs = self.heredoc_bodies(line, start)
            instructions.append(node.instruction(line, start, self.next, heredocs))
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


def go_lower(word: str) -> str:
    """Go's strings.ToLower, which maps rune by rune (Python's U+0130 gives two characters)."""
    if word.isascii():
        return word.lower()
    return "".join("i" if c == "\u0130" else c.lower() for c in word)


def split_args(text: str, limit: int = 0) -> List[str]:
    """reWhitespace.Split(text, -1 or 2) on text without leading or trailing whitespace."""
    if limit == 2:
        for index, char in enumerate(text):
            if char in _ARG_SPACE:
                rest = text[index:].lstrip(_ARG_SPACE)
                return [text[:index], rest]
        return [text]
    return [word for word in text.translate(_TO_BLANK).split(" ") if word]


class _Node:
    """What newNodeFromLine makes of one instruction line (ONBUILD: its instruction inside)."""

    __slots__ = ("cmd", "flags", "values", "json", "sub")

    def __init__(self, cmd: str, flags: Tuple[str, ...]) -> None:
        self.cmd = cmd
        self.flags = flags
        self.values: Tuple[str, ...] = ()
        self.json = False
        self.sub: Optional[_Node] = None

    def can_contain_heredoc(self) -> bool:  # parser.go canContainHeredoc
        node = self.sub if self.sub is not None else self
        return go_lower(node.cmd) in _HEREDOC_COMMANDS and not node.json

    def instruction(
        self, line: str, start: int, end: int, heredocs: Tuple[Heredoc, ...]
    ) -> Instruction:
        # The Python package's shape (asottile/dockerfile parse.go): ONBUILD's own flags, its
        # instruction's values.
        inner = self.sub if self.sub is not None else self
        return Instruction(
            cmd=self.cmd,
            sub_cmd=self.sub.cmd if self.sub is not None else None,
            json=inner.json,
            original=line,
            start_line=start,
            end_line=end,
            flags=self.flags,
            value=inner.values,
            heredocs=heredocs,
        )


def _node(line: str, escape: str) -> _Node:
    """split_command.go splitCommand, then the instruction's line parser (parser.go dispatch)."""
    words = split_args(line.strip(GO_SPACE), 2)
    flags: Tuple[str, ...] = ()
    args = ""
    if len(words) == 2:
        args, flags = _builder_flags(words[1], escape)
    node = _Node(words[0], flags)
    parse = _DISPATCH.get(go_lower(words[0]), _parse_ignore)
    parse(node, args.strip(GO_SPACE), escape)
    return node


def _builder_flags(line: str, escape: str) -> Tuple[str, Tuple[str, ...]]:
    """split_command.go extractBuilderFlags: the leading `--name=value` words, and the rest.
    It walks bytes, not characters: a non-ASCII byte in a flag becomes the Latin-1 character
    of that value (`--chown=ü` gives "--chown=Ã¼"), and bytes 0x85 and 0xA0 count as spaces."""
    if not line.startswith("--"):
        return line, ()
    data = line.encode("utf-8")
    esc = ord(escape)
    words: List[str] = []
    word = bytearray()
    in_quote = False
    in_word = False
    quote = 0
    blank_ok = False
    pos = 0
    n = len(data)
    while pos <= n:
        ch = data[pos] if pos < n else 0
        if not in_word and not in_quote:
            if pos == n:
                break
            if ch in _SPACE_BYTES:
                pos += 1
                continue
            if ch != 0x2D or pos + 1 == n or data[pos + 1] != 0x2D:  # "--"
                return _rest(data, pos), tuple(words)
            in_word = True
        if pos == n:
            text = word.decode("latin-1")
            if text != "--" and (blank_ok or text):
                words.append(text)
            break
        if in_word:
            if ch in _SPACE_BYTES:
                text = word.decode("latin-1")
                in_word = False
                if text == "--":
                    return _rest(data, pos), tuple(words)
                if blank_ok or text:
                    words.append(text)
                word = bytearray()
                blank_ok = False
                pos += 1
                continue
            if ch in (0x22, 0x27):
                quote, blank_ok, in_word, in_quote = ch, True, False, True
                pos += 1
                continue
            if ch == esc:
                if pos + 1 == n:
                    pos += 1
                    continue
                pos += 1
                ch = data[pos]
            word.append(ch)
            pos += 1
            continue
        # in a quote
        if ch == quote:
            in_quote, in_word = False, True
            pos += 1
            continue
        if ch == esc:
            if pos + 1 == n:
                in_quote, in_word = False, True
                pos += 1
                continue
            pos += 1
            ch = data[pos]
        word.append(ch)
        pos += 1
    return "", tuple(words)


def _rest(data: bytes, pos: int) -> str:
    return _go_text(data[pos:])


def _go_text(data: bytes) -> str:
    """Bytes that BuildKit cut inside a character (at a 0x85/0xA0 byte it took for a space):
    it goes on with the invalid UTF-8; here such bytes read as U+FFFD, as Go's JSON shows them."""
    return data.decode("utf-8", "replace")


# -- line parsers (line_parsers.go) --------------------------------------------------------


def _parse_ignore(node: _Node, rest: str, escape: str) -> None:
    node.values = ("",)  # an unknown instruction: one empty node, as parseIgnore returns


def _parse_sub_command(node: _Node, rest: str, escape: str) -> None:
    if rest:
        node.sub = _node(rest, escape)
        node.values = ("",)  # the node that holds the instruction has an empty value


def parse_words(rest: str, escape: str) -> List[str]:
    """line_parsers.go parseWords: split on spaces outside quotes, keeping quotes and escape
    tokens in the words (they are removed later, when the words are expanded)."""
    words: List[str] = []
    word: List[str] = []
    in_word = in_quote = blank_ok = False
    quote = ""
    pos = 0
    n = len(rest)
    while pos <= n:
        ch = rest[pos] if pos < n else ""
        if not in_word and not in_quote:
            if pos == n:
                break
            if ch in GO_SPACE:
                pos += 1
                continue
            in_word = True
        if pos == n:
            if blank_ok or word:
                words.append("".join(word))
            break
        if in_word:
            if ch in GO_SPACE:
                in_word = False
                if blank_ok or word:
                    words.append("".join(word))
                word = []
                blank_ok = False
                pos += 1
                continue
            if ch == "'" or ch == '"':
                quote, blank_ok, in_word, in_quote = ch, True, False, True
            if ch == escape:
                if pos + 1 == n:
                    pos += 1
                    continue
                word.append(ch)
                pos += 1
                ch = rest[pos]
            word.append(ch)
            pos += 1
            continue
        # in a quote
        if ch == quote:
            in_quote, in_word = False, True
        if ch == escape and quote != "'":
            if pos + 1 == n:
                in_quote, in_word = False, True
                pos += 1
                continue
            pos += 1
            word.append(ch)
            ch = rest[pos]
        word.append(ch)
        pos += 1
    return words


def _parse_env(node: _Node, rest: str, escape: str) -> None:
    _parse_name_val(node, rest, escape, "ENV")


def _parse_label(node: _Node, rest: str, escape: str) -> None:
    _parse_name_val(node, rest, escape, "LABEL")


def _parse_name_val(node: _Node, rest: str, escape: str, key: str) -> None:
    """parseNameVal (ENV, LABEL): `KEY name value` or `KEY a=b c=d ...`."""
    words = parse_words(rest, escape)
    if not words:
        return
    if "=" not in words[0]:
        parts = split_args(rest, 2)
        if len(parts) < 2:
            raise SplitError(f"{key} must have two arguments", 0)
        node.values = (parts[0], parts[1])
        return
    values: List[str] = []
    for word in words:
        name, has_equals, value = word.partition("=")
        if not has_equals:
            raise SplitError(
                f"Syntax error - can't find = in {go_quote(word)}. "
                "Must be of the form: name=value",
                0,
            )
        values += (name, value)
    node.values = tuple(values)


def _parse_name_or_name_val(node: _Node, rest: str, escape: str) -> None:
    node.values = tuple(parse_words(rest, escape))  # ARG


def _parse_whitespace_delimited(node: _Node, rest: str, escape: str) -> None:
    node.values = tuple(split_args(rest)) if rest else ()


def _parse_string(node: _Node, rest: str, escape: str) -> None:
    node.values = (rest,) if rest else ()


def _parse_maybe_json(node: _Node, rest: str, escape: str) -> None:
    if not rest:
        return
    found = _json_strings(rest)
    if found is None:
        node.values = (rest,)
    else:
        node.values, node.json = found, True


def _parse_maybe_json_to_list(node: _Node, rest: str, escape: str) -> None:
    found = _json_strings(rest)
    if found is None:
        _parse_whitespace_delimited(node, rest, escape)
    else:
        node.values, node.json = found, True


def _parse_health_config(node: _Node, rest: str, escape: str) -> None:
    """parseHealthConfig: the type word (found byte by byte), then CMD's arguments."""
    data = rest.encode("utf-8")
    sep = 0
    while sep < len(data) and data[sep] not in _SPACE_BYTES:
        sep += 1
    after = sep
    while after < len(data) and data[after] in _SPACE_BYTES:
        after += 1
    if sep == 0:
        return
    kind, command = _go_text(data[:sep]), _go_text(data[after:])
    inner = _Node("", ())
    _parse_maybe_json(inner, command, escape)
    node.values, node.json = (kind, *inner.values), inner.json


class _NotStrings(Exception):
    pass


def _json_strings(rest: str) -> Optional[Tuple[str, ...]]:
    """parseJSON: the strings of a JSON array (Go's json.Unmarshal into []any), or None when
    the text is not one (the caller then reads the shell form). An array with anything but
    strings in it is an error."""
    rest = rest.lstrip(GO_SPACE)
    if not rest.startswith("["):
        return None
    import json  # only for JSON forms: the common Containerfile has none

    try:
        parsed = json.loads(
            rest, parse_constant=_no_constant, parse_float=_go_float, parse_int=_go_float
        )
    except (ValueError, RecursionError):
        return None
    if not all(isinstance(item, str) for item in parsed):
        raise SplitError(
            "when using JSON array syntax, arrays must be comprised of strings only", 0
        )
    return tuple(_without_lone_surrogates(item) for item in parsed)


def _no_constant(name: str) -> None:
    raise ValueError(name)  # NaN, Infinity: Python extensions, not JSON


def _go_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(text)  # Go: "cannot unmarshal number ... into float64"
    return value


def _without_lone_surrogates(text: str) -> str:
    """Go's JSON decoder turns a `\\uD800` without its pair into U+FFFD; Python keeps it."""
    if text.isascii():
        return text
    return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)


def go_quote(text: str) -> str:
    """Go's %q of a string (strconv.Quote), for error messages."""
    out = ['"']
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif char.isprintable() and code != 0xAD:
            out.append(char)
        elif char in _GO_ESCAPES:
            out.append(_GO_ESCAPES[char])
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


_GO_ESCAPES = {c: "\\" + e for c, e in zip("\a\b\f\n\r\t\v", "abfnrtv")}

_DISPATCH: Dict[str, Callable[[_Node, str, str], None]] = {
    "add": _parse_maybe_json_to_list,
    "arg": _parse_name_or_name_val,
    "cmd": _parse_maybe_json,
    "copy": _parse_maybe_json_to_list,
    "entrypoint": _parse_maybe_json,
    "env": _parse_env,
    "expose": _parse_whitespace_delimited,
    "from": _parse_whitespace_delimited,
    "healthcheck": _parse_health_config,
    "label": _parse_label,
    "maintainer": _parse_string,
    "onbuild": _parse_sub_command,
    "run": _parse_maybe_json,
    "shell": _parse_maybe_json,
    "stopsignal": _parse_string,
    "user": _parse_string,
    "volume": _parse_maybe_json_to_list,
    "workdir": _parse_string,
}
