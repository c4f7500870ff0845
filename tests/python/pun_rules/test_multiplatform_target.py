"""`unikernel_image(platforms=[...])` through the real rules and a real build process: one
planned build per platform (COPY sources and inference per TARGETARCH), one archive holding an
OCI image index that skopeo resolves per architecture, NAME.image.json listing each
platform's digests, and `publish` pushing the index to a real registry."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from textwrap import dedent
from typing import Any, Dict, Tuple

import pytest
from pants.core.goals.package import BuiltPackage
from pants.core.goals.publish import PublishProcesses
from pants.engine.addresses import Address
from pants.engine.fs import Digest, DigestContents
from pants.engine.internals.scheduler import ExecutionError
from pants.engine.target import InferredDependencies
from pants.testutil.rule_runner import QueryRule, RuleRunner, mock_console

from pun_rules.dependency_inference import (
    InferUnikernelImageDependencies,
    UnikernelInferenceFieldSet,
)
from pun_rules.field_sets import UnikernelImageFieldSet
from pun_rules.goals.package import BuiltUnikernelImage
from pun_rules.goals.publish import PublishUnikernelImageFieldSet, PublishUnikernelImageRequest
from pun_rules.util_rules.build_process import UnikernelBuildProcess
from pun_rules.util_rules.build_request import UnikernelBuildRequest
from pun_testing.pants_rules import configure, new_rule_runner, offline_env, offline_options
from pun_testing.registry import Registry, registry
from pun_testing.tools import require, run

__all__ = ["registry"]  # pytest fixture, used by name below

ARCHES = ("amd64", "arm64")
CONTAINERFILE = dedent(
    """\
    FROM scratch
    ARG TARGETARCH
    COPY kernel-${TARGETARCH} /unikernel/kernel
    LABEL com.urunc.unikernel.binary=/unikernel/kernel
    LABEL com.urunc.unikernel.unikernelType=unikraft
    LABEL com.urunc.unikernel.hypervisor=qemu
    LABEL com.urunc.unikernel.mountRootfs=false com.urunc.unikernel.useDMBlock=false
    LABEL org.example.arch=${TARGETARCH}
    """
)


@pytest.fixture
def rule_runner() -> RuleRunner:
    rule_runner = new_rule_runner(
        [
            QueryRule(BuiltPackage, [UnikernelImageFieldSet]),
            QueryRule(DigestContents, [Digest]),
            QueryRule(UnikernelBuildRequest, [UnikernelImageFieldSet]),
            QueryRule(UnikernelBuildProcess, [UnikernelBuildRequest]),
            QueryRule(PublishProcesses, [PublishUnikernelImageRequest]),
            QueryRule(InferredDependencies, [InferUnikernelImageDependencies]),
        ]
    )
    rule_runner.write_files(
        {
            "uk/Containerfile": CONTAINERFILE,
            "uk/kernel-amd64": "an amd64 kernel\n",
            "uk/kernel-arm64": "an arm64 kernel\n",
        }
    )
    return rule_runner


def write_build(rule_runner: RuleRunner, target_line: str, options: Tuple[str, ...] = ()) -> None:
    rule_runner.write_files(
        {
            "uk/BUILD": 'file(name="amd", source="kernel-amd64")\n'
            'file(name="arm", source="kernel-arm64")\n' + target_line
        }
    )
    configure(rule_runner, [*offline_options(), *options], env=offline_env())


def field_set(rule_runner: RuleRunner) -> UnikernelImageFieldSet:
    return UnikernelImageFieldSet.create(rule_runner.get_target(Address("uk", target_name="img")))


def package(rule_runner: RuleRunner, out: Path) -> BuiltPackage:
    built = rule_runner.request(BuiltPackage, [field_set(rule_runner)])
    for content in rule_runner.request(DigestContents, [built.digest]):
        path = out / content.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.content)
    return built


def skopeo(*argv: str) -> Dict[str, Any]:
    return dict(json.loads(run([require("skopeo"), *argv]).stdout))


def test_platforms_plan_per_platform_and_infer_each_kernel(rule_runner: RuleRunner) -> None:
    write_build(rule_runner, 'unikernel_image(name="img", platforms=["linux/amd64", "arm64"])')
    target = rule_runner.get_target(Address("uk", target_name="img"))
    inferred = rule_runner.request(
        InferredDependencies,
        [InferUnikernelImageDependencies(UnikernelInferenceFieldSet.create(target))],
    )
    # Each platform's COPY source is a dependency, not only the first platform's.
    assert set(inferred.include) == {
        Address("uk", target_name="amd"),
        Address("uk", target_name="arm"),
    }
    request = rule_runner.request(UnikernelBuildRequest, [field_set(rule_runner)])
    assert [str(p.platform) for p in request.platform_plans] == ["linux/amd64", "linux/arm64"]
    assert [p.definition_file for p in request.platform_plans] == [
        ".pun-plan/linux_amd64/definition.pb",
        ".pun-plan/linux_arm64/definition.pb",
    ]
    # The LLB of each platform copies that platform's kernel.
    for arch, planned in zip(ARCHES, request.platform_plans):
        assert f"kernel-{arch}".encode() in planned.definition
        other = "arm64" if arch == "amd64" else "amd64"
        assert f"kernel-{other}".encode() not in planned.definition
    process = rule_runner.request(UnikernelBuildProcess, [request]).process
    argv = list(process.argv)
    assert argv[argv.index("build") + 1 : argv.index("build") + 5] == [
        "--definition=.pun-plan/linux_amd64/definition.pb",
        "--image-spec=.pun-plan/linux_amd64/image-spec.json",
        "--definition=.pun-plan/linux_arm64/definition.pb",
        "--image-spec=.pun-plan/linux_arm64/image-spec.json",
    ]


def test_package_writes_an_index_skopeo_resolves_per_arch(
    rule_runner: RuleRunner, tmp_path: Path
) -> None:
    write_build(
        rule_runner, 'unikernel_image(name="img", platforms=["linux/amd64", "linux/arm64"])'
    )
    package(rule_runner, tmp_path)
    archive = tmp_path / "uk" / "img.oci.tar"
    description = json.loads((tmp_path / "uk" / "img.image.json").read_text())
    raw = skopeo("inspect", "--raw", f"oci-archive:{archive}")
    assert raw["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert [p["platform"] for p in description["platforms"]] == ["linux/amd64", "linux/arm64"]
    assert [p["digest"] for p in description["platforms"]] == [
        m["digest"] for m in raw["manifests"]
    ]
    for arch, entry in zip(ARCHES, description["platforms"]):
        info = skopeo("--override-arch", arch, "inspect", f"oci-archive:{archive}")
        assert info["Architecture"] == arch
        assert info["Labels"]["org.example.arch"] == arch
        assert entry["annotations"]["org.example.arch"] == arch
        config = run(
            [
                require("skopeo"),
                "--override-arch",
                arch,
                "inspect",
                "--config",
                "--raw",
                f"oci-archive:{archive}",
            ]
        ).stdout
        assert "sha256:" + hashlib.sha256(config).hexdigest() == entry["config_digest"]
        assert json.loads(config)["architecture"] == arch
    assert (
        description["digest"]
        == "sha256:"
        + hashlib.sha256(
            run([require("skopeo"), "inspect", "--raw", f"oci-archive:{archive}"]).stdout
        ).hexdigest()
    )


def test_docker_output_and_both_platform_fields_are_errors(rule_runner: RuleRunner) -> None:
    write_build(
        rule_runner,
        'unikernel_image(name="img", output="docker", platforms=["linux/amd64", "linux/arm64"])',
    )
    with pytest.raises(ExecutionError, match='output="docker"` holds one platform'):
        rule_runner.request(UnikernelBuildRequest, [field_set(rule_runner)])
    write_build(
        rule_runner,
        'unikernel_image(name="img", platform="linux/amd64", platforms=["linux/arm64"])',
    )
    with pytest.raises(ExecutionError, match="`platform` and `platforms` are both set"):
        rule_runner.request(UnikernelBuildRequest, [field_set(rule_runner)])


def test_publish_pushes_the_index(rule_runner: RuleRunner, registry: Registry) -> None:
    write_build(
        rule_runner,
        f'unikernel_image(name="img", repository="u/multi", image_tags=["1.0"],'
        f' registries=["{registry.host}"], platforms=["linux/amd64", "linux/arm64"])',
    )
    target = rule_runner.get_target(Address("uk", target_name="img"))
    built = rule_runner.request(BuiltPackage, [field_set(rule_runner)])
    (job,) = rule_runner.request(
        PublishProcesses,
        [PublishUnikernelImageRequest(PublishUnikernelImageFieldSet.create(target), (built,))],
    )
    assert job.process is not None
    with mock_console(rule_runner.options_bootstrapper) as (_, stdio):
        assert rule_runner.run_interactive_process(job.process).exit_code == 0
    image = next(a for a in built.artifacts if isinstance(a, BuiltUnikernelImage))
    name = f"docker://{registry.host}/u/multi:1.0"
    raw = skopeo("inspect", "--tls-verify=false", "--raw", name)
    assert raw["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert len(raw["manifests"]) == 2
    by_digest = skopeo(
        "inspect",
        "--tls-verify=false",
        "--raw",
        f"docker://{registry.host}/u/multi@{image.image_digest}",
    )
    assert by_digest == raw
    for arch in ARCHES:
        info = skopeo("--override-arch", arch, "inspect", "--tls-verify=false", name)
        assert info["Architecture"] == arch and info["Labels"]["org.example.arch"] == arch


def test_one_platform_lists_itself(rule_runner: RuleRunner, tmp_path: Path) -> None:
    write_build(rule_runner, 'unikernel_image(name="img", platform="linux/arm64")')
    package(rule_runner, tmp_path)
    description = json.loads((tmp_path / "uk" / "img.image.json").read_text())
    (entry,) = description["platforms"]
    archive = f"oci-archive:{tmp_path / 'uk' / 'img.oci.tar'}"
    assert entry["platform"] == description["platform"] == "linux/arm64"
    assert entry["digest"] == description["digest"] == skopeo("inspect", archive)["Digest"]
    assert entry["config_digest"] == description["config_digest"]
    assert entry["labels"]["org.example.arch"] == "arm64"


def test_an_image_from_a_multi_platform_upstream(rule_runner: RuleRunner, tmp_path: Path) -> None:
    """`FROM //uk:img` where `uk:img` has `platforms`: the upstream's index archive is the
    base, and each platform of the downstream image builds on that platform's image."""
    write_build(
        rule_runner,
        'unikernel_image(name="img", platforms=["linux/amd64", "linux/arm64"])\n'
        'unikernel_image(name="app", source="app.Containerfile", strict=False,'
        ' platforms=["linux/amd64", "linux/arm64"])\n',
    )
    rule_runner.write_files(
        {
            "uk/app.Containerfile": "FROM //uk:img\nLABEL org.example.layer=app\n",
        }
    )
    target = rule_runner.get_target(Address("uk", target_name="app"))
    built = rule_runner.request(BuiltPackage, [UnikernelImageFieldSet.create(target)])
    for content in rule_runner.request(DigestContents, [built.digest]):
        path = tmp_path / content.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.content)
    archive = f"oci-archive:{tmp_path / 'uk' / 'app.oci.tar'}"
    for arch in ARCHES:
        info = skopeo("--override-arch", arch, "inspect", archive)
        assert info["Architecture"] == arch
        assert info["Labels"]["org.example.arch"] == arch  # the upstream's platform image
        assert info["Labels"]["org.example.layer"] == "app"
