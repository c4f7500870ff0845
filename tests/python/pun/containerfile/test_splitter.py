"""pun.containerfile.splitter against BuildKit's own parser, instruction by instruction.

Oracles: the PyPI `dockerfile` package (BuildKit v0.12.5's parser compiled in, always there),
and, when PUN_BUILDKIT_PARSER_ORACLE names it, BuildKit v0.32.2's parser itself
(tests/go/buildkit-parser-oracle, built by build-support/build-parser-oracle): the splitter
follows v0.32.2. Where BuildKit changed between the two versions the package's answer is not
the one wanted, so examples that reach such a change are left out of the package comparison
(not out of the v0.32.2 one); each is shown by a fixed case below:

* JSON form: v0.12.5 reads the first JSON value and ignores what follows (`COPY ["a"] b` is
  JSON); v0.24+ needs the whole argument to be the array (json.Unmarshal), else shell form.
* `# check=` is a parser directive since v0.24: parser directives after it still count.
* `<< EOF` (space after `<<`) opens a heredoc since v0.14's shell lexer (processPossibleHeredoc).
* Flags honour the escape directive's token since v0.13 (`--x=a`b` under `# escape=``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any, Iterator, List, Optional, Tuple

import dockerfile
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pun.containerfile.splitter import Split, SplitError, leading_directives, split_instructions
from pun_testing.shared import DATA
from pun_testing.tools import unavailable

REPO = DATA.parents[1]  # the checkout, or Pants' sandbox (examples: BUILD dependency)
Parsed = Any  # a list of instruction tuples, or ("error", message)
INVALID_UTF8 = ("invalid UTF-8",)


# -- the two oracles and the splitter, in one shape -------------------------------------------


def by_package(text: str) -> Parsed:
    try:
        commands = dockerfile.parse_string(text)
    except dockerfile.GoParseError as exc:
        return ("error", str(exc))
    except UnicodeDecodeError:
        # BuildKit cut a character in two (bytes 0x85/0xA0 count as spaces in flags and in
        # HEALTHCHECK): the package cannot hand the bytes to Python.
        return INVALID_UTF8
    return [
        (
            c.cmd or "",  # the package hands back None for an empty string
            c.sub_cmd,
            c.json,
            c.original or "",
            c.start_line,
            c.end_line,
            c.flags,
            c.value,
            tuple((h.name, h.file_descriptor, h.content) for h in c.heredocs),
        )
        for c in commands
    ]


def by_splitter(text: str) -> Parsed:
    try:
        split = split_instructions(text)
    except SplitError as exc:
        return ("error", str(exc))
    return [
        (
            i.cmd,
            i.sub_cmd,
            i.json,
            # The package appends the heredoc bodies to `original` (asottile/dockerfile
            # parse.go); BuildKit's node holds the instruction line only.
            i.original
            + (
                "\n" + "".join(h.content + h.name + "\n" for h in i.heredocs)
                if i.heredocs and i.sub_cmd is None
                else ""
            ),
            i.start_line,
            i.end_line,
            i.flags,
            i.value,
            # ONBUILD: BuildKit hangs the heredocs on the ONBUILD node, the package reads them
            # from the instruction inside (none).
            ()
            if i.sub_cmd is not None
            else tuple((h.name, h.file_descriptor, h.content) for h in i.heredocs),
        )
        for i in split.instructions
    ]


class GoOracle:
    """BuildKit v0.32.2's parser in a Go program: one JSON text per line in, one answer out."""

    def __init__(self, path: str) -> None:
        self.process = subprocess.Popen(
            [path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8"
        )

    def parse(self, text: str) -> Parsed:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps(text) + "\n")
        self.process.stdin.flush()
        answer = json.loads(self.process.stdout.readline())
        if answer["error"] is not None:
            return ("error", answer["error"])
        parsed = []
        for c in answer["commands"]:
            values = c["Value"]
            keyword = (c["SubCmd"] or c["Cmd"]).lower()
            if keyword in ("env", "label"):  # v0.24+: key, value, separator
                values = [v for n, v in enumerate(values) if n % 3 != 2]
            parsed.append(
                (
                    c["Cmd"],
                    c["SubCmd"] or None,
                    c["Json"],
                    c["Original"],
                    c["StartLine"],
                    c["EndLine"],
                    tuple(c["Flags"]),
                    tuple(values),
                    tuple((h["name"], h["file_descriptor"], h["content"]) for h in c["Heredocs"]),
                )
            )
        return parsed


def splitter_like_v032(text: str) -> Parsed:
    """The splitter in the Go oracle's shape: BuildKit's node, original without bodies."""
    try:
        split = split_instructions(text)
    except SplitError as exc:
        return ("error", str(exc))
    return [
        (
            i.cmd,
            i.sub_cmd,
            i.json,
            i.original,
            i.start_line,
            i.end_line,
            i.flags,
            i.value,
            () if i.sub_cmd else tuple((h.name, h.file_descriptor, h.content) for h in i.heredocs),
        )
        for i in split.instructions
    ]


@pytest.fixture(scope="module")
def go_oracle() -> Iterator[GoOracle]:
    path = os.environ.get("PUN_BUILDKIT_PARSER_ORACLE")
    if not path:
        unavailable("PUN_BUILDKIT_PARSER_ORACLE is not set (build-support/build-parser-oracle)")
    assert path is not None
    oracle = GoOracle(path)
    yield oracle
    oracle.process.kill()
    oracle.process.wait()


# -- Containerfile texts ----------------------------------------------------------------------

KEYWORDS = [
    "FROM", "from", "From", "COPY", "copy", "ADD", "LABEL", "label", "ENV", "ARG", "RUN", "run",
    "CMD", "ENTRYPOINT", "WORKDIR", "USER", "EXPOSE", "VOLUME", "SHELL", "STOPSIGNAL",
    "MAINTAINER", "HEALTHCHECK", "ONBUILD", "BOGUS", "ｆrom",
]  # fmt: skip
CHARS = st.sampled_from(
    list("ab c\t=\"'\\`$-#[]{},:<0/") + ["é", "€", "😀", "\u00a0", "\u3000", "\v", "\f", "\r"]
)
WORD = st.text(CHARS, max_size=8)
PLAIN = st.text(st.sampled_from(list("abcxyz019._/-") + ["é", "😀"]), min_size=1, max_size=6)
SPACE = st.sampled_from([" ", "  ", "\t", " \t "])
FLAG = st.one_of(
    st.builds(lambda n, v: f"--{n}={v}", st.sampled_from(["from", "chmod", "chown", "link"]), WORD),
    st.sampled_from(["--link", "--", '--chown="a b"', "--x='q'", "--a=\\ b", "--chown=ü"]),
)
JSON_ITEM = st.one_of(st.text(max_size=6), PLAIN)
JSON_FORM = st.one_of(
    st.builds(
        lambda items, ascii: json.dumps(items, ensure_ascii=ascii),
        st.lists(JSON_ITEM, max_size=3),
        st.booleans(),
    ),
    st.builds(
        lambda items: "[" + ",".join(json.dumps(i) for i in items) + " ]",
        st.lists(PLAIN, max_size=3),
    ),
    st.sampled_from([
        '["a", ]', "[a]", '["a"', "[1]", '["a", 1]', "[]", '["\\ud800"]', '["a",1e999]',
        "[NaN]", '[ "a" ,"b"]\t', '["a\\"b"]', "[", '{"a": 1}',
    ]),
)  # fmt: skip
ARGS = st.one_of(
    st.lists(st.one_of(WORD, PLAIN), max_size=4).map(" ".join),
    JSON_FORM,
    st.builds(lambda k, v: f"{k}={v}", PLAIN, WORD),
)


@st.composite
def heredoc_instruction(draw: Any) -> str:
    name = draw(st.sampled_from(["EOF", "a", "END"]))
    chomp = draw(st.booleans())
    quoted = draw(st.sampled_from(["", '"', "'"]))
    fd = draw(st.sampled_from(["", "", "3"]))
    keyword = draw(st.sampled_from(["RUN", "COPY", "ADD", "run", "ONBUILD RUN"]))
    marker = f"{fd}<<{'-' if chomp else ''}{quoted}{name}{quoted}"
    body = draw(st.lists(st.one_of(WORD, PLAIN), max_size=3))
    end = ("\t" if chomp and draw(st.booleans()) else "") + name
    terminated = draw(st.booleans()) or draw(st.booleans())
    lines = [f"{keyword} {marker} {draw(PLAIN)}", *body] + ([end] if terminated else [])
    return "\n".join(lines)


@st.composite
def instruction(draw: Any) -> str:
    if draw(st.integers(0, 9)) == 0:
        return draw(heredoc_instruction())
    keyword = draw(st.sampled_from(KEYWORDS))
    if keyword == "ONBUILD" and draw(st.booleans()):
        keyword += " " + draw(st.sampled_from(KEYWORDS[:12]))
    flags = draw(st.lists(FLAG, max_size=2))
    parts = [keyword, *flags, draw(ARGS)]
    return draw(SPACE).join(parts) + draw(st.sampled_from(["", "", " ", "\t"]))


@st.composite
def continued(draw: Any, escape: str) -> str:
    """An instruction cut into physical lines with the escape token, with comment lines,
    empty lines and indentation in between."""
    text = draw(instruction())
    if "\n" in text:
        return text
    cuts = sorted(set(draw(st.lists(st.integers(1, max(1, len(text))), max_size=3))))
    pieces, last = [], 0
    for cut in cuts:
        pieces.append(text[last:cut])
        last = cut
    pieces.append(text[last:])
    out = pieces[0]
    for piece in pieces[1:]:
        out += escape + draw(st.sampled_from(["", " ", "\t "])) + "\n"
        between = st.sampled_from(["# c\n", "  # c \\\n", "\n", "  \n"])
        out += "".join(draw(st.lists(between, max_size=2)))
        out += draw(st.sampled_from(["", " ", "\t"])) + piece
    return out


DIRECTIVES = st.lists(
    st.sampled_from([
        "# syntax=docker/dockerfile:1", "#syntax = example.com/x:1 --y", "# escape=`",
        "#escape=\\", "# escape = ` ", "# escape=x", "# ESCAPE=`", "# syntax=a", "  # syntax=b",
        "# unknown=1", "#check=skip=all",
    ]),
    max_size=2,
).map(lambda lines: sorted(lines, key=lambda line: "check" in line))  # fmt: skip


@st.composite
def containerfile(draw: Any) -> str:
    directives = draw(DIRECTIVES)
    escape = "`" if any(d.replace(" ", "") == "#escape=`" for d in directives[:1]) else "\\"
    if len(directives) == 2 and "escape" in directives[1] and "`" in directives[1]:
        escape = draw(st.sampled_from(["`", "\\"]))  # a guess; both kinds of text are fine
    body = draw(
        st.lists(
            st.one_of(
                continued(escape),
                st.sampled_from(["", "# a comment", "   ", "\t# x \\", escape, f"FROM a{escape}"]),
            ),
            max_size=6,
        )
    )
    newline = draw(st.sampled_from(["\n", "\n", "\r\n"]))
    text = newline.join([*directives, *body])
    if draw(st.booleans()):
        text += newline
    if draw(st.integers(0, 9)) == 0:
        text = "\ufeff" + text
    return text


# Lines made of pieces (keywords, markers, directives, odd spaces) in any order, for what the
# structured texts above do not think of.
PIECES = st.sampled_from(
    list("ab c\t=\"'\\`$-#[]{},:<0/\r") + [
        "é", "\u00a0", "\u0085", "\u3000", "\v", "\u0800", "\u0145", "EOF", "RUN ", "COPY ",
        "<<", "<<-", "${", "ONBUILD ", "# escape=`", "# syntax=x", "HEALTHCHECK ",
    ]
)  # fmt: skip
RAW = st.lists(
    st.one_of(instruction(), st.lists(PIECES, max_size=12).map("".join)), max_size=8
).map("\n".join)
TEXTS = st.one_of(containerfile(), RAW)


def reaches_a_version_change(text: str, split: Optional[Split]) -> bool:
    """The v0.12.5 -> v0.32.2 changes listed in the module docstring."""
    if re.search(r"<<[\t\r ]", text):
        return True
    if split is None:
        # An error now: an older reading may differ only through the changes below, which
        # need a parse to judge; the JSON rule is the one that makes errors (`[1] x`).
        return "[" in text or "check" in text or "`" in text
    names = [name for name, _ in split.directives]
    if "check" in names[:-1]:
        return True
    decoder = json.JSONDecoder()
    for i in split.instructions:
        if split.escape == "`" and i.flags and ("\\" in i.original or "`" in i.original):
            return True
        if not i.json and "[" in i.original:
            for start in [m.start() for m in re.finditer(r"\[", i.original)]:
                try:
                    decoder.raw_decode(i.original, start)
                    return True
                except ValueError:
                    pass
    return False


def splits(text: str) -> Optional[Split]:
    try:
        return split_instructions(text)
    except SplitError:
        return None


PROPERTY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(TEXTS)
def test_splitter_reads_as_the_dockerfile_package(text: str) -> None:
    assume(not reaches_a_version_change(text, splits(text)))
    # A JSON `\u0000` is a NUL in a value: the package hands values over as C strings, cut there.
    assume("\\u0000" not in text)
    expected = by_package(text)
    assume(expected != INVALID_UTF8)
    assert by_splitter(text) == expected


@PROPERTY
@given(text=TEXTS)
def test_splitter_reads_as_buildkit_v0_32(go_oracle: GoOracle, text: str) -> None:
    assert splitter_like_v032(text) == go_oracle.parse(text)


def repository_containerfiles() -> List[Path]:
    found = [
        *sorted((REPO / "examples").glob("*/Containerfile")),
        *sorted((REPO / "tests" / "data").rglob("Containerfile*")),
    ]
    return [p for p in found if p.is_file()]


def test_there_are_repository_containerfiles() -> None:
    assert len(repository_containerfiles()) >= 8


@pytest.mark.parametrize(
    "path", repository_containerfiles(), ids=lambda p: str(p.relative_to(REPO))
)
def test_repository_containerfiles(path: Path) -> None:
    text = path.read_bytes().decode("utf-8")
    assert by_splitter(text) == by_package(text)


# -- fixed cases: the BuildKit rules one at a time ---------------------------------------------

FIXED = [
    "FROM a\nCOPY --from=b --chmod=755 x /y/\n",
    "FROM a \\\n  AS b\n# comment\nLABEL a=b \\\n\n  c=d\n",
    "# escape=`\nFROM a\nRUN b `\n  c\n",
    "# syntax=x\n# escape=`\nFROM a`\nb\n",
    "\ufeff# syntax=x\nFROM a\n",
    'FROM a\nCMD ["a", "b"]\nRUN [ "x" ]\nRUN [x]\nENTRYPOINT ["a",]\n',
    "FROM a\nBOGUS x\nfrom b\n",
    "FROM a\r\nRUN b \\\r\n  c\r\n",
    "FROM a\nRUN <<EOF\nFROM c\nEOF\nLABEL x=y\n",
    "FROM a\nCOPY <<-A <<B /d/\n\tone\n\tA\ntwo\nB\n",
    "FROM a\nRUN <<EOF\nnever ends\n",
    'FROM a\nENV a b c\nENV d=e f="g h"\nARG x y=1\n',
    'FROM a\nHEALTHCHECK CMD ["x"]\nHEALTHCHECK NONE\nONBUILD COPY a b\n',
    "\\",
    "\n\n",
    "# only a comment\n",
    "FROM a\nRUN [1]\n",
    "FROM a\nENV x\n",
    "FROM a\nLABEL a=b c\n",
    "# escape=x\nFROM a\n",
    "# escape=\\\n# escape=`\nFROM a\n",
    "FROM a\nCOPY --chown=ü a b\n",
    "FROM a\nRUN x \\\\\nRUN y\n",
]


@pytest.mark.parametrize("text", FIXED)
def test_fixed_cases(text: str) -> None:
    assert by_splitter(text) == by_package(text)


@pytest.mark.parametrize("text", FIXED)
def test_fixed_cases_v0_32(go_oracle: GoOracle, text: str) -> None:
    assert splitter_like_v032(text) == go_oracle.parse(text)


def instructions(text: str) -> List[Tuple[str, bool, Tuple[str, ...], Tuple[str, ...]]]:
    split = split_instructions(text)
    return [(i.cmd, i.json, i.flags, i.value) for i in split.instructions]


# The version changes, as BuildKit v0.32.2's source says they read (parser.go, line_parsers.go,
# split_command.go, directives.go; lex.go processPossibleHeredoc).
def test_json_form_is_the_whole_argument() -> None:
    assert instructions('COPY ["a"] b\n') == [("COPY", False, (), ('["a"]', "b"))]
    assert by_package('COPY ["a"] b\n')[0][7] == ("a",)  # v0.12.5


def test_check_directive_keeps_the_directives_going() -> None:
    text = "# check=skip=all\n# escape=`\nFROM a`\nb\n"
    assert instructions(text) == [("FROM", False, (), ("ab",))]
    assert split_instructions(text).directives == (("check", "skip=all"), ("escape", "`"))


def test_heredoc_with_a_space_after_the_marker() -> None:
    split = split_instructions("RUN << EOF\nhi\nEOF\n")
    (run,) = split.instructions
    assert (run.end_line, run.heredocs[0].name, run.heredocs[0].content) == (3, "EOF", "hi\n")


def test_flags_use_the_escape_directive() -> None:
    assert instructions("# escape=`\nCOPY --x=a`b c d\n") == [
        ("COPY", False, ("--x=ab",), ("c", "d"))
    ]


def test_errors_name_the_line() -> None:
    with pytest.raises(SplitError) as raised:
        split_instructions("FROM a\n\nRUN [1]\n")
    assert raised.value.line == 3
    with pytest.raises(SplitError) as raised:
        split_instructions("FROM a\nRUN <<EOF\nx\n")
    assert (str(raised.value), raised.value.line) == ("unterminated heredoc", 2)


def test_long_lines_are_refused_as_buildkit_does() -> None:
    # bufio.Scanner's 64 KiB token limit (parser.go handleScannerError).
    fits = "FROM a\nLABEL a=" + "x" * (65535 - 8) + "\n"
    assert by_splitter(fits) == by_package(fits)
    too_long = "FROM a\nLABEL a=" + "x" * (65536 - 8) + "\n"
    assert by_splitter(too_long) == by_package(too_long)
    assert by_splitter(too_long)[0] == "error"


@pytest.mark.parametrize("text", FIXED + ["# syntax=a\n  #escape=`\n\nx: 1\n", "# escape=q\n"])
def test_leading_directives_are_the_splits(text: str) -> None:
    try:
        split = split_instructions(text)
    except SplitError as exc:
        if "directive" not in str(exc) and "escape token" not in str(exc):
            return  # an error after the directives: nothing to compare
        with pytest.raises(SplitError, match=re.escape(str(exc))):
            leading_directives(text)
        return
    assert leading_directives(text) == (split.escape, split.directives)
