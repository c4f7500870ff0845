"""The Definition's source map (pb.Definition.source), decoded by the protobuf runtime: one
SourceInfo with the Containerfile as pun names it, and for each op the lines of the
instruction it came from, one Range per line as BuildKit's Dockerfile frontend writes them
(frontend/dockerfile/parser `toRanges`). The lines each op must have are stated here by hand."""

from __future__ import annotations

from typing import Dict, List, Tuple

from pun.api import GenerateOptions, generate
from pun.llb.marshal import digest_of
from pun.llb.pb import ops_pb2

TEXT = """# syntax check: comments and blank lines count as lines
FROM alpine:3.18

WORKDIR /srv
COPY a \\
     b \\
     /srv/d/
LABEL com.urunc.unikernel.binary=/srv/d/a
COPY --from=busybox:1.36 /bin/busybox /bin/
"""

OPTIONS = GenerateOptions(path="uk/Containerfile", local_unique_id="pinned")


def what(op: "ops_pb2.Op") -> str:
    """An op by what it does: its source identifier, or its first action's path."""
    if op.HasField("source"):
        return op.source.identifier
    action = op.file.actions[0]
    if action.HasField("copy"):
        return f"copy {action.copy.src} {action.copy.dest}"
    if action.HasField("mkfile"):
        return f"mkfile {action.mkfile.path}"
    return f"mkdir {action.mkdir.path}"


def located(definition: bytes) -> Tuple["ops_pb2.Definition", Dict[str, List[List[int]]]]:
    parsed = ops_pb2.Definition.FromString(definition)
    found: Dict[str, List[List[int]]] = {}
    for data in getattr(parsed, "def")[:-1]:  # the terminal op is no step
        op = ops_pb2.Op.FromString(data)
        locations = parsed.Source.locations[digest_of(data)].locations
        assert all(location.sourceIndex == 0 for location in locations)
        assert all(
            r.start.line == r.end.line and r.start.character == r.end.character == 0
            for location in locations
            for r in location.ranges
        )
        found[what(op)] = [[r.start.line for r in location.ranges] for location in locations]
    return parsed, found


def test_each_op_has_its_instruction_s_lines() -> None:
    parsed, found = located(generate(TEXT, OPTIONS).definition)
    assert found == {
        "docker-image://docker.io/library/alpine:3.18": [],
        "docker-image://docker.io/library/busybox:1.36": [],
        "local://context": [],
        "mkdir /srv": [[4]],
        "copy /a /srv/d/": [[5, 6, 7]],
        "copy /bin/busybox /bin/": [[9]],
        "mkfile /urunc.json": [],  # the labels' file: pun's own, from no one line
    }
    assert [(i.filename, i.data, i.language) for i in parsed.Source.infos] == [
        ("uk/Containerfile", TEXT.encode(), "Dockerfile")
    ]
    assert not parsed.Source.infos[0].HasField("definition")


def test_same_inputs_same_bytes() -> None:
    assert generate(TEXT, OPTIONS).definition == generate(TEXT, OPTIONS).definition


def test_compat_pun_keeps_the_original_s_empty_map() -> None:
    text = "FROM scratch\nCOPY a \\\n  /a\nLABEL k=v\n"
    parsed = ops_pb2.Definition.FromString(
        generate(text, OPTIONS._replace(compat="pun")).definition
    )
    assert not parsed.Source.infos
    assert len(parsed.Source.locations) == len(getattr(parsed, "def")) - 1
    assert all(not locations.locations for locations in parsed.Source.locations.values())
