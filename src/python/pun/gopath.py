"""Go's `path` package as BuildKit uses it: `Clean` (and the absolute / trailing-slash forms
built on it) and `Match`, the wildcard rules BuildKit applies to COPY sources.

On the `pun --LLB` hot path (pun.llb.state cleans every path), so it imports neither typing nor
dataclasses at run time (see pun.records).

BuildKit resolves a COPY wildcard with fsutil (`copy/copy.go`, `resolveWildcards`), which walks
the directory above the first wildcard part and keeps each relative path that Go's
`filepath.Match` accepts (on Unix the same rules as `path.Match`, go `src/path/match.go`):

- `*` is any run of characters without `/`, `?` any single character except `/`;
- `[...]` a non-empty class of characters and `lo-hi` ranges, negated by a leading `^` (never by
  `!`, which is an ordinary member); a class may match `/`; `\\` escapes the next character,
  inside a class or out;
- the whole name must match; a malformed pattern (`[`, `a[`, a trailing `\\`, `[]`, `[a-]`) is
  `ErrBadPattern` (`BadPattern` here), which fsutil treats as no match.

Go matches bytes: literals compare bytes, while `?` and classes take one UTF-8 sequence (an
invalid byte counts as one character, U+FFFD). And after a `*`, Go settles each fixed-length run
at its first match and never goes back, so `*[x/]*b` does not match `x/b`. Both are kept here, so
this answers exactly as Go does; names and patterns are matched as their UTF-8 bytes (with
surrogate escapes, as `os.fsencode` gives them).
"""

from __future__ import annotations

import posixpath

from pun.records import Record

TYPE_CHECKING = False  # typing is imported for mypy only: see pun.records
if TYPE_CHECKING:
    from typing import List, Optional, Sequence, Tuple, Union

_REPLACEMENT = 0xFFFD
_SLASH = ord("/")


class BadPattern(ValueError):
    """Go's `path.ErrBadPattern`: the pattern is malformed."""

    def __init__(self, pattern: str, why: str) -> None:
        super().__init__(f"syntax error in pattern {pattern!r}: {why}")
        self.pattern = pattern


class _Class(Record):
    negated: bool
    ranges: Tuple[Tuple[int, int], ...]  # code points, inclusive

    def takes(self, rune: int) -> bool:
        return any(lo <= rune <= hi for lo, hi in self.ranges) != self.negated


_ANY = None  # `?`
if TYPE_CHECKING:
    # One single-character operator: a literal byte, a class, or `?`.
    _Token = Union[int, _Class, None]
    # A run of single-character operators, and whether a `*` comes before it.
    _Chunk = Tuple[bool, Tuple[_Token, ...]]


def clean(p: str) -> str:
    """Go's `path.Clean` (posixpath.normpath keeps a leading `//` and maps `` to `.`)."""
    if p == "":
        return "."
    cleaned = posixpath.normpath(p)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    return cleaned


def clean_absolute(p: str) -> str:
    """Go's `path.Join("/", p)`: absolute and clean; `..` never climbs above `/`."""
    return clean("/" + p)


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _decode_rune(data: bytes, i: int) -> Tuple[int, int]:
    """The code point at `data[i]` and its length, as Go's utf8.DecodeRune: (U+FFFD, 1) when the
    bytes there are not one valid UTF-8 sequence."""
    lead = data[i]
    if lead < 0x80:
        return lead, 1
    size = 2 if 0xC2 <= lead <= 0xDF else 3 if 0xE0 <= lead <= 0xEF else 4 if lead <= 0xF4 else 0
    if size and lead >= 0xC2:
        try:
            text = data[i : i + size].decode("utf-8")
        except UnicodeDecodeError:
            return _REPLACEMENT, 1
        if len(text) == 1:
            return ord(text), size
    return _REPLACEMENT, 1


class _Parser:
    """Reads a pattern into chunks, rejecting every malformed pattern (Go checks the whole
    pattern before it answers false, so a bad pattern is an error whatever the name)."""

    def __init__(self, pattern: str) -> None:
        self.text = pattern
        self.data = _encode(pattern)
        self.i = 0

    def bad(self, why: str) -> BadPattern:
        return BadPattern(self.text, why)

    def chunks(self) -> List[_Chunk]:
        chunks: List[_Chunk] = []
        star = False
        tokens: List[_Token] = []
        data = self.data
        while self.i < len(data):
            byte = data[self.i]
            self.i += 1
            if byte == ord("*"):
                if tokens:
                    chunks.append((star, tuple(tokens)))
                    tokens = []
                star = True
            elif byte == ord("?"):
                tokens.append(_ANY)
            elif byte == ord("["):
                tokens.append(self.char_class())
            elif byte == ord("\\"):
                if self.i >= len(data):
                    raise self.bad("`\\` at the end escapes nothing")
                tokens.append(data[self.i])
                self.i += 1
            else:
                tokens.append(byte)
        if star or tokens:
            chunks.append((star, tuple(tokens)))
        return chunks

    def char_class(self) -> _Class:
        data = self.data
        negated = self.i < len(data) and data[self.i] == ord("^")
        if negated:
            self.i += 1
        ranges: List[Tuple[int, int]] = []
        while True:
            if ranges and self.i < len(data) and data[self.i] == ord("]"):
                self.i += 1
                return _Class(negated, tuple(ranges))
            lo = self.class_char()
            hi = lo
            if data[self.i] == ord("-"):  # class_char left at least one byte
                self.i += 1
                hi = self.class_char()
            ranges.append((lo, hi))  # lo > hi is allowed: such a range takes nothing

    def class_char(self) -> int:
        """One member of a class (Go's getEsc): possibly escaped, never a bare `-` or `]`, and
        never the last byte of the pattern (the class would be unterminated)."""
        data = self.data
        if self.i >= len(data):
            raise self.bad("`[` without a closing `]`")
        if data[self.i] in (ord("-"), ord("]")):
            raise self.bad("`-` or `]` where a class member belongs (escape it with `\\`)")
        if data[self.i] == ord("\\"):
            self.i += 1
            if self.i >= len(data):
                raise self.bad("`\\` at the end escapes nothing")
        rune, size = _decode_rune(data, self.i)
        if rune == _REPLACEMENT and size == 1:
            raise self.bad("a class member is not valid UTF-8")
        self.i += size
        if self.i >= len(data):
            raise self.bad("`[` without a closing `]`")
        return rune


def _match_chunk(tokens: Sequence[_Token], name: bytes, start: int) -> Optional[int]:
    """Where the rest of `name` begins after `tokens` match at `start`, or None."""
    i = start
    for token in tokens:
        if i >= len(name):
            return None
        if isinstance(token, int):
            if name[i] != token:
                return None
            i += 1
        elif token is _ANY:
            if name[i] == _SLASH:
                return None
            i += _decode_rune(name, i)[1]
        else:
            rune, size = _decode_rune(name, i)
            if not token.takes(rune):
                return None
            i += size
    return i


def _match_chunks(chunks: Sequence[_Chunk], name: bytes) -> bool:
    i = 0
    for index, (star, tokens) in enumerate(chunks):
        last = index == len(chunks) - 1
        if star and not tokens:  # a trailing `*` takes the rest, if it has no `/`
            return _SLASH not in name[i:]
        end = _match_chunk(tokens, name, i)
        if end is not None and (end == len(name) or not last):
            i = end
            continue
        if not star:
            return False
        # Let the `*` take one more byte at a time (never a `/`); the first fit is kept.
        for skip in range(i, len(name)):
            if name[skip] == _SLASH:
                return False
            end = _match_chunk(tokens, name, skip + 1)
            if end is not None and (end == len(name) or not last):
                i = end
                break
        else:
            return False
    return i == len(name)


class Pattern(Record):
    """A parsed pattern, to match many names (a walk over a build context) without re-parsing."""

    text: str
    chunks: Tuple[_Chunk, ...]

    def matches(self, name: str) -> bool:
        return _match_chunks(self.chunks, _encode(name))


def compile_pattern(pattern: str) -> Pattern:
    """Raises BadPattern for a malformed pattern."""
    return Pattern(pattern, tuple(_Parser(pattern).chunks()))


def match(pattern: str, name: str) -> bool:
    """Go's `path.Match(pattern, name)`; raises BadPattern for a malformed pattern."""
    return compile_pattern(pattern).matches(name)


def match_or_false(pattern: str, name: str) -> bool:
    """BuildKit's use of it (fsutil `resolveWildcards`): a malformed pattern matches nothing."""
    try:
        return match(pattern, name)
    except BadPattern:
        return False


def has_wildcards(text: str) -> bool:
    """Whether a COPY source part is a pattern (fsutil `containsWildcards` on Unix): an unescaped
    `*`, `?` or `[`; `\\` makes the next character ordinary."""
    escaped = False
    for ch in text:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in "*?[":
            return True
    return False
