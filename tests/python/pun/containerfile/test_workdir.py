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
