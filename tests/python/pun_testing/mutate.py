"""A seeded mutation fuzzer for Containerfiles: byte- and line-level edits of real files."""

from __future__ import annotations

import random
from typing import Callable, Iterator, List, Sequence

# Text that Containerfile parsing treats specially: continuations, quotes, expansion, flags,
# JSON, heredocs, directives, comments, wildcards, and characters parsers trip over.
TOKENS = [
    "\\",
    "\\\n",
    '"',
    "'",
    "$",
    "${",
    "}",
    "{",
    "${X:-y}",
    "${X:+",
    "$X",
    "--chmod=",
    "--chmod=755",
    "--chown=1:2",
    "--from=",
    "--platform=",
    "--link",
    "--",
    "=",
    "[",
    "]",
    '["a", "/b"]',
    "*",
    "?",
    "<<EOF",
    "<<-EOF\nx\nEOF",
    "# syntax=x\n",
    "# escape=`\n",
    "#",
    "`",
    "\x00",
    "\t",
    "\r",
    "\r\n",
    "\n",
    " ",
    "\ufeff",
    "ü",
    "\u2028",
    "\U0001f600",
    "\udcff",
    " AS x",
    "scratch",
    "FROM ",
    "COPY ",
    "LABEL ",
    "ARG ",
    "ENV ",
    "RUN ",
    "ONBUILD ",
]

Mutation = Callable[[random.Random, str, Sequence[str]], str]


def _position(rng: random.Random, text: str) -> int:
    return rng.randint(0, len(text))


def delete_span(rng: random.Random, text: str, _: Sequence[str]) -> str:
    start = _position(rng, text)
    return text[:start] + text[start + rng.randint(1, 8) :]


def duplicate_span(rng: random.Random, text: str, _: Sequence[str]) -> str:
    start = _position(rng, text)
    span = text[start : start + rng.randint(1, 16)]
    return text[:start] + span + text[start:]


def insert_token(rng: random.Random, text: str, _: Sequence[str]) -> str:
    at = _position(rng, text)
    return text[:at] + rng.choice(TOKENS) + text[at:]


def replace_char(rng: random.Random, text: str, _: Sequence[str]) -> str:
    if not text:
        return text
    at = rng.randrange(len(text))
    ranges = [(0, 0x7F), (0x80, 0x7FF), (0, 0x10FFFF)]  # ASCII, two-byte UTF-8, any
    char = chr(rng.randint(*rng.choice(ranges)))
    return text[:at] + char + text[at + 1 :]


def _lines(text: str) -> List[str]:
    return text.split("\n")


def delete_line(rng: random.Random, text: str, _: Sequence[str]) -> str:
    lines = _lines(text)
    del lines[rng.randrange(len(lines))]
    return "\n".join(lines)


def duplicate_line(rng: random.Random, text: str, _: Sequence[str]) -> str:
    lines = _lines(text)
    at = rng.randrange(len(lines))
    lines.insert(at, lines[at])
    return "\n".join(lines)


def swap_lines(rng: random.Random, text: str, _: Sequence[str]) -> str:
    lines = _lines(text)
    a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
    lines[a], lines[b] = lines[b], lines[a]
    return "\n".join(lines)


def end_line_with(rng: random.Random, text: str, _: Sequence[str]) -> str:
    """A line (often the last) ending in a continuation, a quote or an open brace."""
    lines = _lines(text)
    at = len(lines) - 1 if rng.random() < 0.5 else rng.randrange(len(lines))
    lines[at] += rng.choice(["\\", " \\", '"', "'", "${", "[", "\\\n\\"])
    return "\n".join(lines)


def splice_line(rng: random.Random, text: str, seeds: Sequence[str]) -> str:
    """A line from another seed file, placed anywhere."""
    lines = _lines(text)
    donor = _lines(rng.choice(seeds))
    lines.insert(rng.randint(0, len(lines)), rng.choice(donor))
    return "\n".join(lines)


def change_case(rng: random.Random, text: str, _: Sequence[str]) -> str:
    lines = _lines(text)
    at = rng.randrange(len(lines))
    lines[at] = lines[at].lower() if rng.random() < 0.5 else lines[at].swapcase()
    return "\n".join(lines)


def truncate(rng: random.Random, text: str, _: Sequence[str]) -> str:
    return text[: _position(rng, text)]


MUTATIONS: List[Mutation] = [
    delete_span,
    duplicate_span,
    insert_token,
    insert_token,
    insert_token,
    replace_char,
    delete_line,
    duplicate_line,
    swap_lines,
    end_line_with,
    splice_line,
    change_case,
    truncate,
]


def mutants(seeds: Sequence[str], seed: int) -> Iterator[str]:
    """An endless, reproducible stream: each mutant is a seed file with 1-4 mutations."""
    rng = random.Random(seed)
    while True:
        text = rng.choice(seeds)
        for _ in range(rng.randint(1, 4)):
            text = rng.choice(MUTATIONS)(rng, text, seeds)
        yield text
