"""`unikernel_image(source="bunnyfile")` through the plugin's real rules (RuleRunner): the image
(read back by skopeo and umoci), `platforms.architecture` as the image's platform, dependency
inference from `include` and local kernel/rootfs paths, and `pants tailor` finding bunnyfiles."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from textwrap import dedent
from typing import Any, Dict, List

import pytest
from pants.core.goals.package import BuiltPackage
from pants.core.goals.tailor import AllOwnedSources, PutativeTarget, PutativeTargets
from pants.core.target_types import FilesGeneratorTarget
from pants.engine.addresses import Address
from pants.engine.fs import Digest, DigestContents
from pants.engine.internals.scheduler import ExecutionError
from pants.engine.target import InferredDependencies
from pants.testutil.rule_runner import QueryRule, RuleRunner

from pun_rules.dependency_inference import (
    InferUnikernelImageDependencies,
    UnikernelInferenceFieldSet,
)
from pun_rules.field_sets import UnikernelImageFieldSet
from pun_rules.goals.tailor import PutativeUnikernelTargetsRequest
from pun_rules.target_types import UnikernelImageTarget
from pun_testing.pants_rules import configure, new_rule_runner, offline_env, offline_options
from pun_testing.tools import require

# bunny's examples/Redis_Rumprun.md, with `architecture` left for the test to fill in.
BUNNYFILE = """\
    #syntax=harbor.nbfc.io/nubificus/bunny:latest
    version: v0.1
    platforms:
      framework: rumprun
      monitor: hvt
      architecture: {arch}
    rootfs:
      from: scratch
      type: raw
      include:
      - conf/:/conf
    kernel:
      from: local
      path: redis.hvt
    cmd: ["redis-server", "/data/conf/redis.conf"]
    """
LABELS = {  # bunny hops/package.go SetAnnotations for that file
    "com.urunc.unikernel.unikernelType": "rumprun",
    "com.urunc.unikernel.hypervisor": "hvt",
    "com.urunc.unikernel.binary": "/.boot/kernel",
    "com.urunc.unikernel.cmdline": "redis-server /data/conf/redis.conf",
    "com.urunc.unikernel.mountRootfs": "true",
}


@pytest.fixture
def rule_runner() -> RuleRunner:
    return new_rule_runner(
        [
            QueryRule(BuiltPackage, [UnikernelImageFieldSet]),
            QueryRule(DigestContents, [Digest]),
            QueryRule(InferredDependencies, [InferUnikernelImageDependencies]),
            QueryRule(PutativeTargets, [PutativeUnikernelTargetsRequest, AllOwnedSources]),
        ]
    )


def write_redis(rule_runner: RuleRunner, arch: str, target: str = "") -> None:
    rule_runner.write_files(
        {
            "uk/BUILD": dedent(
                f"""\
                files(name="kernel", sources=["redis.hvt"])
                files(name="conf", sources=["conf/*"])
                unikernel_image(name="img", source="bunnyfile"{target})
                """
            ),
            "uk/bunnyfile": dedent(BUNNYFILE.format(arch=arch)),
            "uk/redis.hvt": "redis kernel",
            "uk/conf/redis.conf": "port 6379\n",
        }
    )


def package(rule_runner: RuleRunner, out: Path) -> BuiltPackage:
    configure(rule_runner, offline_options(), env=offline_env())
    target = rule_runner.get_target(Address("uk", target_name="img"))
    built = rule_runner.request(BuiltPackage, [UnikernelImageFieldSet.create(target)])
    for content in rule_runner.request(DigestContents, [built.digest]):
        path = out / content.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.content)
    return built


def skopeo(*argv: str) -> Dict[str, Any]:
    done = subprocess.run([require("skopeo"), "inspect", *argv], capture_output=True, check=True)
    return dict(json.loads(done.stdout))


def test_package_a_bunnyfile(rule_runner: RuleRunner, tmp_path: Path) -> None:
    write_redis(rule_runner, "x86")
    package(rule_runner, tmp_path)
    archive = f"oci-archive:{tmp_path}/uk/img.oci.tar"
    assert skopeo("--raw", archive)["annotations"] == LABELS
    config = skopeo("--config", archive)
    assert (config["os"], config["architecture"]) == ("linux", "amd64")
    assert config["config"]["Cmd"] == ["redis-server", "/data/conf/redis.conf"]
    layout = f"{tmp_path}/layout:latest"
    subprocess.run([require("skopeo"), "copy", "--quiet", archive, f"oci:{layout}"], check=True)
    subprocess.run(
        [require("umoci"), "unpack", "--rootless", "--image", layout, str(tmp_path / "bundle")],
        check=True,
        capture_output=True,
    )
    rootfs = tmp_path / "bundle" / "rootfs"
    assert (rootfs / ".boot/kernel").read_text() == "redis kernel"
    assert (rootfs / "conf/redis.conf").read_text() == "port 6379\n"


def test_the_architecture_is_the_image_platform(rule_runner: RuleRunner, tmp_path: Path) -> None:
    write_redis(rule_runner, "aarch64")
    package(rule_runner, tmp_path)
    description = json.loads((tmp_path / "uk/img.image.json").read_text())
    assert description["platform"] == "linux/arm64"
    config = skopeo("--config", f"oci-archive:{tmp_path}/uk/img.oci.tar")
    assert (config["os"], config["architecture"]) == ("linux", "arm64")


def test_an_architecture_against_the_target_platform_names_the_line(
    rule_runner: RuleRunner, tmp_path: Path
) -> None:
    write_redis(rule_runner, "aarch64", target=', platform="linux/amd64"')
    with pytest.raises(ExecutionError) as caught:
        package(rule_runner, tmp_path)
    assert "uk/bunnyfile:6" in str(caught.value) and "linux/amd64" in str(caught.value)


def inferred(rule_runner: RuleRunner) -> List[str]:
    target = rule_runner.get_target(Address("uk", target_name="img"))
    result = rule_runner.request(
        InferredDependencies,
        [InferUnikernelImageDependencies(UnikernelInferenceFieldSet.create(target))],
    )
    return sorted(str(a) for a in result.include)


def test_dependencies_from_include_and_local_paths(rule_runner: RuleRunner) -> None:
    write_redis(rule_runner, "x86")
    assert inferred(rule_runner) == ["uk/conf/redis.conf:../conf", "uk/redis.hvt:kernel"]


def test_dependencies_of_an_initrd_include_and_a_local_rootfs(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            "uk/BUILD": dedent(
                """\
                files(name="app", sources=["chttp"])
                files(name="other", sources=["unused"])
                unikernel_image(name="img", source="bunnyfile")
                """
            ),
            # bunny's examples/CHTTP_Unikraft.md: the include goes into an initrd, not a COPY;
            # the kernel comes from an image, so no context file for it.
            "uk/bunnyfile": dedent(
                """\
                version: v0.1
                platforms: {framework: unikraft, monitor: qemu}
                rootfs:
                  include: ["chttp:/chttp"]
                kernel: {from: unikraft.org/base:latest, path: /unikraft/bin/kernel}
                """
            ),
            "uk/chttp": "c",
            "uk/unused": "u",
        }
    )
    assert inferred(rule_runner) == ["uk/chttp:app"]


def propose(rule_runner: RuleRunner, *directories: str) -> PutativeTargets:
    return rule_runner.request(
        PutativeTargets,
        [PutativeUnikernelTargetsRequest(directories), AllOwnedSources([])],
    )


def test_tailor_finds_bunnyfiles_and_their_files(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            "uk/redis/bunnyfile": dedent(BUNNYFILE.format(arch="x86")),
            "uk/redis/redis.hvt": "k",
            "uk/redis/conf/redis.conf": "c",
            "uk/redis/notes.txt": "not taken",
            "uk/web/nginx.bunnyfile": "version: v0.1\n",
            "uk/both/Containerfile": "FROM scratch\n",
            "uk/both/bunnyfile": "version: v0.1\n",
        }
    )
    found = propose(rule_runner, "uk/redis", "uk/web", "uk/both")
    taken = ("conf/redis.conf", "redis.hvt")
    assert found == PutativeTargets(
        [
            PutativeTarget.for_target_type(
                UnikernelImageTarget, "uk/both", "both", ["Containerfile"]
            ),
            PutativeTarget.for_target_type(
                UnikernelImageTarget,
                "uk/both",
                "bunnyfile",
                ["bunnyfile"],
                kwargs={"source": "bunnyfile"},
            ),
            PutativeTarget.for_target_type(
                UnikernelImageTarget,
                "uk/redis",
                "redis",
                ["bunnyfile"],
                kwargs={"source": "bunnyfile"},
            ),
            PutativeTarget.for_target_type(
                UnikernelImageTarget,
                "uk/web",
                "nginx",
                ["nginx.bunnyfile"],
                kwargs={"source": "nginx.bunnyfile"},
            ),
            PutativeTarget.for_target_type(
                FilesGeneratorTarget,
                "uk/redis",
                "context",
                taken,
                kwargs={"sources": taken},
                comments=["# The files the COPY instructions take (build context)."],
            ),
        ]
    )
