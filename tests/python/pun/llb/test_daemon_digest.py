"""The vertex digests a current BuildKit gives pun's ops, against BuildKit v0.32.2 itself: its
progress stream (`buildctl build --progress rawjson`) names every vertex it solved, and each
must be the digest pun.llb.daemon_digest predicts (a real BuildKit is required in CI)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Set, Tuple

from pun.api import GenerateOptions, generate
from pun.llb.daemon_digest import daemon_digests
from pun.llb.marshal import digest_of
from pun.llb.pb import ops_pb2
from pun_testing.buildkit import BuildKit, buildkit
from pun_testing.rootfs import writable_copy
from pun_testing.shared import CASES

__all__ = ["buildkit"]  # pytest fixture, used by name below


def solved_vertices(buildkit: BuildKit, definition: bytes, context: Path) -> Set[str]:
    done = subprocess.run(
        buildkit.argv(
            "build",
            "--progress",
            "rawjson",
            "--local",
            f"context={context}",
            "--output",
            "type=tar,dest=/dev/null",
        ),
        input=definition,
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    found: Set[str] = set()
    for line in done.stderr.decode().splitlines():
        if line.startswith("{"):
            found.update(v["digest"] for v in json.loads(line).get("vertexes") or [])
    return found


def _case(tmp_path: Path) -> Tuple[Path, str]:
    context = writable_copy(CASES / "rumprun-redis", tmp_path / "ctx")
    text = (context / "Containerfile").read_text() + "COPY --chown=1:2 --chmod=600 redis.conf /x\n"
    return context, text


def test_predicted_digests_are_the_daemons(buildkit: BuildKit, tmp_path: Path) -> None:
    # --compat pun writes the original's (BuildKit v0.16) field order, which the daemon changes.
    context, text = _case(tmp_path)
    definition = generate(text, GenerateOptions(compat="pun")).definition
    predicted = daemon_digests(definition)
    solved = solved_vertices(buildkit, definition, context)
    ops = list(predicted)  # post-order: the last one is the terminal op, which is no vertex
    assert {predicted[d] for d in ops[:-1]} <= solved
    assert all(predicted[d] != d for d in ops[:-1])  # pun's own digests name no vertex
    assert not {d for d in ops} & solved


def test_by_default_pun_s_digests_are_the_daemons(buildkit: BuildKit, tmp_path: Path) -> None:
    # The default writes ops as BuildKit v0.32's client does: the daemon keeps their digests,
    # so the source map's keys name its vertices.
    context, text = _case(tmp_path)
    definition = generate(text, GenerateOptions()).definition
    ops = [digest_of(op) for op in getattr(ops_pb2.Definition.FromString(definition), "def")]
    assert set(ops[:-1]) <= solved_vertices(buildkit, definition, context)
    assert all(daemon_digests(definition)[d] == d for d in ops)


def test_an_op_without_a_oneof_keeps_its_bytes() -> None:
    terminal = b"\x0a\x49\x0a\x47" + b"sha256:" + b"0" * 64
    assert daemon_digests(b"\x0a" + bytes([len(terminal)]) + terminal) == {
        digest_of(terminal): digest_of(terminal)
    }
