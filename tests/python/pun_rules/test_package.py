"""`package` through the real rules and a real build process (RuleRunner): the archive and
NAME.image.json, judged by skopeo and umoci; a failed build names the target and says why."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from textwrap import dedent

import pytest
from pants.core.goals.package import BuiltPackage
from pants.engine.addresses import Address
from pants.engine.fs import Digest, DigestContents
from pants.engine.internals.scheduler import ExecutionError
from pants.testutil.rule_runner import QueryRule, RuleRunner

from pun_rules.field_sets import UnikernelImageFieldSet
from pun_rules.goals.package import BuiltUnikernelImage
from pun_testing.pants_rules import configure, new_rule_runner, offline_env, offline_options
from pun_testing.tools import require, run, skopeo_inspect

LABELS = {
    "com.urunc.unikernel.binary": "/unikernel/app.hvt",
    "com.urunc.unikernel.cmdline": "app --port 80",
    "com.urunc.unikernel.unikernelType": "rumprun",
    "com.urunc.unikernel.hypervisor": "hvt",
}


@pytest.fixture
def rule_runner() -> RuleRunner:
    rule_runner = new_rule_runner(
        [
            QueryRule(BuiltPackage, [UnikernelImageFieldSet]),
            QueryRule(DigestContents, [Digest]),
        ]
    )
    labels = "".join(f'LABEL {k}="{v}"\n' for k, v in LABELS.items())
    rule_runner.write_files(
        {
            "uk/BUILD": dedent(
                """\
                files(name="bin", sources=["app.hvt", "etc/app.conf"])
                unikernel_image(name="img", annotations={"org.example.team": "kernels"})
                unikernel_image(name="dock", output="docker", image_tags=["1.0"])
                unikernel_image(name="blk", source="blk.Containerfile")
                """
            ),
            "uk/Containerfile": "FROM scratch\nCOPY app.hvt /unikernel/app.hvt\n"
            "COPY etc /etc\n" + labels,
            # The rootfs's files (etc/) are inferred from the COPY that feeds pun.rootfs.
            "uk/blk.Containerfile": "FROM scratch\nCOPY app.hvt /unikernel/app.hvt\n"
            "COPY etc /rootfs/etc\n"
            'LABEL pun.rootfs="type=block,src=/rootfs,path=/disk.ext4,mount=/data"\n' + labels,
            "uk/app.hvt": "kernel bytes",
            "uk/etc/app.conf": "port 80\n",
        }
    )
    configure(rule_runner, offline_options(), env=offline_env())
    return rule_runner


def package(rule_runner: RuleRunner, name: str, out: Path) -> BuiltPackage:
    target = rule_runner.get_target(Address("uk", target_name=name))
    built = rule_runner.request(BuiltPackage, [UnikernelImageFieldSet.create(target)])
    for content in rule_runner.request(DigestContents, [built.digest]):
        path = out / content.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.content)
    return built


def test_package_writes_an_oci_archive_and_its_description(
    rule_runner: RuleRunner, tmp_path: Path
) -> None:
    built = package(rule_runner, "img", tmp_path)

    image = next(a for a in built.artifacts if isinstance(a, BuiltUnikernelImage))
    assert image.relpath == "uk/img.oci.tar"
    assert [a.relpath for a in built.artifacts] == ["uk/img.oci.tar", "uk/img.image.json"]
    description = json.loads((tmp_path / "uk/img.image.json").read_text())
    archive = f"oci-archive:{tmp_path}/uk/img.oci.tar"
    inspected = skopeo_inspect(archive)
    assert inspected["Digest"] == description["digest"] == image.image_digest
    assert inspected["Labels"] == LABELS
    assert (inspected["Os"], inspected["Architecture"]) == ("linux", "amd64")
    manifest = skopeo_inspect(archive, "--raw")
    assert manifest["annotations"] == {**LABELS, "org.example.team": "kernels"}
    assert description["annotations"] == manifest["annotations"]
    assert description["names"] == ["uk/img:latest"] and description["tags"] == ["latest"]
    assert description["platform"] == "linux/amd64"
    assert description["address"] == "uk:img"
    assert (description["version"], description["kind"]) == (1, "unikernel_image")

    bundle = tmp_path / "bundle"
    run([require("skopeo"), "copy", archive, f"oci:{tmp_path}/layout:latest"])
    run(
        [
            require("umoci"),
            "unpack",
            "--rootless",
            "--image",
            f"{tmp_path}/layout:latest",
            str(bundle),
        ]
    )
    rootfs = bundle / "rootfs"
    assert (rootfs / "unikernel/app.hvt").read_text() == "kernel bytes"
    assert (rootfs / "etc/app.conf").read_text() == "port 80\n"
    assert json.loads((rootfs / "urunc.json").read_text())


def test_docker_output_is_loadable_and_named(rule_runner: RuleRunner, tmp_path: Path) -> None:
    package(rule_runner, "dock", tmp_path)
    archive = tmp_path / "uk/dock.docker.tar"
    inspected = skopeo_inspect(f"docker-archive:{archive}")
    assert inspected["Labels"] == LABELS
    with tarfile.open(archive) as tar:
        handle = tar.extractfile("manifest.json")
        assert handle is not None
        assert json.load(handle)[0]["RepoTags"] == ["uk/dock:1.0"]  # what `docker load` tags
    description = json.loads((tmp_path / "uk/dock.image.json").read_text())
    assert description["output"] == "docker" and description["annotations"] == {}


def test_failed_build_names_the_target_and_the_cause(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            "bad/BUILD": 'unikernel_image(name="img", strict=False)',
            # Port 1 on loopback: refused at once, no network needed.
            "bad/Containerfile": "FROM 127.0.0.1:1/nothing/here:1.0\n",
        }
    )
    target = rule_runner.get_target(Address("bad", target_name="img"))
    with pytest.raises(ExecutionError) as raised:
        rule_runner.request(BuiltPackage, [UnikernelImageFieldSet.create(target)])
    message = str(raised.value)
    assert "unikernel_image bad:img: `pun build` failed (exit code 1):" in message
    assert "127.0.0.1:1" in message


def test_a_block_rootfs_is_made_inside_the_build_process(
    rule_runner: RuleRunner, tmp_path: Path
) -> None:
    package(rule_runner, "blk", tmp_path)
    archive = tmp_path / "uk" / "blk.oci.tar"
    labels = skopeo_inspect(f"oci-archive:{archive}")["Labels"]
    assert labels["com.urunc.unikernel.block"] == "/disk.ext4"
    assert labels["com.urunc.unikernel.blkMntPoint"] == "/data"
    layout, files = tmp_path / "layout", tmp_path / "files"
    run([require("skopeo"), "copy", "--quiet", f"oci-archive:{archive}", f"oci:{layout}:x"])
    run([require("umoci"), "raw", "unpack", "--image", f"{layout}:x", str(files)])
    assert not (files / "rootfs").exists()
    disk = str(files / "disk.ext4")
    e2fsck = next(p for p in ("/usr/sbin/e2fsck", "/sbin/e2fsck") if Path(p).exists())
    run([e2fsck, "-fn", disk])
    debugfs = e2fsck.replace("e2fsck", "debugfs")
    assert run([debugfs, "-R", "cat /etc/app.conf", disk]).stdout == b"port 80\n"
