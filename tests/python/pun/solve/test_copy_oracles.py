"""COPY as `docker build` makes it: each rule built by BuildKit's own Dockerfile frontend (a real
buildkitd v0.32), by Docker Engine, by a real BuildKit from pun's LLB, and by `pun build
--builder embedded`; the root filesystems must agree entry for entry (path, type, mode, owner,
content, link target; `/urunc.json` aside).

Docker Engine 20.10's builtin BuildKit is older than v0.32: where it differs the case says so
(`docker_differs`) and the test pins the old behaviour instead of hiding it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Mapping, NamedTuple, Optional

import pytest

from pun.api import GenerateOptions, generate
from pun.cli.options import context_excludes
from pun_testing.building import pun_build
from pun_testing.trees import (
    buildkit_dockerfile,
    buildkit_llb,
    differences,
    docker_build,
    tree,
    tree_of_tar,
    write_context,
)


class Case(NamedTuple):
    files: Mapping[str, Optional[str]]
    containerfile: str
    # Why Docker Engine 20.10's older frontend gives another tree (None: it agrees).
    docker_differs: Optional[str] = None


DATA = {"data/one": "1", "data/sub/two": "2"}
CASES: Dict[str, Case] = {
    "dir-contents-into-trailing-slash": Case(DATA, "COPY data/ /srv/d/\n"),
    "dir-contents-onto-a-new-path": Case(DATA, "COPY data /srv/new\n"),
    "same-dir-twice-onto-etc": Case(
        {"etc/hosts": "h", "etc/app/conf": "c"}, "COPY etc /etc\nCOPY etc /etc\n"
    ),
    "dir-onto-an-existing-dir": Case(
        {**DATA, "other/x": "x"}, "COPY other /srv/\nCOPY data /srv/\n"
    ),
    "source-symlink-to-a-file-is-followed": Case(
        {"etc/passwd": "ctx-passwd", "leak": "-> /etc/passwd", "rel": "-> etc/passwd"},
        "COPY leak /leak\nCOPY rel /dir/\n",
    ),
    "source-symlink-to-a-dir-is-followed": Case(
        {**DATA, "lnk": "-> data"}, "COPY lnk /l/\nCOPY lnk /m\n"
    ),
    "inner-symlinks-stay-links": Case(
        {**DATA, "data/abs": "-> /etc/passwd", "data/up": "-> ../data/one"}, "COPY data /d\n"
    ),
    "wildcards": Case(
        {"a.txt": "a", "b.txt": "b", "c.bin": "c", "d1/x": "x", "d2/y": "y", ".h.txt": "h"},
        "COPY *.txt /t/\nCOPY d? /w/\nCOPY [ab].txt /c/\nCOPY *.none /n/\n",
    ),
    "wildcard-matching-a-symlink-follows-it": Case(
        {"real.txt": "r", "via.txt": "-> real.txt"}, "COPY v*.txt /v/\n"
    ),
    "workdir-relative-destinations": Case(
        {"a.txt": "a", **DATA},
        "WORKDIR /app\nCOPY a.txt .\nCOPY a.txt rel/\nWORKDIR sub\nCOPY a.txt x\n"
        "COPY data ./d/\nWORKDIR /empty/dir\n",
    ),
    "chmod-and-chown-on-a-directory": Case(
        DATA,
        "COPY --chmod=700 --chown=1000:2000 data /o/p/\n",
        docker_differs="Docker 20.10's BuildKit leaves --chmod off the parents a COPY creates",
    ),
    "chown-with-an-empty-user-or-group": Case(
        # An empty part is id 0 (client/llb/fileop.go UserOpt.marshal): 0:1000 and 1000:0.
        {"f": "f"},
        "COPY --chown=:1000 f /a\nCOPY --chown=1000: f /b\nCOPY --chown=1000 f /c\n",
    ),
    "json-form-with-spaces": Case(
        {"a b.txt": "ab", "c d/e": "e"}, 'COPY ["a b.txt", "c d", "/sp ace/"]\n'
    ),
    "dot-copies-the-whole-context": Case({**DATA, ".hidden": "h"}, "COPY . /all/\n"),
    "dockerignore-patterns-and-exceptions": Case(
        {
            **DATA,
            "a.tmp": "t",
            "keep.tmp": "k",
            "secret/key": "s",
            "deep/x/y.bak": "b",
            "data/sub/three.bak": "3",
            ".dockerignore": "# comment\n*.tmp\n!keep.tmp\nsecret/\n**/*.bak\n",
        },
        "COPY . /all/\nCOPY data /d/\n",
    ),
    "dockerignore-excluded-dir-with-an-exception-inside": Case(
        {**DATA, "data/three": "3", ".dockerignore": "data\n!data/sub/two\n"},
        "COPY . /all/\n",
    ),
    "dockerignore-wildcard-exception-walks-excluded-dirs": Case(
        {**DATA, "notes/a.md": "a", "notes/b.txt": "b", ".dockerignore": "notes\n!**/*.md\n"},
        "COPY . /all/\n",
        docker_differs="Docker 20.10's fsutil drops a wildcard `!` exception in an excluded dir",
    ),
    "containerfile-dockerignore-wins": Case(
        {
            **DATA,
            ".dockerignore": "data/one\n",
            "Containerfile.dockerignore": "data/sub\n",
        },
        "COPY data /d/\n",
    ),
}


def make(tmp_path: Path, case: Case) -> Path:
    context = write_context(tmp_path / "ctx", case.files)
    (context / "Containerfile").write_text("FROM scratch\n" + case.containerfile)
    return context


def embedded(tmp_path: Path, context: Path) -> Path:
    dest = tmp_path / "pun"
    run = pun_build(
        ["--context", str(context), "--output", f"type=local,dest={dest}"], tmp_path / "cache"
    )
    assert run.code == 0, run.err
    return dest


def assert_same(oracle_tar: Path, ours: Path) -> None:
    expected = tree_of_tar(oracle_tar)
    actual = tree_of_tar(ours) if ours.is_file() else tree(ours)
    assert actual == expected, differences(expected, actual)


@pytest.mark.parametrize("name", sorted(CASES))
def test_embedded_builder_matches_buildkits_dockerfile_frontend(name: str, tmp_path: Path) -> None:
    context = make(tmp_path, CASES[name])
    oracle = tmp_path / "buildkit.tar"
    buildkit_dockerfile(context, oracle)
    assert_same(oracle, embedded(tmp_path, context))


@pytest.mark.parametrize("name", sorted(CASES))
def test_puns_llb_through_buildkit_matches_its_dockerfile_frontend(
    name: str, tmp_path: Path
) -> None:
    context = make(tmp_path, CASES[name])
    path = context / "Containerfile"
    options = GenerateOptions(
        path=str(path), context_excludes=context_excludes(str(context), str(path), "docker")
    )
    oracle, ours = tmp_path / "frontend.tar", tmp_path / "llb.tar"
    buildkit_dockerfile(context, oracle)
    buildkit_llb(generate(path.read_text(), options).definition, context, ours)
    assert_same(oracle, ours)


@pytest.mark.parametrize("name", sorted(CASES))
def test_embedded_builder_against_docker_engine(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    context = make(tmp_path, case)
    oracle = tmp_path / "docker.tar"
    docker_build(context, oracle)
    ours = embedded(tmp_path, context)
    if case.docker_differs is None:
        assert_same(oracle, ours)
    else:
        # Pinned so that a newer Engine that agrees shows up here.
        assert tree_of_tar(oracle) != tree(ours), f"Docker now agrees: {case.docker_differs}"
