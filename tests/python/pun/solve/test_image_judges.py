"""Image archives judged by independent tools: skopeo and umoci read the OCI archive, Docker
Engine 20.10 loads the docker archive, and each sees the files and labels we put in."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any, Dict

import pytest

from pun_testing.building import pun_build
from pun_testing.rootfs import listing, writable_copy
from pun_testing.shared import CASES
from pun_testing.tools import docker_env, require, require_docker, run

CASE = "rumprun-redis"
NAME = "pun.test/unikernels/redis:1.0"


def build(tmp_path: Path, output: str, *extra: str) -> Dict[str, Any]:
    context = tmp_path / "context"
    if not context.exists():
        writable_copy(CASES / CASE, context)
    result = pun_build(
        ["--context", str(context), "--output", output, "--metadata-file", "-", *extra],
        tmp_path / "cache",
    )
    assert result.code == 0, result.err
    return json.loads(result.out)


def member_bytes(tar: tarfile.TarFile, name: str) -> bytes:
    handle = tar.extractfile(name)
    assert handle is not None
    return handle.read()


def expected_labels() -> Dict[str, str]:
    return {
        "com.urunc.unikernel.binary": "/unikernel/test-redis.hvt",
        "com.urunc.unikernel.cmdline": "redis-server /data/conf/redis.conf",
        "com.urunc.unikernel.hypervisor": "hvt",
        "com.urunc.unikernel.unikernelType": "rumprun",
    }


def test_skopeo_reads_the_oci_archive(tmp_path: Path) -> None:
    skopeo = require("skopeo")
    archive = tmp_path / "image.tar"
    meta = build(tmp_path, f"type=oci,dest={archive}")
    info = json.loads(run([skopeo, "inspect", f"oci-archive:{archive}"]).stdout)
    assert info["Digest"] == meta["containerimage.digest"]
    assert info["Labels"] == expected_labels()
    assert (info["Os"], info["Architecture"]) == ("linux", "amd64")
    assert len(info["Layers"]) == 3  # one per FileOp: two COPYs and /urunc.json
    raw = json.loads(run([skopeo, "inspect", "--raw", f"oci-archive:{archive}"]).stdout)
    assert raw["annotations"] == expected_labels()
    assert raw["mediaType"] == "application/vnd.oci.image.manifest.v1+json"


def test_skopeo_copies_and_umoci_unpacks_the_same_files(tmp_path: Path) -> None:
    skopeo, umoci = require("skopeo"), require("umoci")
    archive = tmp_path / "image.tar"
    build(tmp_path, f"type=oci,dest={archive},name={NAME}")
    layout = tmp_path / "layout"
    # skopeo re-reads every blob (verifying digests) while copying into a fresh layout.
    run([skopeo, "copy", f"oci-archive:{archive}", f"oci:{layout}:copied"])
    bundle = tmp_path / "bundle"
    run([umoci, "unpack", "--image", f"{layout}:copied", str(bundle)])
    expected = (CASES / CASE / "expected" / "rootfs.txt").read_text().splitlines()
    assert listing(bundle / "rootfs") == sorted(line for line in expected if line)
    # umoci turns the image config's labels into the runtime bundle's annotations.
    config = json.loads((bundle / "config.json").read_text())
    assert expected_labels().items() <= config["annotations"].items()


def test_docker_load_shows_the_labels(tmp_path: Path) -> None:
    docker = require_docker()
    archive = tmp_path / "image.tar"
    meta = build(tmp_path, f"type=docker,dest={archive},name={NAME}")
    try:
        loaded = run([docker, "load", "-i", str(archive)], env=docker_env()).stdout.decode()
        assert f"Loaded image: {NAME}" in loaded
        inspected = json.loads(run([docker, "image", "inspect", NAME], env=docker_env()).stdout)[0]
        assert inspected["Config"]["Labels"] == expected_labels()
        assert inspected["Id"] == meta["containerimage.config.digest"]
        assert len(inspected["RootFS"]["Layers"]) == 3
    finally:
        run([docker, "image", "rm", "-f", NAME], env=docker_env(), check=False)


def test_docker_archive_is_also_an_oci_layout(tmp_path: Path) -> None:
    skopeo = require("skopeo")
    archive = tmp_path / "image.tar"
    build(tmp_path, f"type=docker,dest={archive},name={NAME}")
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
        manifest = json.loads(member_bytes(tar, "manifest.json"))
        repositories = json.loads(member_bytes(tar, "repositories"))
    assert {"oci-layout", "index.json", "manifest.json", "repositories"} <= names
    assert manifest[0]["RepoTags"] == [NAME]
    assert list(repositories) == ["pun.test/unikernels/redis"]
    info = json.loads(run([skopeo, "inspect", f"docker-archive:{archive}"]).stdout)
    assert info["Labels"] == expected_labels()
    info = json.loads(run([skopeo, "inspect", f"oci-archive:{archive}"]).stdout)
    assert info["Labels"] == expected_labels()


def test_two_builds_from_clean_caches_are_identical(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    meta_a = build(first, f"type=oci,dest={first / 'image.tar'}")
    meta_b = build(second, f"type=oci,dest={second / 'image.tar'}")
    assert meta_a["containerimage.digest"] == meta_b["containerimage.digest"]
    assert (first / "image.tar").read_bytes() == (second / "image.tar").read_bytes()


def test_source_date_epoch_sets_created_and_clamps_mtimes(tmp_path: Path) -> None:
    skopeo = require("skopeo")
    archive = tmp_path / "image.tar"
    zero = build(tmp_path, f"type=oci,dest={archive}")
    later = build(tmp_path, f"type=oci,dest={archive}", "--source-date-epoch", "1700000000")
    assert zero["containerimage.digest"] != later["containerimage.digest"]
    info = json.loads(run([skopeo, "inspect", f"oci-archive:{archive}"]).stdout)
    assert info["Created"] == "2023-11-14T22:13:20Z"


@pytest.mark.parametrize("flag, layers", [([], 3), (["--squash"], 1)])
def test_squash_gives_one_layer(tmp_path: Path, flag: list, layers: int) -> None:
    skopeo, umoci = require("skopeo"), require("umoci")
    archive = tmp_path / "image.tar"
    build(tmp_path, f"type=oci,dest={archive},name={NAME}", *flag)
    info = json.loads(run([skopeo, "inspect", f"oci-archive:{archive}"]).stdout)
    assert len(info["Layers"]) == layers
    layout = tmp_path / "layout"
    layout.mkdir()
    with tarfile.open(archive) as tar:
        tar.extractall(layout)
    run([umoci, "unpack", "--image", f"{layout}:1.0", str(tmp_path / "bundle")])
    expected = (CASES / CASE / "expected" / "rootfs.txt").read_text().splitlines()
    assert listing(tmp_path / "bundle" / "rootfs") == sorted(line for line in expected if line)


def test_docker_load_of_an_untagged_name_gets_latest(tmp_path: Path) -> None:
    # docker load rejects RepoTags without a tag ("invalid tag"); docker save writes name:latest.
    docker = require_docker()
    archive = tmp_path / "image.tar"
    untagged = "pun.test/unikernels/untagged"
    build(tmp_path, f"type=docker,dest={archive},name={untagged}")
    try:
        loaded = run([docker, "load", "-i", str(archive)], env=docker_env()).stdout.decode()
        assert f"Loaded image: {untagged}:latest" in loaded
    finally:
        run([docker, "image", "rm", "-f", f"{untagged}:latest"], env=docker_env(), check=False)
