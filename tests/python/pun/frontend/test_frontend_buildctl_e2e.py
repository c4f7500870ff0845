"""The frontend image under a standalone BuildKit, through `buildctl build --frontend gateway.v0
--opt source=...`. BUILDCTL (the binary) and BUILDKIT_HOST name it; CI's .ci/run builds and
starts BuildKit v0.32.2, so there these tests fail rather than skip without one.

The frontend image is pushed to a Debian docker-registry on 127.0.0.1, which buildkitd must be
able to pull from over plain HTTP (it must run on this machine; BuildKit treats localhost
registries as HTTP, or list the address in buildkitd.toml with `http = true`). The result is
exported with the `oci` exporter, which (unlike Docker Engine 20.10's store) keeps the
`annotation-manifest.*` the frontend returns; skopeo and umoci judge it.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Dict, Iterator

import pytest

from pun_testing.buildkit import BuildKit, buildkit, require_buildkit
from pun_testing.docker_engine import push_archive, unique_tag
from pun_testing.frontend_image import frontend_archive, gateway_build, image_description
from pun_testing.registry import Registry, start_registry, stop_registry
from pun_testing.rootfs import listing, umoci_rootfs, writable_copy
from pun_testing.shared import BUNNY, CASES
from pun_testing.tools import require, skopeo_inspect

__all__ = ["buildkit"]  # pytest fixture, used by name below


@pytest.fixture(scope="module")
def frontend(buildkit: BuildKit, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    registry: Registry
    registry, process = start_registry(tmp_path_factory.mktemp("registry"))
    try:
        reference = f"{registry.host}/pun:{unique_tag('frontend')}"
        push_archive(frontend_archive(), reference)
        yield reference
    finally:
        stop_registry(process)


def case_context(case: str, dest: Path) -> Path:
    context = writable_copy(CASES / case, dest)
    shutil.rmtree(context / "expected", ignore_errors=True)
    return context


def expected_labels(case: str) -> Dict[str, str]:
    decoded: Dict[str, str] = json.loads((CASES / case / "expected" / "urunc.json").read_text())
    return decoded


@pytest.mark.parametrize("case", ["scratch-single", "copy-into-dir", "rumprun-redis"])
def test_buildctl_gateway_build_is_annotated_with_the_recorded_rootfs(
    frontend: str, case: str, tmp_path: Path
) -> None:
    archive = tmp_path / "image.tar"
    built = gateway_build(
        frontend, case_context(case, tmp_path / "context"), "--output", f"type=oci,dest={archive}"
    )
    assert built.returncode == 0, built.stderr
    labels = expected_labels(case)
    manifest = skopeo_inspect(f"oci-archive:{archive}", "--raw")
    assert labels.items() <= (manifest.get("annotations") or {}).items()
    config = skopeo_inspect(f"oci-archive:{archive}", "--config")
    assert config["config"].get("Labels", {}) == labels  # Go omits an empty Labels
    umoci_rootfs(archive, tmp_path, rootless=True)
    rootfs = tmp_path / "bundle" / "rootfs"
    expected = (CASES / case / "expected" / "rootfs.txt").read_text().splitlines()
    assert listing(rootfs) == expected
    urunc = json.loads((rootfs / "urunc.json").read_bytes())
    assert {k: base64.b64decode(v).decode() for k, v in urunc.items()} == labels


def test_buildctl_shows_warnings_and_errors(frontend: str, tmp_path: Path) -> None:
    warned = gateway_build(
        frontend,
        case_context("unsupported-instructions", tmp_path / "w"),
        "--output",
        f"type=oci,dest={tmp_path / 'w.tar'}",
    )
    assert warned.returncode == 0, warned.stderr
    lines = (CASES / "unsupported-instructions" / "Containerfile").read_text().splitlines()
    for keyword in ("RUN",):  # ENV, EXPOSE and CMD go into the image config
        number = next(i for i, text in enumerate(lines, 1) if text.startswith(keyword))
        # The gateway's Warn call: buildctl prints it as `#N WARN: ...` on the vertex that read
        # the Containerfile (a vertex digest BuildKit does not know is dropped silently). The
        # no-op-step fallback for daemons without Warn (`#N [pun] ...`) must not be used here.
        warned_at = rf"^#(\d+) WARN: Containerfile:{number}: warning: {keyword} "
        warn = re.search(warned_at, warned.stderr, re.M)
        assert warn, warned.stderr
        vertex = rf"^#{warn.group(1)} \[internal\] load build definition"
        assert re.search(vertex, warned.stderr, re.M), warned.stderr
        assert "[pun] Containerfile:" not in warned.stderr, warned.stderr
    failed = gateway_build(
        frontend,
        case_context("err-multistage", tmp_path / "e"),
        "--output",
        f"type=oci,dest={tmp_path / 'e.tar'}",
    )
    assert failed.returncode != 0
    assert "multi-stage builds are not supported" in failed.stderr, failed.stderr


THREE_WAY = """\
FROM scratch
ENV GREETING=hello
WORKDIR /unikernel
COPY app.hvt ./
USER 1000:1000
EXPOSE 8080
LABEL com.urunc.unikernel.binary=/unikernel/app.hvt
LABEL "com.urunc.unikernel.unikernelType"=rumprun com.urunc.unikernel.hypervisor=hvt
LABEL com.urunc.unikernel.mountRootfs=false com.urunc.unikernel.useDMBlock=false
ENTRYPOINT ["/unikernel/app.hvt"]
CMD ["-v"]
"""


def test_the_three_builders_describe_the_image_alike(frontend: str, tmp_path: Path) -> None:
    """Frontend, embedded builder and buildctl builder: the same config and the same manifest
    annotations (keys in their case: BuildKit's buildctl lower-cases --output keys, the
    frontend's metadata keeps them), as skopeo reads them."""
    from pun_testing.building import pun_build

    context = tmp_path / "context"
    context.mkdir()
    (context / "Containerfile").write_text(THREE_WAY)
    (context / "app.hvt").write_bytes(b"\x7fELF unikernel")
    archives = {name: tmp_path / f"{name}.tar" for name in ("frontend", "embedded", "buildctl")}
    built = gateway_build(frontend, context, "--output", f"type=oci,dest={archives['frontend']}")
    assert built.returncode == 0, built.stderr
    daemon = require_buildkit()
    for builder in ("embedded", "buildctl"):
        result = pun_build(
            [
                "--context",
                str(context),
                "--builder",
                builder,
                "--buildkit-addr",
                daemon.host,
                "--buildctl",
                daemon.buildctl,
                "--output",
                f"type=oci,dest={archives[builder]}",
            ],
            tmp_path / "cache",
        )
        assert result.code == 0, result.err

    frontend_view = image_description(archives["frontend"])
    assert (
        frontend_view
        == image_description(archives["embedded"])
        == image_description(archives["buildctl"])
    )
    annotations = frontend_view["annotations"]
    assert isinstance(annotations, dict)
    assert annotations["com.urunc.unikernel.unikernelType"] == "rumprun"  # the exact case
    assert annotations["com.urunc.unikernel.cmdline"] == "/unikernel/app.hvt -v"  # the bridge
    config = frontend_view["config"]
    assert isinstance(config, dict) and config["WorkingDir"] == "/unikernel"


def test_a_bunnyfile_through_the_frontend_makes_bunny_s_image(
    frontend: str, tmp_path: Path
) -> None:
    """bunny's examples/Redis_Rumprun.md bunnyfile, `filename=bunnyfile`: the files and the
    annotations bunny itself made of it (tests/data/bunny/redis-rumprun/expected)."""
    case = BUNNY / "redis-rumprun"
    context = writable_copy(case, tmp_path / "context")
    shutil.rmtree(context / "expected")
    archive = tmp_path / "image.tar"
    built = gateway_build(
        frontend, context, "--output", f"type=oci,dest={archive}", filename="bunnyfile"
    )
    assert built.returncode == 0, built.stderr
    bunny = json.loads((case / "expected" / "bunny.json").read_text())
    manifest = skopeo_inspect(f"oci-archive:{archive}", "--raw")
    assert manifest["annotations"] == bunny["annotations"]
    config = skopeo_inspect(f"oci-archive:{archive}", "--config")
    assert config["config"]["Cmd"] == bunny["cmd"]
    umoci_rootfs(archive, tmp_path, rootless=True)
    expected = (case / "expected" / "rootfs.txt").read_text().splitlines()
    assert listing(tmp_path / "bundle" / "rootfs") == expected


MULTI_PLATFORM = """\
FROM scratch
ARG TARGETARCH
COPY kernel-${TARGETARCH} /kernel
LABEL com.urunc.unikernel.binary=/kernel com.urunc.unikernel.unikernelType=hermit
LABEL com.urunc.unikernel.hypervisor=qemu com.urunc.unikernel.cmdline=${TARGETARCH}
LABEL com.urunc.unikernel.mountRootfs=false com.urunc.unikernel.useDMBlock=false
"""


def test_several_platforms_make_one_index_through_buildkit(frontend: str, tmp_path: Path) -> None:
    """`--opt platform=a,b`: BuildKit's own exporter writes the index from the frontend's
    multi-platform result; skopeo finds each platform with its own file, config and labels."""
    context = tmp_path / "context"
    context.mkdir()
    (context / "Containerfile").write_text(MULTI_PLATFORM)
    for arch in ("amd64", "arm64"):
        (context / f"kernel-{arch}").write_text(f"a kernel for {arch}\n")
    archive = tmp_path / "image.tar"
    built = gateway_build(
        frontend,
        context,
        "--opt",
        "platform=linux/amd64,linux/arm64",
        "--output",
        f"type=oci,dest={archive}",
    )
    assert built.returncode == 0, built.stderr

    skopeo = require("skopeo")

    def skopeo_json(*args: str) -> Dict:
        done = subprocess.run([skopeo, *args], capture_output=True, check=True)
        decoded: Dict = json.loads(done.stdout)
        return decoded

    index = skopeo_json("inspect", "--raw", f"oci-archive:{archive}")
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert [m["platform"]["architecture"] for m in index["manifests"]] == ["amd64", "arm64"]
    for arch in ("amd64", "arm64"):
        picked = ("--override-arch", arch)
        config = skopeo_json(*picked, "inspect", "--config", f"oci-archive:{archive}")
        assert config["architecture"] == arch
        assert config["config"]["Labels"]["com.urunc.unikernel.cmdline"] == arch
        layout = tmp_path / f"layout-{arch}"
        subprocess.run(
            [skopeo, *picked, "copy", "--quiet", f"oci-archive:{archive}", f"dir:{layout}"],
            check=True,
        )
        manifest = json.loads((layout / "manifest.json").read_text())
        assert manifest["annotations"]["com.urunc.unikernel.cmdline"] == arch
        assert f"a kernel for {arch}".encode() in _layer_bytes(layout)


def _layer_bytes(layout: Path) -> bytes:
    """Every layer of a `dir:` copy, decompressed and concatenated (tar bytes, enough to find
    a file's content in)."""
    import gzip

    out = b""
    manifest = json.loads((layout / "manifest.json").read_text())
    for layer in manifest["layers"]:
        out += gzip.decompress((layout / layer["digest"].split(":", 1)[1]).read_bytes())
    return out
