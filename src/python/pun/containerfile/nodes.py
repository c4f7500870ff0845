"""One instruction line -> a node, by BuildKit's rules: split_command.go (the instruction word
and its `--flags`) and line_parsers.go (each instruction's own argument rules: JSON and shell
forms, name=value pairs, words), at BuildKit v0.32.2. The line-by-line reading around it
(continuations, directives, heredoc bodies) is pun.containerfile.splitter.
"""

from __future__ import annotations

from pun.gostrings import GO_SPACE

TYPE_CHECKING = False  # typing is imported for mypy only: see pun.records
if TYPE_CHECKING:
    from typing import Callable, Dict, List, Optional, Tuple


class SplitError(ValueError):
    """BuildKit's parse error, with its message text, at `line` (1-based)."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


# parser.go reWhitespace `[\t\v\f\r ]+`, the separator of whitespace-delimited arguments.
_ARG_SPACE = "\t\v\f\r "
_TO_BLANK = str.maketrans({c: " " for c in _ARG_SPACE})
# unicode.IsSpace(rune(b)) for one byte, as split_command.go and parseHealthConfig test bytes.
_SPACE_BYTES = frozenset(b"\t\n\v\f\r \x85\xa0")
_HEREDOC_COMMANDS = frozenset({"add", "copy", "run"})  # parser.go heredocDirectives


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


class Node:
    """What newNodeFromLine makes of one instruction line (ONBUILD: its instruction inside)."""

    __slots__ = ("cmd", "flags", "values", "json", "sub")

    def __init__(self, cmd: str, flags: Tuple[str, ...]) -> None:
        self.cmd = cmd
        self.flags = flags
        self.values: Tuple[str, ...] = ()
        self.json = False
        self.sub: Optional[Node] = None

    def can_contain_heredoc(self) -> bool:  # parser.go canContainHeredoc
        node = self.sub if self.sub is not None else self
        return go_lower(node.cmd) in _HEREDOC_COMMANDS and not node.json


def node_from_line(line: str, escape: str) -> Node:
    """split_command.go splitCommand, then the instruction's line parser (parser.go dispatch)."""
    words = split_args(line.strip(GO_SPACE), 2)
    flags: Tuple[str, ...] = ()
    args = ""
    if len(words) == 2:
        args, flags = _builder_flags(words[1], escape)
    node = Node(words[0], flags)
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


def _parse_ignore(node: Node, rest: str, escape: str) -> None:
    node.values = ("",)  # an unknown instruction: one empty node, as parseIgnore returns


def _parse_sub_command(node: Node, rest: str, escape: str) -> None:
    if rest:
        node.sub = node_from_line(rest, escape)
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


def _parse_env(node: Node, rest: str, escape: str) -> None:
    _parse_name_val(node, rest, escape, "ENV")


def _parse_label(node: Node, rest: str, escape: str) -> None:
    _parse_name_val(node, rest, escape, "LABEL")


def _parse_name_val(node: Node, rest: str, escape: str, key: str) -> None:
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


def _parse_name_or_name_val(node: Node, rest: str, escape: str) -> None:
    node.values = tuple(parse_words(rest, escape))  # ARG


def _parse_whitespace_delimited(node: Node, rest: str, escape: str) -> None:
    node.values = tuple(split_args(rest)) if rest else ()


def _parse_string(node: Node, rest: str, escape: str) -> None:
    node.values = (rest,) if rest else ()


def _parse_maybe_json(node: Node, rest: str, escape: str) -> None:
    if not rest:
        return
    found = _json_strings(rest)
    if found is None:
        node.values = (rest,)
    else:
        node.values, node.json = found, True


def _parse_maybe_json_to_list(node: Node, rest: str, escape: str) -> None:
    found = _json_strings(rest)
    if found is None:
        _parse_whitespace_delimited(node, rest, escape)
    else:
        node.values, node.json = found, True


def _parse_health_config(node: Node, rest: str, escape: str) -> None:
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
    inner = Node("", ())
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

_DISPATCH: Dict[str, Callable[[Node, str, str], None]] = {
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
