"""`pun_frontend_image` through the real rules and processes (RuleRunner): `package` freezes pun
into an OCI archive that skopeo and umoci accept, whose Entrypoint runs in a root filesystem
holding nothing else; `publish` pushes those bytes to a real registry under every name."""

from __future__ import annotations

import json
import os
import platform
import shutil
import stat
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any, List, Tuple

import pytest
from pants.core.goals.package import BuiltPackage
from pants.core.goals.publish import PublishProcesses
from pants.engine.addresses import Address
from pants.engine.fs import Digest, DigestContents
from pants.testutil.rule_runner import QueryRule, RuleRunner, mock_console

import pun
from pun_rules.field_sets import PunFrontendImageFieldSet, UnikernelImageFieldSet
from pun_rules.goals.package import BuiltUnikernelImage
from pun_rules.goals.publish import (
    PublishPunFrontendImageFieldSet,
    PublishPunFrontendImageRequest,
    PublishUnikernelImageFieldSet,
)
from pun_rules.subsystems.frontend_freezer import FrontendFreezerPex
from pun_testing.images import archive_json
from pun_testing.pants_rules import configure, new_rule_runner, offline_env, offline_options
from pun_testing.registry import Registry, registry
from pun_testing.tools import require, run, skopeo_inspect

__all__ = ["registry"]  # pytest fixture, used by name below

ARCH = {"x86_64": "amd64", "aarch64": "arm64"}


@pytest.fixture(scope="module")
def rule_runner() -> RuleRunner:
    rule_runner = new_rule_runner(
        [
            QueryRule(BuiltPackage, [PunFrontendImageFieldSet]),
            QueryRule(PublishProcesses, [PublishPunFrontendImageRequest]),
            QueryRule(DigestContents, [Digest]),
            QueryRule(FrontendFreezerPex, []),
        ]
    )
    configure(rule_runner, offline_options(), env=offline_env())
    return rule_runner


def test_the_interpreter_and_the_system_tools_are_in_the_cache_key(
    rule_runner: RuleRunner,
) -> None:
    """Their files end up in the image (libpython, glibc), so a new version must rebuild it."""
    freezer = rule_runner.request(FrontendFreezerPex, [])
    keyed = dict(part.split("=", 1) for part in freezer.fingerprint.split(","))
    interpreter_dir = os.path.dirname(os.path.realpath(sys.executable))
    assert any(path.startswith(interpreter_dir) for path in keyed)
    for tool in ("ldd", "objdump", "strip"):
        found = shutil.which(tool, path="/usr/bin:/bin")
        assert found is not None and found in keyed, tool
        assert os.path.dirname(found) in freezer.tools_path.split(os.pathsep)
    assert all(keyed.values())  # every one fingerprinted by its --version output or contents


def package(rule_runner: RuleRunner, build: str, out: Path) -> Tuple[BuiltPackage, Any]:
    rule_runner.write_files({"tools/BUILD": build})
    configure(rule_runner, offline_options(), env=offline_env())
    target = rule_runner.get_target(Address("tools", target_name="frontend"))
    built = rule_runner.request(BuiltPackage, [PunFrontendImageFieldSet.create(target)])
    for content in rule_runner.request(DigestContents, [built.digest]):
        path = out / content.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.content)
    return built, target


def in_empty_root(rootfs: Path, argv: List[str]) -> subprocess.CompletedProcess:
    """Run a program chrooted into `rootfs`, which must hold everything it needs (as root;
    a private mount namespace lends it this machine's /dev, as a container runtime would)."""
    (rootfs / "dev").mkdir()
    script = 'mount --rbind /dev "$1/dev" && shift && exec chroot "$@"'
    return subprocess.run(
        ["unshare", "--mount", "sh", "-c", script, "sh", str(rootfs), str(rootfs), *argv],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_package_freezes_pun_into_a_self_contained_image(
    rule_runner: RuleRunner, tmp_path: Path
) -> None:
    built, target = package(rule_runner, 'pun_frontend_image(name="frontend")', tmp_path)

    assert [a.relpath for a in built.artifacts] == [
        "tools/frontend.oci.tar",
        "tools/frontend.image.json",
    ]
    image = next(a for a in built.artifacts if isinstance(a, BuiltUnikernelImage))
    archive = f"oci-archive:{tmp_path}/tools/frontend.oci.tar"
    inspected = skopeo_inspect(archive)
    description = json.loads((tmp_path / "tools/frontend.image.json").read_text())
    assert inspected["Digest"] == description["digest"] == image.image_digest
    assert description["names"] == ["pun:latest"]
    assert (inspected["Os"], inspected["Architecture"]) == (
        "linux",
        ARCH.get(platform.machine(), platform.machine()),
    )
    # The same NAME.image.json shape as a unikernel_image's (pun_rules.image_info).
    assert (description["version"], description["kind"]) == (1, "pun_frontend_image")
    assert description["platform"] == f"{inspected['Os']}/{inspected['Architecture']}"
    assert description["labels"] == inspected["Labels"]
    assert description["annotations"] == skopeo_inspect(archive, "--raw").get("annotations", {})
    assert len(inspected["Layers"]) == 1
    # The index names the image as BuildKit's exporter does (containerd's import reads it).
    (entry,) = archive_json(tmp_path / "tools/frontend.oci.tar", "index.json")["manifests"]
    assert entry["annotations"]["io.containerd.image.name"] == "docker.io/library/pun:latest"
    config = skopeo_inspect(archive, "--config")["config"]
    assert config["Entrypoint"] == ["/usr/lib/pun/pun"]
    # BuildKit reads this label to run the frontend without a network.
    assert config["Labels"]["moby.buildkit.frontend.network.none"] == "true"
    assert config["Labels"]["org.opencontainers.image.version"] == pun.__version__

    # One layer, owned by root, modes normalised whatever the builder's umask was.
    layout = tmp_path / "layout"
    run([require("skopeo"), "copy", archive, f"oci:{layout}:latest"])
    layer = layout / "blobs" / "sha256" / inspected["Layers"][0].split(":", 1)[1]
    with tarfile.open(layer) as tar:
        members = tar.getmembers()
    assert {(m.uid, m.gid) for m in members} == {(0, 0)}
    modes = {m.name: m.mode for m in members if not m.issym()}
    assert modes["tmp"] == 0o1777 and modes["usr/lib/pun/pun"] == 0o755
    assert set(modes.values()) == {0o755, 0o644, 0o1777}

    bundle = tmp_path / "bundle"
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
    assert {p.name for p in rootfs.iterdir()} <= {"usr", "lib", "lib64", "tmp"}
    assert stat.S_IMODE((rootfs / "tmp").stat().st_mode) == 0o1777  # the gRPC relay's socket
    # The freeze ran the same check itself, chrooted when it could (as root).
    assert description["details"]["smoke_test"] == {
        "version": f"pun version {pun.__version__}",
        "chroot": os.geteuid() == 0,
    }
    if os.geteuid() != 0:
        pytest.skip("chroot needs root (CI runs as root): the image was not run")
    ran = in_empty_root(rootfs, ["/usr/lib/pun/pun", "--version"])
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == f"pun version {pun.__version__}"


def test_only_frontend_images_get_the_frontend_rules(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            "tools/BUILD": 'pun_frontend_image(name="frontend")\nunikernel_image(name="uk")\n',
            "tools/Containerfile": "FROM scratch\n",
        }
    )
    frontend = rule_runner.get_target(Address("tools", target_name="frontend"))
    unikernel = rule_runner.get_target(Address("tools", target_name="uk"))
    assert PunFrontendImageFieldSet.is_applicable(frontend)
    assert PublishPunFrontendImageFieldSet.is_applicable(frontend)
    assert not UnikernelImageFieldSet.is_applicable(frontend)
    assert not PublishUnikernelImageFieldSet.is_applicable(frontend)
    assert not PunFrontendImageFieldSet.is_applicable(unikernel)
    assert not PublishPunFrontendImageFieldSet.is_applicable(unikernel)


def test_publish_pushes_the_packaged_bytes_under_every_name(
    rule_runner: RuleRunner, registry: Registry, tmp_path: Path
) -> None:
    built, target = package(
        rule_runner,
        f'pun_frontend_image(name="frontend", repository="tools/pun",'
        f' image_tags=["{{pun.version}}", "edge"], registries=["{registry.host}"])',
        tmp_path,
    )
    image = next(a for a in built.artifacts if isinstance(a, BuiltUnikernelImage))
    names = [f"{registry.host}/tools/pun:{pun.__version__}", f"{registry.host}/tools/pun:edge"]
    assert list(image.names) == names

    request = PublishPunFrontendImageRequest(
        PublishPunFrontendImageFieldSet.create(target), (built,)
    )
    (job,) = rule_runner.request(PublishProcesses, [request])
    assert job.process is not None and list(job.names) == names
    with mock_console(rule_runner.options_bootstrapper):
        assert rule_runner.run_interactive_process(job.process).exit_code == 0

    for name in names:
        pushed = skopeo_inspect(f"docker://{name}", "--tls-verify=false")
        assert pushed["Digest"] == image.image_digest


def test_docker_output_is_loadable_and_named(rule_runner: RuleRunner, tmp_path: Path) -> None:
    built, _ = package(
        rule_runner,
        'pun_frontend_image(name="frontend", output="docker", image_tags=["{pun.version}"])',
        tmp_path,
    )
    archive = tmp_path / "tools/frontend.docker.tar"
    description = json.loads((tmp_path / "tools/frontend.image.json").read_text())
    # Also an OCI layout, holding Docker's media types: the same manifest either way.
    raw = skopeo_inspect(f"oci-archive:{archive}", "--raw")
    assert raw["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert skopeo_inspect(f"oci-archive:{archive}")["Digest"] == description["digest"]
    config = skopeo_inspect(f"docker-archive:{archive}", "--config")["config"]
    assert config["Entrypoint"] == ["/usr/lib/pun/pun"]
    # What `docker load` tags the image as.
    (entry,) = archive_json(archive, "manifest.json")
    assert entry["RepoTags"] == [f"pun:{pun.__version__}"]
