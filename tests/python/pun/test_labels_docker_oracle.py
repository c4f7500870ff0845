"""LABEL values against Docker's own Dockerfile frontend: the same text built by plain `docker
build` (Docker Engine's built-in frontend, no pun involved) must give the labels pun reads.

Quotes, escapes, `# escape=`, continuations, ARG defaults and --build-arg, ENV and `${VAR:-x}` /
`${VAR:+x}` substitutions: the original pun kept single quotes in values; this proves pun now
reads every form exactly as `docker build` does. Needs Docker Engine (CI starts one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterator, Tuple

import pytest

from pun.api import GenerateOptions, read_plan
from pun_testing.docker_engine import DockerEngine, docker_engine, unique_tag

# name -> (Containerfile after FROM, build args)
LABEL_CASES: Dict[str, Tuple[str, Dict[str, str]]] = {
    "plain-and-quoted": ('LABEL a=b "c"="d" e="f g" h=i\\ j\n', {}),
    "single-quotes": ("LABEL s='single quoted' t='it''s' u='$NOT_EXPANDED'\n", {}),
    "escaped-quotes": ('LABEL q="\\"quoted\\"" r="back\\\\slash" v="tab\\there"\n', {}),
    "legacy-form": ("LABEL legacy value with   spaces\n", {}),
    "continuation": ('LABEL one=1 \\\n      two="2 two" \\\n      three=3\n', {}),
    "duplicates": ("LABEL k=first\nLABEL k=second other=x\n", {}),
    "arg-default": ("ARG VERSION=1.2.3\nLABEL v=$VERSION w=\"${VERSION}-x\" x='$VERSION'\n", {}),
    "build-arg": ("ARG VERSION=1.0\nLABEL v=$VERSION\n", {"VERSION": "9.9"}),
    "env": ('ENV CMDLINE="redis-server /data/redis.conf"\nLABEL c="$CMDLINE --port 80"\n', {}),
    "defaults": (
        'ARG EMPTY\nLABEL d="${UNSET:-fallback}" e="${EMPTY:+alt}" f="${UNSET:+alt}"\n',
        {},
    ),
    "unicode-and-html": ('LABEL u="héllo ✓" h="<b>&</b>"\n', {}),
    "equals-in-value": ('LABEL cmd=a=b=c opts="--x=1 --y=2"\n', {}),
    "quoted-key-and-empty": ('LABEL "key with space"=v e="" f=\n', {}),
    "backslash-letters": ("LABEL n=\"a\\nb\" m=a\\nb o='a\\nb'\n", {}),
    "unset-variables": ("LABEL x=$UNSET_VAR y=${UNSET}z z=pre$UNSET\n", {}),
    "comment-in-continuation": ("LABEL a=1 \\\n# a comment line\n      b=2\n", {}),
    "dollar-escapes": ('ARG V=val\nLABEL a="\\$V" b=\\$V c=\'$V\' d="$$V"\n', {}),
}

# Whole files: ARG scope across FROM.
FILE_CASES: Dict[str, str] = {
    "arg-before-from-is-not-seen": 'ARG V=before\nFROM scratch\nLABEL v="[$V]"\n',
    "arg-before-from-redeclared": "ARG V=before\nFROM scratch\nARG V\nLABEL v=$V\n",
    "arg-redeclared-with-default": "ARG V=before\nFROM scratch\nARG V=after\nLABEL v=$V\n",
}


@pytest.fixture(scope="module")
def engine() -> Iterator[DockerEngine]:
    yield docker_engine()


def docker_labels(
    engine: DockerEngine, workdir: Path, text: str, build_args: Dict[str, str]
) -> Dict[str, str]:
    (workdir / "Dockerfile").write_text(text)
    tag = f"pun-labels/oracle:{unique_tag()}"
    flags = [
        flag for key, value in build_args.items() for flag in ("--build-arg", f"{key}={value}")
    ]
    result = engine.build(workdir, "Dockerfile", tag, *flags)
    assert result.code == 0, result.output
    try:
        labels: Dict[str, str] = engine.inspect(tag)["Config"]["Labels"] or {}
    finally:
        engine.remove_image(tag)
    return labels


@pytest.mark.parametrize("case", list(LABEL_CASES))
def test_labels_read_like_docker_build(engine: DockerEngine, case: str, tmp_path: Path) -> None:
    body, build_args = LABEL_CASES[case]
    text = "FROM scratch\n" + body
    expected = docker_labels(engine, tmp_path, text, build_args)
    plan = read_plan(text, GenerateOptions(build_args=build_args))
    assert plan.label_values() == expected


def test_escape_directive_like_docker_build(engine: DockerEngine, tmp_path: Path) -> None:
    text = '# escape=`\nFROM scratch\nLABEL p=C:\\path\\to `\n      q="a`"b"\n'
    expected = docker_labels(engine, tmp_path, text, {})
    assert read_plan(text).label_values() == expected


@pytest.mark.parametrize("case", list(FILE_CASES))
def test_arg_scope_like_docker_build(engine: DockerEngine, case: str, tmp_path: Path) -> None:
    text = FILE_CASES[case]
    expected = docker_labels(engine, tmp_path, text, {})
    assert read_plan(text).label_values() == expected
