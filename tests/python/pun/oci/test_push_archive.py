"""`pun push ARCHIVE NAME...` (an already-built archive, no second build) and the `pun build`
flags the Pants plugin relies on: `--annotation` and `--local-unique-id`.

skopeo, reading the real registry, is the judge of what was pushed."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any, Dict, List

import pytest

from pun.cli.main import main
from pun_testing.building import Run, environment, pun_build
from pun_testing.registry import Registry, registry
from pun_testing.rootfs import writable_copy
from pun_testing.shared import CASES
from pun_testing.tools import require, run

__all__ = ["registry"]  # pytest fixture, used by name below


def pun_push(capsys: pytest.CaptureFixture[str], argv: List[str]) -> Run:
    capsys.readouterr()
    with environment({"DOCKER_CONFIG": "/nonexistent"}):
        code = main(["push", *argv])
    captured = capsys.readouterr()
    return Run(code, captured.out.encode(), captured.err)


def build(tmp_path: Path, output: str, *extra: str) -> Dict[str, Any]:
    context = writable_copy(CASES / "rumprun-redis", tmp_path / "ctx")
    result = pun_build(
        ["--context", str(context), "--output", output, "--metadata-file", "-", *extra],
        tmp_path / "cache",
    )
    assert result.code == 0, result.err
    return dict(json.loads(result.out))


def read_member(tar: tarfile.TarFile, name: str) -> bytes:
    handle = tar.extractfile(name)
    assert handle is not None, name
    return handle.read()


def skopeo_raw(ref: str) -> Dict[str, Any]:
    argv = [require("skopeo"), "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"]
    return dict(json.loads(run(argv).stdout))


@pytest.mark.parametrize("kind", ["oci", "docker"])
def test_push_sends_the_archive_by_digest_and_tags(
    tmp_path: Path, registry: Registry, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "image.tar"
    meta = build(tmp_path, f"type={kind},dest={archive}", "--annotation", "org.example.k=v")
    digest = meta["containerimage.digest"]
    names = [f"{registry.host}/u/redis:1.0", f"{registry.host}/u/redis:extra"]

    result = pun_push(capsys, [str(archive), *names])

    assert result.code == 0, result.err
    assert result.out.decode() == f"{registry.host}/u/redis@{digest}\n"
    by_digest = skopeo_raw(f"{registry.host}/u/redis@{digest}")
    for name in names:
        assert skopeo_raw(name) == by_digest
    if kind == "oci":  # Docker schema 2 manifests have no annotations
        assert by_digest["annotations"]["org.example.k"] == "v"
        assert by_digest["annotations"]["com.urunc.unikernel.hypervisor"] == "hvt"


def test_push_refuses_a_file_that_is_not_an_archive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bogus = tmp_path / "Containerfile"
    bogus.write_text("FROM scratch\n")

    result = pun_push(capsys, [str(bogus), "127.0.0.1:1/x/y:1"])

    assert result.code == 1
    assert f"{bogus}: error: cannot read the archive" in result.err
    assert result.out == b""


def test_push_refuses_a_damaged_blob_before_pushing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "image.tar"
    digest = build(tmp_path, f"type=oci,dest={archive}")["containerimage.digest"]
    damaged = tmp_path / "damaged.tar"
    with tarfile.open(archive) as src, tarfile.open(damaged, "w") as dst:
        manifest = json.loads(read_member(src, "blobs/sha256/" + digest.split(":")[1]))
        first_layer = "blobs/sha256/" + manifest["layers"][0]["digest"].split(":")[1]
        for member in src.getmembers():
            if not member.isfile():
                dst.addfile(member)
                continue
            data = read_member(src, member.name)
            if member.name == first_layer:
                data = data[:-1] + bytes([data[-1] ^ 1])
            dst.addfile(member, io.BytesIO(data))

    # Port 1 is closed: a push that got past the check would fail differently.
    result = pun_push(capsys, [str(damaged), "127.0.0.1:1/x/y:1"])

    assert result.code == 1
    assert f"blob {manifest['layers'][0]['digest']} in the archive does not match" in result.err


def test_push_refuses_a_descriptor_with_the_wrong_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The manifest and index.json are rewritten consistently (digests match), but the first
    # layer's descriptor claims one byte too many: a registry would get a broken image.
    archive = tmp_path / "image.tar"
    digest = build(tmp_path, f"type=oci,dest={archive}")["containerimage.digest"]
    lying = tmp_path / "lying.tar"
    with tarfile.open(archive) as src:
        manifest = json.loads(read_member(src, "blobs/sha256/" + digest.split(":")[1]))
        manifest["layers"][0]["size"] += 1
        new_manifest = json.dumps(manifest).encode()
        new_digest = hashlib.sha256(new_manifest).hexdigest()
        index = json.loads(read_member(src, "index.json"))
        index["manifests"][0].update(digest=f"sha256:{new_digest}", size=len(new_manifest))
        replaced = {
            "index.json": json.dumps(index).encode(),
            f"blobs/sha256/{new_digest}": new_manifest,
        }
        with tarfile.open(lying, "w") as dst:
            for member in src.getmembers():
                if member.isfile() and member.name not in replaced:
                    dst.addfile(member, io.BytesIO(read_member(src, member.name)))
                elif not member.isfile():
                    dst.addfile(member)
            for name, data in replaced.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                dst.addfile(info, io.BytesIO(data))

    result = pun_push(capsys, [str(lying), "127.0.0.1:1/x/y:1"])

    assert result.code == 1
    layer = manifest["layers"][0]
    assert (
        f"blob {layer['digest']} is {layer['size'] - 1} bytes, but its descriptor says "
        f"{layer['size']}" in result.err
    )


def test_push_rejects_an_invalid_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "image.tar"
    build(tmp_path, f"type=oci,dest={archive}")

    result = pun_push(capsys, [str(archive), "127.0.0.1:5000/Upper/Case:1"])

    assert result.code == 1
    assert "cannot push to '127.0.0.1:5000/Upper/Case:1'" in result.err
    assert "must be lowercase" in result.err


def test_build_annotation_is_merged_over_the_labels(tmp_path: Path) -> None:
    archive = tmp_path / "image.tar"
    build(
        tmp_path,
        f"type=oci,dest={archive}",
        "--annotation",
        "com.urunc.unikernel.hypervisor=qemu",
        "--annotation",
        "org.example.extra=1",
    )
    with tarfile.open(archive) as tar:
        index = json.loads(read_member(tar, "index.json"))
        digest = index["manifests"][0]["digest"].split(":")[1]
        manifest = json.loads(read_member(tar, f"blobs/sha256/{digest}"))
        config_digest = manifest["config"]["digest"].split(":")[1]
        config = json.loads(read_member(tar, f"blobs/sha256/{config_digest}"))
    assert manifest["annotations"]["com.urunc.unikernel.hypervisor"] == "qemu"
    assert manifest["annotations"]["org.example.extra"] == "1"
    # Annotations are manifest-only: the config keeps the LABEL value.
    assert config["config"]["Labels"]["com.urunc.unikernel.hypervisor"] == "hvt"
    assert "org.example.extra" not in config["config"]["Labels"]


def test_build_rejects_an_annotation_without_a_value(tmp_path: Path) -> None:
    context = writable_copy(CASES / "rumprun-redis", tmp_path / "ctx")
    result = pun_build(
        ["--context", str(context), "-o", f"type=oci,dest={tmp_path}/x.tar", "--annotation", "k"],
        tmp_path / "cache",
    )
    assert result.code == 1
    assert "invalid --annotation 'k'" in result.err


def test_build_local_unique_id_does_not_change_the_image(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = build(tmp_path / "a", f"type=oci,dest={tmp_path}/a.tar", "--local-unique-id", "one")
    second = build(tmp_path / "b", f"type=oci,dest={tmp_path}/b.tar", "--local-unique-id", "two")
    assert first["containerimage.digest"] == second["containerimage.digest"]
