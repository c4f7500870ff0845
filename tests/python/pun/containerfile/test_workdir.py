"""WORKDIR state as docker keeps it (BuildKit `util/system/path.go` NormalizeWorkdir, used by
`dispatchWorkdir`): a relative WORKDIR joins the previous one and variables expand; each COPY
records the WORKDIR in force, on which docker resolves a relative destination."""

from __future__ import annotations

from pun.containerfile.parser import parse_containerfile


def test_each_copy_records_the_workdir_in_force() -> None:
    plan = parse_containerfile(
        "FROM scratch\n"
        "COPY a /a\n"
        "WORKDIR /app\n"
        "COPY b b\n"
        "WORKDIR sub/../lib\n"
        "ENV D=data\n"
        "WORKDIR $D\n"
        "COPY c c\n"
    )
    assert [(w.path, w.line) for w in plan.workdirs] == [
        ("/app", 3),
        ("/app/lib", 5),
        ("/app/lib/data", 7),
    ]
    assert [c.workdir for c in plan.copies] == ["/", "/app", "/app/lib/data"]


def test_workdir_is_not_reported_as_ignored() -> None:
    plan = parse_containerfile("FROM scratch\nWORKDIR /w\n")
    assert not plan.ignored and not [w for w in plan.warnings if "WORKDIR" in w.message]


def test_relative_paths_on_a_base_image_warn_until_an_absolute_workdir() -> None:
    # Docker Engine 20.10 measured 2026-12-01, base image with WorkingDir /basewd:
    # `WORKDIR rel` + `COPY f rel2` gives /basewd/rel/rel2 and `COPY f .` gives /basewd/f;
    # pun plans without the base image's config and puts them under /: it says so.
    plan = parse_containerfile(
        "FROM registry.example.com/base:1\nWORKDIR rel\nCOPY f rel2\nWORKDIR /abs\nCOPY f .\n"
    )
    warned = [(w.line, w.message) for w in plan.warnings if "base image's WorkingDir" in w.message]
    assert [line for line, _ in warned] == [2, 3]  # not line 5: after an absolute WORKDIR
    assert warned[0][1].startswith("WORKDIR rel is relative")
    assert warned[1][1].startswith("the COPY destination rel2 is relative")
    scratch = parse_containerfile("FROM scratch\nWORKDIR rel\nCOPY f .\n")
    assert not [w for w in scratch.warnings if "WorkingDir" in w.message]


def test_an_unset_variable_on_a_base_image_says_the_base_env_is_not_seen() -> None:
    plan = parse_containerfile("FROM registry.example.com/base:1\nENV PATH=$PATH:/x\n")
    (note,) = [w for w in plan.warnings if "$PATH" in w.message]
    assert note.line == 2 and "the base image sets (its PATH, say) is not seen" in note.hint
