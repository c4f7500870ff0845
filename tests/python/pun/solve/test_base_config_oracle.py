"""The base image's config decides what a Containerfile means, as in `docker build`: `$VAR` sees
the base's Env, relative WORKDIR/COPY destinations resolve on its WorkingDir, and the directory
WORKDIR creates is owned by its User (BuildKit v0.32.2 `dockerfile2llb/convert.go`
toDispatchState, dispatchWorkdir). Judged by Docker Engine (`docker build` + `docker image
inspect` for the config, `--output type=tar` for the files) against `pun build` with both
builders, over a hand-made base image (tarfile + json, not pun's image code) in a local registry.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from pun_testing.building import pun_build
from pun_testing.buildkit import require_buildkit
from pun_testing.docker_engine import docker_engine, unique_tag
from pun_testing.images import config_layout
from pun_testing.oracle_builders import oci_config, oci_manifest
from pun_testing.registry import push_layout, start_registry, stop_registry
from pun_testing.rootfs import umoci_rootfs
from pun_testing.trees import differences, docker_build, tree, tree_of_tar, write_context

BASE_CONFIG = {
    "Env": ["PATH=/basebin:/usr/bin", "BASE=one", "SHARED=base", "APPDIR=/app"],
    "WorkingDir": "/srv",
    "User": "app",
}
# Every rule at once: the base's Env in ENV and LABEL values (also through ${X:-d} and an ARG
# default), an ARG without a value that leaves the base's variable alone (a --build-arg wins
# over it), a relative WORKDIR on the base's WorkingDir created as the base's User, relative
# COPY destinations under it.
CONTAINERFILE = """\
FROM {img}
ARG SHARED
ARG FROMARG=$BASE
ENV PATH=$PATH:/x MIX=${{BASE}}-two DEF=${{BASE:-unset}}
LABEL seen.shared=$SHARED seen.fromarg=$FROMARG
WORKDIR sub
COPY a.txt rel/
COPY b.txt .
"""
FILES = {"a.txt": "a", "b.txt": "b"}
SKIP = ("urunc.json",)


@pytest.fixture(scope="module")
def base_image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("base-config")
    registry, process = start_registry(work / "registry")
    try:
        layout = config_layout(work / "layout", BASE_CONFIG)
        ref = f"{registry.host}/base/config:1.0"
        push_layout(layout, ref)
        yield ref
    finally:
        stop_registry(process)


def _context(tmp_path: Path, image: str) -> Path:
    context = write_context(tmp_path / "ctx", {"Containerfile": "", **FILES})
    (context / "Containerfile").write_text(CONTAINERFILE.format(img=image))
    return context


def _docker(context: Path, tmp_path: Path, build_args: List[str]) -> Tuple[Dict[str, Any], Path]:
    engine = docker_engine()
    tag = unique_tag("pun-base-config")
    try:
        result = engine.build(context, "Containerfile", tag, *build_args)
        assert result.code == 0, result.output
        config = dict(engine.inspect(tag)["Config"])
    finally:
        engine.remove_image(tag)
    files = tmp_path / "docker.tar"
    docker_build(context, files, build_args=build_args)
    return config, files


FIELDS = ("Env", "WorkingDir", "User", "Labels")


@pytest.mark.parametrize("builder", ["embedded", "buildctl"])
@pytest.mark.parametrize("build_arg", [None, "SHARED=cli"])
def test_pun_build_reads_the_base_config_as_docker_build(
    builder: str, build_arg: Optional[str], tmp_path: Path, base_image: str
) -> None:
    context = _context(tmp_path, base_image)
    build_args = ["--build-arg", build_arg] if build_arg else []
    expected_config, docker_files = _docker(context, tmp_path, build_args)
    env: Dict[str, Optional[str]] = {}
    if builder == "buildctl":
        kit = require_buildkit()
        env = {"BUILDKIT_HOST": kit.host, "BUILDCTL": kit.buildctl}
    archive = tmp_path / "pun.tar"
    result = pun_build(
        [
            "--context",
            str(context),
            "--builder",
            builder,
            "--progress=quiet",
            "--output",
            f"type=oci,dest={archive}",
            *build_args,
        ],
        tmp_path / "cache",
        env,
    )
    assert result.code == 0, result.err
    # No warning about what the base image would have changed: it was resolved.
    assert "base image's" not in result.err, result.err
    config = oci_config(archive)["config"]
    assert {k: config.get(k) for k in FIELDS} == {k: expected_config.get(k) for k in FIELDS}
    # Stated facts, so that a Docker that changed shows up here too.
    assert "PATH=/basebin:/usr/bin:/x" in config["Env"]
    assert "MIX=one-two" in config["Env"] and "DEF=one" in config["Env"]
    assert config["Labels"]["seen.shared"] == ("cli" if build_arg else "base")
    assert config["Labels"]["seen.fromarg"] == "one"
    expected = tree_of_tar(docker_files, SKIP)
    actual = tree(umoci_rootfs(archive, tmp_path / "unpacked"), SKIP)
    assert actual == expected, differences(expected, actual)
    by_path = {entry[0]: entry for entry in actual}
    assert by_path["srv/sub"][1:5] == ("dir", "0755", 1234, 5678)  # the base's User
    assert by_path["srv/sub/rel/a.txt"][3:5] == (0, 0)
    assert "srv/sub/b.txt" in by_path


@pytest.mark.parametrize("builder", ["embedded", "buildctl"])
def test_an_error_without_the_base_config_is_no_error_with_it(
    builder: str, tmp_path: Path, base_image: str
) -> None:
    # Without the base's Env, WORKDIR $APPDIR is empty (an error); docker build reads the
    # base's APPDIR, and so must pun build, which resolves the base after that first plan.
    context = write_context(tmp_path / "ctx", {"Containerfile": "", **FILES})
    (context / "Containerfile").write_text(f"FROM {base_image}\nWORKDIR $APPDIR\nCOPY b.txt .\n")
    expected_config, docker_files = _docker(context, tmp_path, [])
    env: Dict[str, Optional[str]] = {}
    if builder == "buildctl":
        kit = require_buildkit()
        env = {"BUILDKIT_HOST": kit.host, "BUILDCTL": kit.buildctl}
    archive = tmp_path / "pun.tar"
    argv = ["--context", str(context), "--builder", builder, "--progress=quiet"]
    result = pun_build([*argv, "--output", f"type=oci,dest={archive}"], tmp_path / "cache", env)
    assert result.code == 0, result.err
    config = oci_config(archive)["config"]
    assert config["WorkingDir"] == expected_config["WorkingDir"] == "/app"
    expected = tree_of_tar(docker_files, SKIP)
    actual = tree(umoci_rootfs(archive, tmp_path / "unpacked"), SKIP)
    assert actual == expected, differences(expected, actual)
    assert "app/b.txt" in {entry[0] for entry in actual}


def test_pun_base_config_prints_the_fields_that_matter(
    base_image: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pun.cli.main import main

    code = main(["base-config", "--cache-dir", str(tmp_path / "cache"), base_image])
    out = capsys.readouterr().out
    assert code == 0
    assert json.loads(out) == {"config": BASE_CONFIG}  # the config the image was made with
    assert out.count("\n") == 1
    # Only the index, the manifest and the config were fetched: no layer blob.
    blobs = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert len(blobs) == 3, blobs


def test_from_scratch_starts_with_empty_images_path(tmp_path: Path) -> None:
    # BuildKit's emptyImage has PATH, and the stage's variables start from it: no base needed.
    context = write_context(tmp_path / "ctx", {"Containerfile": "", "a.txt": "a"})
    (context / "Containerfile").write_text(
        "FROM scratch\nENV PATH=$PATH:/x\nLABEL p=$PATH\nCOPY a.txt /a.txt\n"
    )
    engine = docker_engine()
    tag = unique_tag("pun-scratch-path")
    try:
        result = engine.build(context, "Containerfile", tag)
        assert result.code == 0, result.output
        expected = dict(engine.inspect(tag)["Config"])
    finally:
        engine.remove_image(tag)
    archive = tmp_path / "pun.tar"
    built = pun_build(
        ["--context", str(context), "--progress=quiet", "--output", f"type=oci,dest={archive}"],
        tmp_path / "cache",
    )
    assert built.code == 0, built.err
    config = oci_config(archive)["config"]
    assert config["Env"] == expected["Env"]
    assert config["Labels"]["p"] == expected["Labels"]["p"]
    assert config["Env"] == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/x"]


# urunc 0.7+ boots the image config's Entrypoint + Cmd, urunc 0.5/0.6 the cmdline annotation
# (URUNC-FACTS): over a base whose config has an Entrypoint, both must name the same guest.
ENTRYPOINT_BASE = {"Env": ["PATH=/usr/bin"], "Entrypoint": ["/init", "-v"], "Cmd": ["base"]}
URUNC_LABELS = (
    "COPY a.txt /app.hvt\n"
    "LABEL com.urunc.unikernel.binary=/app.hvt com.urunc.unikernel.unikernelType=rumprun\n"
    'LABEL com.urunc.unikernel.hypervisor=hvt com.urunc.unikernel.mountRootfs="false"\n'
)


@pytest.fixture(scope="module")
def entrypoint_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("entrypoint-base")
    registry, process = start_registry(work / "registry")
    try:
        ref = f"{registry.host}/base/entrypoint:1.0"
        push_layout(config_layout(work / "layout", ENTRYPOINT_BASE), ref)
        yield ref
    finally:
        stop_registry(process)


@pytest.mark.parametrize(
    "instruction, guest",
    [
        ('CMD ["-c", "/etc/x"]', "/init -v -c /etc/x"),  # the base's Entrypoint comes first
        ('LABEL com.urunc.unikernel.cmdline="srv /conf"', "srv /conf"),  # the label alone
    ],
)
def test_both_urunc_generations_boot_the_same_guest_over_a_base_entrypoint(
    instruction: str, guest: str, tmp_path: Path, entrypoint_base: str
) -> None:
    context = write_context(tmp_path / "ctx", {"Containerfile": "", "a.txt": "a"})
    (context / "Containerfile").write_text(f"FROM {entrypoint_base}\n{URUNC_LABELS}{instruction}\n")
    archive = tmp_path / "pun.tar"
    built = pun_build(
        ["--context", str(context), "--progress=quiet", "--output", f"type=oci,dest={archive}"],
        tmp_path / "cache",
    )
    assert built.code == 0, built.err
    assert "Entrypoint" not in built.err, built.err  # resolved: no warning about it
    config = oci_config(archive)["config"]
    booted_by_new_urunc = " ".join((config.get("Entrypoint") or []) + (config.get("Cmd") or []))
    assert booted_by_new_urunc == guest
    assert oci_manifest(archive)["annotations"]["com.urunc.unikernel.cmdline"] == guest
