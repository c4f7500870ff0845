"""End to end: a team's shared remote cache (a real REAPI server, BuildGrid on loopback).

Machine A packages examples:: with a fresh local store and fresh named caches and writes every
process result to the remote cache. Machine B (another fresh local store and named caches, the
same sources) then packages again: every unikernel_image build must be answered by the remote
cache (Pants' own debug log of remote hits, and the `remote_cache_requests_cached` counter), and
its dist/ must be byte-identical to A's.

Pants 2.17 races a local run against the remote lookup, so a spawned local process can show up
even on a hit; the remote-hit lines are what says no build was needed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

from pun_testing.buildgrid import BuildGrid, buildgrid
from pun_testing.scratch_repo import BUILD_PREFIX, ScratchRepo, copy_examples, make_scratch_repo

__all__ = ["buildgrid"]  # pytest fixture, used by name below

IMAGES = ["examples/hello-shell:hello", "examples/rumprun-redis:redis"]
LOGS = (
    "--log-levels-by-target={'process_execution::local': 'debug', "
    "'remote::remote_cache': 'debug'}"
)
_REMOTE_HIT = re.compile(r'remote cache hit for: "((?:[^"\\]|\\.)*)"')


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScratchRepo]:
    scratch = make_scratch_repo(tmp_path_factory.mktemp("scratch-remote") / "repo")
    copy_examples(scratch)
    yield scratch


def machine(root: Path, name: str) -> List[str]:
    """A machine of its own: nothing shared with another but the sources and the remote."""
    return [
        f"--local-store-dir={root / name / 'lmdb_store'}",
        f"--named-caches-dir={root / name / 'named_caches'}",
        f"--pants-distdir=dist-{name}",
    ]


def dist_files(root: Path) -> Dict[str, bytes]:
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {str(p.relative_to(root)): p.read_bytes() for p in files}


def test_a_second_machine_builds_no_image(
    repo: ScratchRepo, buildgrid: BuildGrid, tmp_path: Path
) -> None:
    remote = buildgrid.pants_options()
    repo.pants(*remote, *machine(tmp_path, "a"), "package", "examples::").check()

    second = repo.pants(
        *remote, *machine(tmp_path, "b"), LOGS, "--stats-log", "package", "examples::"
    ).check()

    hits = [d for d in _REMOTE_HIT.findall(second.stderr) if d.startswith(BUILD_PREFIX)]
    assert sorted(d[len(BUILD_PREFIX) :] for d in hits) == IMAGES, second.stderr[-6000:]
    assert second.counters()["remote_cache_requests_cached"] >= len(IMAGES)
    first_dist, second_dist = dist_files(repo.root / "dist-a"), dist_files(repo.root / "dist-b")
    assert {name for name in first_dist if name.endswith(".oci.tar")} == {
        "examples.hello-shell/hello.oci.tar",
        "examples.rumprun-redis/redis.oci.tar",
    }
    assert second_dist == first_dist
