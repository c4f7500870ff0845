"""Containerfile -> PackPlan: instructions, scopes, and errors that name the line."""

from __future__ import annotations

import pytest

from pun.containerfile.parser import ParseOptions, parse_containerfile
from pun.diagnostics import PunError
from pun.platform import parse_platform


def plan(text: str, **options: object):  # type: ignore[no-untyped-def]
    return parse_containerfile(text, ParseOptions(**options))  # type: ignore[arg-type]


def error_of(text: str) -> str:
    with pytest.raises(PunError) as caught:
        plan(text)
    return str(caught.value)


def test_label_forms_like_docker() -> None:
    labels = plan(
        "FROM scratch\n"
        'LABEL a=b "c"="d" e="f g" h=i\\ j\n'
        "LABEL legacy value with spaces\n"
        'LABEL "n"=\'o p\' q="\\"quoted\\""\n'
        "LABEL a=last\n"
    ).label_values()
    assert labels == {
        "a": "last",
        "c": "d",
        "e": "f g",
        "h": "i j",
        "legacy": "value with spaces",
        "n": "o p",
        "q": '"quoted"',
    }


def test_every_copy_source_is_kept() -> None:
    copies = plan('FROM scratch\nCOPY a b c /d/\nCOPY ["x y", "/z"]\n').copies
    assert [(c.sources, c.dest) for c in copies] == [(("a", "b", "c"), "/d/"), (("x y",), "/z")]


def test_copy_flags() -> None:
    (copy,) = plan("FROM scratch\nARG U=1000\nCOPY --chmod=640 --chown=$U:staff a /a\n").copies
    assert (copy.mode, copy.owner) == (0o640, "1000:staff")


def test_arg_scopes_and_build_args() -> None:
    text = (
        "ARG TAG=1.0\nARG REG\nFROM ${REG:-docker.io}/library/base:$TAG\n"
        "ARG TAG\nARG LOCAL=x\nENV LOCAL=from-env\nLABEL tag=$TAG local=$LOCAL arch=$TARGETARCH\n"
        "ARG TARGETARCH\nLABEL arch2=$TARGETARCH\n"
    )
    result = plan(text, build_args={"TAG": "2.0"}, target_platform=parse_platform("linux/arm64"))
    assert str(result.base.reference) == "docker.io/library/base:2.0"
    assert result.label_values() == {
        "tag": "2.0",
        "local": "from-env",
        "arch": "",
        "arch2": "arm64",
    }
    assert any("$TARGETARCH is not set" in w.message for w in result.warnings)


def test_escape_directive_and_syntax() -> None:
    result = plan("# syntax=example/pun:1\n# escape=`\nFROM scratch\nLABEL a=x` y\n")
    assert result.syntax == "example/pun:1"
    assert result.label_values() == {"a": "x y"}


def test_from_platform_flag_and_stage_name() -> None:
    result = plan("FROM --platform=linux/arm64 alpine AS base\n")
    assert result.base.platform == parse_platform("linux/arm64")
    assert str(result.base.reference) == "docker.io/library/alpine:latest"


def test_unused_build_arg_warns() -> None:
    result = plan("FROM scratch\n", build_args={"NOPE": "1"})
    assert any("NOPE" in w.message for w in result.warnings)


@pytest.mark.parametrize(
    "text, line, words",
    [
        ("FROM scratch\nFROM scratch\n", 2, "multi-stage"),
        ("COPY a /a\n", 1, "no FROM"),
        ("", 1, "no instructions"),
        ("# only a comment\n", 1, "no instructions"),
        ("FROM scratch\nBOGUS x\n", 2, "unknown instruction: BOGUS"),
        ("FROM Alpine\n", 1, "must be lowercase"),
        ("FROM SCRATCH\n", 1, "must be lowercase"),
        ("FROM $NOPE\n", 1, "invalid reference format"),
        ("FROM scratch\nCOPY a b /d\n", 2, "must be a directory ending in /"),
        ("FROM scratch AS build\nCOPY --from=build a /a\n", 2, "names a build stage"),
        ("FROM scratch\nCOPY --chmod=u+x a /a\n", 2, "--chmod"),
        ("FROM scratch\nCOPY --exclude=*.o a /a\n", 2, "--exclude is not supported"),
        ("FROM scratch\nCOPY <<EOF /a\nhi\nEOF\n", 2, "heredoc"),
        ("FROM scratch\nCOPY a\n", 2, "at least one source"),
        ("FROM scratch\nLABEL a='unterminated\n", 2, "single-quote"),
        ("LABEL a=b\nFROM scratch\n", 1, "before FROM"),
        ("# escape=x\nFROM scratch\n", 1, "escape"),
        ("FROM --platform=a/b/c/d alpine\n", 1, "invalid platform"),
    ],
)
def test_errors_name_the_line(text: str, line: int, words: str) -> None:
    message = error_of(text)
    assert f"Containerfile:{line}: error:" in message
    assert words in message
    assert "hint:" in message


def test_ignored_instructions_warn_naming_the_line_and_why() -> None:
    plan = parse_containerfile("FROM scratch\nRUN make\nHEALTHCHECK CMD probe\nONBUILD COPY a /a\n")
    notes = {w.line: w.message for w in plan.warnings if "is ignored" in w.message}
    assert notes == {
        2: "RUN is ignored: a unikernel image has no build steps to run",
        3: "HEALTHCHECK is ignored: pun records no health check (it would run a command inside"
        " the guest)",
        4: "ONBUILD is ignored: pun records no triggers for images built FROM this one",
    }
    assert [(i.keyword, i.line) for i in plan.ignored] == [
        ("RUN", 2),
        ("HEALTHCHECK", 3),
        ("ONBUILD", 4),
    ]
