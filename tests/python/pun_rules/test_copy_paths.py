"""The Pants COPY check takes exactly the files the build copies (one Go matcher for both)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Set

import pytest

from pun.solve.context import ContextDir, resolve_wildcards
from pun_rules.util_rules.copy_paths import matching, normalize_source

FILES = [
    "appa.hvt",
    "appb.hvt",
    "app!.hvt",
    "a*b",
    "axb",
    "a\\*b",
    "conf/redis.conf",
    "conf/extra/x.conf",
    "conf.d/y.conf",
    "bin/app",
    "bin/tool.hvt",
]

SOURCES = [
    "app[^b].hvt",  # fnmatch reads `^` as a member
    "app[!b].hvt",  # fnmatch reads `!` as negation
    "a\\*b",  # fnmatch reads `\` as a member; here it escapes `*`
    "a*b",
    "*.hvt",
    "conf",
    "conf/",
    "conf*",
    "conf/*",
    "*/*.hvt",
    "bin/?pp",
    "[",  # malformed: takes nothing
    "c[/]*",  # a class may take `/`
    ".",
]


def what_the_build_takes(root: Path, source: str) -> Set[str]:
    """Files below what the solver's wildcard resolution returns, context-relative."""
    context = ContextDir.open(str(root))
    taken: Set[str] = set()
    for match in resolve_wildcards(context, "/" + normalize_source(source), follow_links=False):
        host = root / match.lstrip("/")
        if host.is_dir():
            for dirpath, _, filenames in os.walk(host):
                taken.update(str((Path(dirpath) / f).relative_to(root)) for f in filenames)
        elif host.exists():
            taken.add(match.lstrip("/"))
    return taken


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("context")
    for name in FILES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name)
    return root


@pytest.mark.parametrize("source", SOURCES)
def test_the_check_agrees_with_the_build(context: Path, source: str) -> None:
    checked: List[str] = matching(normalize_source(source), FILES)
    assert set(checked) == what_the_build_takes(context, source)


@pytest.mark.parametrize(
    "source, expected",
    [
        ("app[^b].hvt", ["app!.hvt", "appa.hvt"]),
        ("app[!b].hvt", ["app!.hvt", "appb.hvt"]),  # `!` and `b` are both members
        ("a\\*b", ["a\\*b"]),  # an escaped `*` is no wildcard: the file of that very name
        ("[", []),
    ],
)
def test_go_rules_not_fnmatch(source: str, expected: List[str]) -> None:
    assert sorted(matching(normalize_source(source), FILES)) == expected
