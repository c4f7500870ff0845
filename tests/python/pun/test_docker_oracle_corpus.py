"""The oracle test: a seeded corpus of generated Containerfiles over random contexts
(pun_testing/oracle_corpus.py), each built by Docker Engine's own Dockerfile frontend and by
`pun build --builder embedded`; both must make the same image, every case: the same files
(path, kind, mode, owner, content, link target; pun's `/urunc.json` aside) and the same config
fields (Env, Cmd, Entrypoint, WorkingDir, User, ExposedPorts, Labels, StopSignal, Volumes, ...)
and platform.

Also, for every tenth case, pun's frontend image through the same engine (`#syntax=`) must
make what plain `docker build` makes; and a standalone current BuildKit's `dockerfile.v0`
frontend (BUILDCTL + BUILDKIT_HOST: skipped without them locally, failed under CI=true, where
.ci/run starts one) is a second oracle for pun, without the exception below.

Two exceptions, where Docker 20.10's BuildKit and current BuildKit disagree and pun follows
current BuildKit (and so a current `docker build`), both measured with Docker 20.10.24 and
BuildKit v0.32.2 on the same Containerfile:
- `COPY --chmod=M src /x/y/` creates `/x` and `/x/y` with M's permission bits in current
  BuildKit (tonistiigi/fsutil `copy/copy.go`, `Copy`: `MkdirAll(…, os.FileMode(M))`, and a
  Go FileMode has no 0o4000/0o2000/0o1000 bits, so 4755 gives 0755), 0755 in Docker 20.10's;
- `COPY --chmod=4755` (or 2750: setuid, setgid, sticky) keeps those bits on the files and
  directories it copies in current BuildKit (`-rwsr-xr-x`) and drops them in Docker 20.10's
  (`-rwxr-xr-x`).
`docker_20_10_quirks` excuses exactly these row differences against Docker 20.10, nothing
else; the comparison with current BuildKit is strict, and a third test checks that the two
oracles differ only there.

$PUN_ORACLE_SEED and $PUN_ORACLE_CASES pick another corpus (defaults: 20261201, 200 cases).
A failure prints the case's Containerfile, its context, the differences and the command that
writes the case out for a build by hand.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import pytest

from pun_testing.buildkit import BuildKit, buildkit
from pun_testing.docker_engine import DockerEngine, docker_engine, push_archive, unique_tag
from pun_testing.frontend_image import frontend_archive
from pun_testing.oracle_builders import (
    buildkit_outcome,
    docker_outcome,
    pun_outcome,
    with_syntax_line,
)
from pun_testing.oracle_compare import (
    PUN_ONLY_PATHS,
    Excuse,
    FileRow,
    Outcome,
    differences,
    unified,
)
from pun_testing.oracle_corpus import Case, corpus_from_environment, describe
from pun_testing.registry import Registry, start_registry, stop_registry
from pun_testing.tools import require

CORPUS = corpus_from_environment()
__all__ = ["buildkit"]  # pytest fixture, used by name below

FRONTEND_SUBSET = CORPUS[::10]
CHMOD = re.compile(r"--chmod=([0-7]+)")


@pytest.fixture(scope="module")
def engine() -> DockerEngine:
    return docker_engine()


Built = Tuple[Path, Path, Path, Outcome]  # workdir, Containerfile, context, docker's outcome


class Oracle:
    """Each case materialized and built by `docker build` once per module: the cases this
    session selected, a few at a time (the engine's builds wait on I/O and RPCs more than on
    the CPU), before the first comparison. The frontend subset likewise, on first use."""

    WORKERS = 3

    def __init__(self, engine: DockerEngine, root: Path, selected: Dict[str, List[Case]]):
        self.engine, self.root, self.selected = engine, root, selected
        self.built: Dict[int, Built] = {}
        self.through_frontend: Dict[int, Outcome] = {}
        self.cache_misses: List[str] = []
        self.tags: List[str] = []

    def prepare(self) -> None:
        cases = self.selected.get("oracle", [])
        with ThreadPoolExecutor(self.WORKERS) as pool:
            for case, result in zip(cases, pool.map(self._build, cases)):
                self.built[case.index] = result

    def _build(self, case: Case) -> Built:
        workdir = self.root / case.name
        containerfile, context = case.materialize(workdir)
        outcome, cached, tag = docker_outcome(
            self.engine, containerfile, context, case.build_args, workdir
        )
        self._note(case, cached, tag)
        return workdir, containerfile, context, outcome

    def _note(self, case: Case, cached: bool, tag: str) -> None:
        if not cached:
            self.cache_misses.append(case.name)
        if tag:
            self.tags.append(tag)

    def __call__(self, case: Case) -> Built:
        if case.index not in self.built:
            self.built[case.index] = self._build(case)
        return self.built[case.index]

    def frontend(self, case: Case, reference: str) -> Outcome:
        """The case built through pun's frontend image (`#syntax=reference`)."""
        if not self.through_frontend:
            cases = [c for c in self.selected.get("frontend", []) if c.index != case.index]
            with ThreadPoolExecutor(self.WORKERS) as pool:
                outcomes = list(pool.map(lambda c: self._frontend(c, reference), cases))
            self.through_frontend.update(zip((c.index for c in cases), outcomes))
        if case.index not in self.through_frontend:
            self.through_frontend[case.index] = self._frontend(case, reference)
        return self.through_frontend[case.index]

    def _frontend(self, case: Case, reference: str) -> Outcome:
        workdir, containerfile, context, _ = self(case)
        syntax = with_syntax_line(containerfile, reference, workdir / "Containerfile.frontend")
        outcome, cached, tag = docker_outcome(
            self.engine, syntax, context, case.build_args, workdir, "frontend", skip=PUN_ONLY_PATHS
        )
        self._note(case, cached, tag)
        return outcome

    def remove_images(self) -> None:
        for start in range(0, len(self.tags), 50):
            self.engine.run("image", "rm", "--force", *self.tags[start : start + 50], check=False)


def selected_cases(request: pytest.FixtureRequest) -> Dict[str, List[Case]]:
    """The cases this session runs, by the fixture they need ("oracle", "frontend")."""
    found: Dict[str, Dict[int, Case]] = {"oracle": {}, "frontend": {}}
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if (
            getattr(item, "module", None) is not request.module
            or callspec is None
            or "case" not in callspec.params
        ):
            continue
        for name in found:
            if name in getattr(item, "fixturenames", ()):
                found[name][callspec.params["case"].index] = callspec.params["case"]
    return {name: [cases[i] for i in sorted(cases)] for name, cases in found.items()}


@pytest.fixture(scope="module")
def oracle(
    engine: DockerEngine, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Oracle]:
    oracle = Oracle(engine, tmp_path_factory.mktemp("oracle"), selected_cases(request))
    try:
        oracle.prepare()
        yield oracle
    finally:
        oracle.remove_images()
    # The config comes from a second `docker build -t`, meant to be the first one's cache hit.
    assert not oracle.cache_misses, f"second docker build not cached: {oracle.cache_misses}"


def docker_20_10_quirks(case: Case) -> Excuse:
    """The two excused differences against Docker 20.10 (module docstring), each a row equal
    but for its mode:
    - a directory docker made 0755 where pun gave it the permission bits of one of the case's
      `COPY --chmod`s (a directory that copy created);
    - an entry copied from the context (a file, or a directory: its name is a context
      directory's, which no destination uses) whose mode is a `--chmod` with setuid, setgid or
      sticky bits that docker dropped."""
    modes = {int(m, 8) for m in CHMOD.findall(case.containerfile)}
    context_dirs = {e.path.rsplit("/", 1)[-1] for e in case.entries if e.kind == "dir"}

    def excused(path: str, docker: Optional[FileRow], pun: Optional[FileRow]) -> bool:
        if docker is None or pun is None or docker[0] != pun[0] or docker[2:] != pun[2:]:
            return False
        want, got = int(docker[1] or "0", 8), int(pun[1] or "0", 8)
        if docker[0] == "dir" and want == 0o755 and got in {m & 0o777 for m in modes}:
            return True
        copied = docker[0] == "file" or path.rsplit("/", 1)[-1] in context_dirs
        return copied and got in modes and got & 0o7000 != 0 and want == got & 0o777

    return excused


def report(case: Case, found: list, expected: Outcome, actual: Outcome) -> str:
    text = describe(case) + "differences:\n" + "\n".join(f"  {d}" for d in found) + "\n"
    if not (expected.failed or actual.failed):
        text += "whole listing:\n" + unified(expected, actual) + "\n"
    if actual.log:
        text += f"{actual.builder} warnings:\n{actual.log}\n"
    return text


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.name)
def test_pun_build_makes_what_docker_build_makes(oracle: Oracle, case: Case) -> None:
    workdir, containerfile, context, docker = oracle(case)
    pun = pun_outcome(containerfile, context, case.build_args, workdir)
    found = differences(docker, pun, excused=docker_20_10_quirks(case))
    if found:
        pytest.fail(report(case, found, docker, pun), pytrace=False)


# --- pun's frontend image through the same engine --------------------------------------------


@pytest.fixture(scope="module")
def frontend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The frontend image (//:pun-frontend), pushed under a tag no daemon resolved before."""
    archive = frontend_archive()
    require("skopeo")
    registry: Registry
    registry, process = start_registry(tmp_path_factory.mktemp("registry"))
    try:
        reference = f"{registry.host}/pun:{unique_tag('oracle')}"
        push_archive(archive, reference)
        yield reference
    finally:
        stop_registry(process)


@pytest.mark.parametrize("case", FRONTEND_SUBSET, ids=lambda case: case.name)
def test_the_frontend_makes_what_docker_build_makes(
    oracle: Oracle, frontend: str, case: Case
) -> None:
    docker = oracle(case)[3]
    outcome = oracle.frontend(case, frontend)
    found = differences(docker, outcome, excused=docker_20_10_quirks(case))
    if found:
        pytest.fail(report(case, found, docker, outcome), pytrace=False)


# --- current BuildKit's own Dockerfile frontend (required in CI) --------------------------------


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.name)
def test_pun_build_makes_what_buildkit_makes(
    case: Case, buildkit: BuildKit, tmp_path: Path
) -> None:
    containerfile, context = case.materialize(tmp_path / "case")
    outcome = buildkit_outcome(
        buildkit.buildctl, buildkit.host, containerfile, context, case.build_args, tmp_path
    )
    pun = pun_outcome(containerfile, context, case.build_args, tmp_path)
    found = differences(outcome, pun)
    if found:
        pytest.fail(report(case, found, outcome, pun), pytrace=False)


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.name)
def test_the_two_oracles_differ_only_by_the_documented_quirks(
    oracle: Oracle, case: Case, buildkit: BuildKit, tmp_path: Path
) -> None:
    _, containerfile, context, docker = oracle(case)
    outcome = buildkit_outcome(
        buildkit.buildctl, buildkit.host, containerfile, context, case.build_args, tmp_path
    )
    found = differences(docker, outcome, excused=docker_20_10_quirks(case))
    if found:
        pytest.fail(report(case, found, docker, outcome), pytrace=False)
