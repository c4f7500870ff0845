"""Multi-platform builds: `pun build --platform linux/amd64,linux/arm64` makes one OCI image
index with one manifest per platform. skopeo (`--override-arch`) is the judge of which image a
runtime of each architecture gets; `skopeo copy` + umoci unpack read each platform's files
(and `/urunc.json`) back independently; a real registry and a real BuildKit take part."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any, Dict, List

import pytest

from pun_testing.building import pun_build
from pun_testing.buildkit import BuildKit, buildkit
from pun_testing.images import archive_json, multiarch_layout
from pun_testing.registry import Registry, registry
from pun_testing.tools import require, run

__all__ = ["registry", "buildkit"]  # pytest fixtures, used by name below

ARCHES = ("amd64", "arm64")
PLATFORMS = "linux/amd64,linux/arm64"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
NAME = "example.com/unikernels/hello:1.0"

# Everything that differs per platform comes from TARGETARCH/TARGETPLATFORM: the kernel file,
# a label, and the cmdline (so /urunc.json differs too).
CONTAINERFILE = """\
FROM scratch
ARG TARGETARCH
ARG TARGETPLATFORM
COPY kernel-${TARGETARCH} /unikernel/kernel
LABEL com.urunc.unikernel.binary=/unikernel/kernel
LABEL com.urunc.unikernel.unikernelType=unikraft
LABEL com.urunc.unikernel.hypervisor=qemu
LABEL com.urunc.unikernel.mountRootfs=false com.urunc.unikernel.useDMBlock=false
LABEL com.urunc.unikernel.cmdline="kernel on ${TARGETPLATFORM}"
LABEL org.example.arch=${TARGETARCH}
"""


def context(tmp_path: Path, containerfile: str = CONTAINERFILE) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Containerfile").write_text(containerfile)
    for arch in ARCHES:
        (ctx / f"kernel-{arch}").write_text(f"a {arch} kernel\n")
    return ctx


def build(tmp_path: Path, ctx: Path, *argv: str, env: Any = None) -> Dict[str, Any]:
    result = pun_build(
        ["--context", str(ctx), *argv, "--metadata-file", "-", "--progress", "quiet"],
        tmp_path / "cache",
        env,
    )
    assert result.code == 0, result.err
    return json.loads(result.out)


def skopeo_json(*argv: str) -> Any:
    return json.loads(run([require("skopeo"), *argv]).stdout)


def unpack(tmp_path: Path, source: str, arch: str, *flags: str) -> Path:
    """`skopeo copy --override-arch ARCH SOURCE` into a fresh layout, then `umoci unpack`."""
    work = Path(tempfile.mkdtemp(dir=tmp_path, prefix=f"unpack-{arch}-"))
    layout = work / "layout"
    run([require("skopeo"), "--override-arch", arch, "copy", *flags, source, f"oci:{layout}:x"])
    bundle = work / "bundle"
    run([require("umoci"), "unpack", "--image", f"{layout}:x", str(bundle)])
    return bundle / "rootfs"


# pun's `main`, wherever the CLI lives (pun_testing.building imports it).
_PUN = "import sys; from pun_testing.building import main; sys.exit(main(sys.argv[1:]))"


def pun_cli(*argv: str, path: str = "") -> subprocess.CompletedProcess:
    """pun's command line in a child process: its real stdout, stderr and exit status."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    if path:
        env["PATH"] = path
    return subprocess.run(
        [sys.executable, "-c", _PUN, *argv],
        capture_output=True,
        env=env,
        timeout=300,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def urunc_json(rootfs: Path) -> Dict[str, str]:
    encoded = json.loads((rootfs / "urunc.json").read_text())
    return {k: base64.b64decode(v).decode() for k, v in encoded.items()}


def blob(archive: Path, digest: str) -> Any:
    return archive_json(archive, "blobs/sha256/" + digest.split(":", 1)[1])


def test_an_oci_index_with_one_image_per_platform(tmp_path: Path) -> None:
    archive = tmp_path / "image.tar"
    meta = build(
        tmp_path,
        context(tmp_path),
        "--platform",
        PLATFORMS,
        "--output",
        f"type=oci,dest={archive},name={NAME}",
    )
    # The layout names one index (BuildKit's oci exporter: the name on index.json's entry).
    top = archive_json(archive, "index.json")
    (entry,) = top["manifests"]
    assert entry["mediaType"] == OCI_INDEX and "platform" not in entry
    assert entry["annotations"]["io.containerd.image.name"] == NAME
    assert entry["digest"] == meta["containerimage.digest"]
    index = blob(archive, entry["digest"])
    assert index["mediaType"] == OCI_INDEX and "annotations" not in index
    assert [m["platform"] for m in index["manifests"]] == [
        {"architecture": "amd64", "os": "linux"},
        {"architecture": "arm64", "os": "linux"},
    ]
    assert [p["containerimage.digest"] for p in meta["pun.platforms"]] == [
        m["digest"] for m in index["manifests"]
    ]
    for arch, descriptor in zip(ARCHES, index["manifests"]):
        assert descriptor["mediaType"] == OCI_MANIFEST
        # skopeo picks the platform's image out of the index, as a runtime on ARCH does.
        info = skopeo_json("--override-arch", arch, "inspect", f"oci-archive:{archive}")
        assert info["Architecture"] == arch and info["Os"] == "linux"
        assert info["Labels"]["org.example.arch"] == arch
        config = skopeo_json(
            "--override-arch", arch, "inspect", "--config", f"oci-archive:{archive}"
        )
        assert config["architecture"] == arch
        manifest = blob(archive, descriptor["digest"])
        assert manifest["annotations"]["org.example.arch"] == arch
        assert manifest["annotations"]["com.urunc.unikernel.cmdline"] == f"kernel on linux/{arch}"
        # The files, read back by skopeo copy + umoci: the platform's own kernel and urunc.json.
        rootfs = unpack(tmp_path, f"oci-archive:{archive}", arch)
        assert (rootfs / "unikernel" / "kernel").read_text() == f"a {arch} kernel\n"
        settings = urunc_json(rootfs)
        assert settings["com.urunc.unikernel.cmdline"] == f"kernel on linux/{arch}"
        assert settings["org.example.arch"] == arch


def test_each_platform_is_the_single_platform_build(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    archive = tmp_path / "multi.tar"
    meta = build(tmp_path, ctx, "--platform", PLATFORMS, "--output", f"type=oci,dest={archive}")
    for arch, child in zip(ARCHES, meta["pun.platforms"]):
        alone = build(
            tmp_path,
            ctx,
            "--platform",
            f"linux/{arch}",
            "--output",
            f"type=oci,dest={tmp_path / arch}.tar",
        )
        assert child["platform"] == f"linux/{arch}"
        assert child["containerimage.digest"] == alone["containerimage.digest"]
        assert child["containerimage.config.digest"] == alone["containerimage.config.digest"]
    # Same inputs, same bytes.
    again = tmp_path / "again.tar"
    build(tmp_path, ctx, "--platform", PLATFORMS, "--output", f"type=oci,dest={again}")
    assert archive.read_bytes() == again.read_bytes()


def test_bases_are_pulled_per_platform_and_the_index_is_pushed(
    tmp_path: Path, registry: Registry
) -> None:
    base = f"{registry.host}/bases/multi:1.0"
    layout = multiarch_layout(tmp_path / "base-layout")
    run(
        [
            require("skopeo"),
            "copy",
            "--all",
            "--dest-tls-verify=false",
            f"oci:{layout}:1.0",
            f"docker://{base}",
        ]
    )
    ctx = context(tmp_path, CONTAINERFILE.replace("FROM scratch", f"FROM {base}"))
    name = f"{registry.host}/unikernels/multi:1.0"
    meta = build(
        tmp_path, ctx, "--platform", PLATFORMS, "--output", f"type=image,name={name},push=true"
    )
    raw = skopeo_json("inspect", "--tls-verify=false", "--raw", f"docker://{name}")
    assert raw["mediaType"] == OCI_INDEX
    assert [m["digest"] for m in raw["manifests"]] == [
        p["containerimage.digest"] for p in meta["pun.platforms"]
    ]
    for arch in ARCHES:
        info = skopeo_json(
            "--override-arch", arch, "inspect", "--tls-verify=false", f"docker://{name}"
        )
        assert info["Architecture"] == arch
        # The base's config for that platform (the test's base sets BASE_ARCH per image).
        assert f"BASE_ARCH={arch}" in info["Env"]
        assert info["Labels"]["base.label"] == "kept"
        rootfs = unpack(tmp_path, f"docker://{name}", arch, "--src-tls-verify=false")
        assert (rootfs / "srv" / "base.txt").read_text() == arch  # the base's own layer
        assert (rootfs / "unikernel" / "kernel").read_text() == f"a {arch} kernel\n"


def test_pun_push_sends_an_index_archive_children_first(tmp_path: Path, registry: Registry) -> None:
    from pun.diagnostics import PunError
    from pun.oci.registry.client import RegistryClient

    archive = tmp_path / "image.tar"
    meta = build(
        tmp_path, context(tmp_path), "--platform", PLATFORMS, "--output", f"type=oci,dest={archive}"
    )
    name = f"{registry.host}/unikernels/pushed:2.0"
    # The registry (distribution) refuses an index whose children it does not hold ...
    index = blob(archive, meta["containerimage.digest"])
    client = RegistryClient(registry.host, "unikernels/pushed", push=True)
    with pytest.raises(PunError, match="MANIFEST_BLOB_UNKNOWN|MANIFEST_UNKNOWN|HTTP 400"):
        client.put_manifest("early", json.dumps(index).encode(), OCI_INDEX)
    # ... so this push only succeeds if every manifest went up before the index.
    pushed = pun_cli("push", str(archive), name, "--progress", "quiet")
    assert pushed.returncode == 0, pushed.stderr.decode()
    digest = meta["containerimage.digest"]
    assert pushed.stdout.decode() == f"{registry.host}/unikernels/pushed@{digest}\n"
    raw = run([require("skopeo"), "inspect", "--tls-verify=false", "--raw", f"docker://{name}"])
    assert "sha256:" + hashlib.sha256(raw.stdout).hexdigest() == meta["containerimage.digest"]
    children = json.loads(raw.stdout)["manifests"]
    assert len(children) == 2
    for child in children:
        ref = f"docker://{registry.host}/unikernels/pushed@{child['digest']}"
        config = skopeo_json("inspect", "--tls-verify=false", "--config", ref)
        assert config["architecture"] == child["platform"]["architecture"]


def test_local_output_has_one_directory_per_platform(tmp_path: Path) -> None:
    dest = tmp_path / "rootfs"
    build(
        tmp_path, context(tmp_path), "--platform", PLATFORMS, "--output", f"type=local,dest={dest}"
    )
    assert sorted(p.name for p in dest.iterdir()) == ["linux_amd64", "linux_arm64"]
    for arch in ARCHES:
        assert (dest / f"linux_{arch}" / "unikernel" / "kernel").read_text() == f"a {arch} kernel\n"


def test_planned_builds_per_platform(tmp_path: Path) -> None:
    """`--definition/--image-spec` pairs (what the Pants rule passes) make the same index."""
    from pun.api import GenerateOptions, generate
    from pun.buildplan import spec_file_bytes
    from pun.platform import parse_platform

    ctx = context(tmp_path)
    argv: List[str] = []
    for arch in ARCHES:
        generated = generate(
            CONTAINERFILE,
            GenerateOptions(target_platform=parse_platform(f"linux/{arch}"), local_unique_id="x"),
        )
        (tmp_path / f"{arch}.pb").write_bytes(generated.definition)
        (tmp_path / f"{arch}.json").write_bytes(
            spec_file_bytes(generated.image, "Containerfile", generated.source_map)
        )
        argv += [f"--definition={tmp_path / arch}.pb", f"--image-spec={tmp_path / arch}.json"]
    planned = build(tmp_path, ctx, *argv, "--output", f"type=oci,dest={tmp_path / 'p.tar'}")
    direct = build(
        tmp_path,
        ctx,
        "--platform",
        PLATFORMS,
        "--local-unique-id",
        "x",
        "--output",
        f"type=oci,dest={tmp_path / 'd.tar'}",
    )
    assert planned["containerimage.digest"] == direct["containerimage.digest"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--platform", "linux/amd64,linux/amd64", "--output", "type=oci,dest=x.tar"],
            "platform linux/amd64 is given twice",
        ),
        (
            ["--platform", "linux/amd64,x86_64", "--output", "type=oci,dest=x.tar"],
            "platform linux/amd64 is given twice",
        ),  # aliases normalize first
        (
            ["--platform", PLATFORMS, "--output", "type=docker,dest=x.tar"],
            "type=docker holds one platform",
        ),
        (["--platform", "linux/amd64,", "--output", "type=oci,dest=x.tar"], "invalid platform"),
    ],
)
def test_bad_platform_lists_are_one_clear_error(
    tmp_path: Path, argv: List[str], message: str
) -> None:
    result = pun_build(["--context", str(context(tmp_path)), *argv], tmp_path / "cache")
    assert result.code == 1 and result.out == b""
    assert message in result.err and "Traceback" not in result.err
    assert not (tmp_path / "x.tar").exists()


def test_pun_llb_takes_one_platform(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    done = pun_cli("--LLB", "-f", str(ctx / "Containerfile"), "--platform", PLATFORMS)
    assert done.returncode == 1 and done.stdout == b""
    assert b"one LLB definition has one platform" in done.stderr


def test_buildctl_builder_solves_once_per_platform(tmp_path: Path, buildkit: BuildKit) -> None:
    ctx = context(tmp_path)
    archive = tmp_path / "bk.tar"
    env = {"BUILDKIT_HOST": buildkit.host}
    meta = build(
        tmp_path,
        ctx,
        "--platform",
        PLATFORMS,
        "--builder",
        "buildctl",
        "--buildctl",
        buildkit.buildctl,
        "--output",
        f"type=oci,dest={archive}",
        env=env,
    )
    assert meta["pun.builder"] == "buildctl"
    embedded = tmp_path / "embedded.tar"
    build(tmp_path, ctx, "--platform", PLATFORMS, "--output", f"type=oci,dest={embedded}")
    for arch in ARCHES:
        info = skopeo_json("--override-arch", arch, "inspect", f"oci-archive:{archive}")
        mine = skopeo_json("--override-arch", arch, "inspect", f"oci-archive:{embedded}")
        assert info["Architecture"] == arch
        assert info["Labels"] == mine["Labels"]
        rootfs = unpack(tmp_path, f"oci-archive:{archive}", arch)
        assert (rootfs / "unikernel" / "kernel").read_text() == f"a {arch} kernel\n"
        assert urunc_json(rootfs)["com.urunc.unikernel.cmdline"] == f"kernel on linux/{arch}"
    with tarfile.open(archive) as tar:
        assert "index.json" in tar.getnames()


PLATFORM_ARGS = (
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDARCH",
    "BUILDVARIANT",
)


def test_platform_args_per_platform_are_docker_builds(tmp_path: Path) -> None:
    """Each platform's TARGET*/BUILD* values are what `docker build --platform P` gives them
    (Docker Engine's own Dockerfile frontend is the oracle)."""
    from pun_testing.docker_engine import docker_engine, unique_tag

    engine = docker_engine()
    text = (
        "FROM scratch\n"
        + "".join(f"ARG {n}\n" for n in PLATFORM_ARGS)
        + "LABEL "
        + " ".join(f'a.{n.lower()}="${n}"' for n in PLATFORM_ARGS)
        + "\n"
    )
    ctx = tmp_path / "args"
    ctx.mkdir()
    (ctx / "Containerfile").write_text(text)
    archive = tmp_path / "args.tar"
    wanted = ("linux/amd64", "linux/arm64", "linux/arm/v7")
    build(tmp_path, ctx, "--platform", ",".join(wanted), "--output", f"type=oci,dest={archive}")
    for platform in wanted:
        tag = f"pun-multiplatform/args:{unique_tag()}"
        result = engine.build(ctx, "Containerfile", tag, "--platform", platform)
        assert result.code == 0, result.output
        try:
            theirs = engine.inspect(tag)["Config"]["Labels"]
        finally:
            engine.remove_image(tag)
        _, arch, *variant = platform.split("/")
        flags = ["--override-arch", arch, *(["--override-variant", variant[0]] if variant else [])]
        mine = skopeo_json(*flags, "inspect", f"oci-archive:{archive}")["Labels"]
        assert mine == theirs, platform
        assert theirs["a.targetplatform"] == platform


def test_pun_run_boots_the_hosts_image_of_an_index(tmp_path: Path) -> None:
    import platform as host

    from pun_testing.booting import fake_monitor

    hvt = (
        "FROM scratch\nARG TARGETARCH\nCOPY kernel-${TARGETARCH} /unikernel/k.hvt\n"
        "LABEL com.urunc.unikernel.binary=/unikernel/k.hvt\n"
        "LABEL com.urunc.unikernel.cmdline=hello-${TARGETARCH}\n"
        "LABEL com.urunc.unikernel.unikernelType=rumprun com.urunc.unikernel.hypervisor=hvt\n"
    )
    archive = tmp_path / "image.tar"
    build(
        tmp_path,
        context(tmp_path, hvt),
        "--platform",
        PLATFORMS,
        "--output",
        f"type=oci,dest={archive}",
    )
    record = fake_monitor(tmp_path / "bin", "solo5-hvt")
    done = pun_cli("run", str(archive), path=f"{tmp_path / 'bin'}{os.pathsep}/usr/bin:/bin")
    assert done.returncode == 0, done.stderr.decode()
    arch = {"x86_64": "amd64", "aarch64": "arm64"}[host.machine()]  # uname -m, docker's names
    assert f'"cmdline":"hello-{arch}"' in record.read_text()


def test_docker_media_types_make_a_manifest_list(tmp_path: Path) -> None:
    archive = tmp_path / "image.tar"
    build(
        tmp_path,
        context(tmp_path),
        "--platform",
        PLATFORMS,
        "--output",
        f"type=oci,dest={archive},oci-mediatypes=false",
    )
    raw = skopeo_json("inspect", "--raw", f"oci-archive:{archive}")
    assert raw["mediaType"] == "application/vnd.docker.distribution.manifest.list.v2+json"
    assert {m["mediaType"] for m in raw["manifests"]} == {
        "application/vnd.docker.distribution.manifest.v2+json"
    }
    for arch in ARCHES:
        info = skopeo_json("--override-arch", arch, "inspect", f"oci-archive:{archive}")
        assert info["Architecture"] == arch and info["Labels"]["org.example.arch"] == arch


def test_unikraft_bases_are_pulled_per_arch(tmp_path: Path) -> None:
    """unikraft.org publishes one image per hypervisor, with the hypervisor as the OS: each
    platform's plan pulls `<hypervisor>/<its arch>` (read back from the LLB by `pun --dump`)."""
    text = CONTAINERFILE.replace("FROM scratch", "FROM unikraft.org/nginx:1.15")
    ctx = context(tmp_path, text)
    for arch in ARCHES:
        done = pun_cli("--dump", "-f", str(ctx / "Containerfile"), "--platform", f"linux/{arch}")
        assert done.returncode == 0, done.stderr.decode()
        ops = [json.loads(line) for line in done.stdout.decode().splitlines()]
        images = [
            op["Op"]["platform"]
            for op in ops
            if op["Op"]
            .get("Op", {})
            .get("source", {})
            .get("identifier", "")
            .startswith("docker-image://")
        ]
        assert images == [{"OS": "qemu", "Architecture": arch}]


def test_a_platform_that_fails_leaves_no_output(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    (ctx / "kernel-arm64").unlink()
    archive = tmp_path / "image.tar"
    result = pun_build(
        [
            "--context",
            str(ctx),
            "--platform",
            PLATFORMS,
            "--progress",
            "quiet",
            "--output",
            f"type=oci,dest={archive}",
        ],
        tmp_path / "cache",
    )
    assert result.code == 1 and result.out == b""
    assert "Containerfile:4" in result.err and "kernel-arm64" in result.err, result.err
    assert "Traceback" not in result.err
    assert not archive.exists() and list(tmp_path.glob("image.tar*")) == []


def test_an_upstream_index_archive_gives_each_platform_its_base(tmp_path: Path) -> None:
    """FROM an image given as a multi-platform archive (`--image-archive`, what the Pants
    plugin passes for an upstream unikernel_image): each platform builds on that platform's
    image of the index, as a registry pull would choose it."""
    upstream = tmp_path / "upstream.tar"
    build(
        tmp_path,
        context(tmp_path),
        "--platform",
        PLATFORMS,
        "--output",
        f"type=oci,dest={upstream}",
    )
    downstream = tmp_path / "down"
    downstream.mkdir()
    (downstream / "Containerfile").write_text(
        "FROM example.com/uk/upstream:1\nCOPY extra /extra\nLABEL org.example.layer=down\n"
    )
    (downstream / "extra").write_text("extra\n")
    archive = tmp_path / "down.tar"
    given = f"--image-archive=example.com/uk/upstream:1={upstream}"
    build(
        tmp_path, downstream, given, "--platform", PLATFORMS, "--output", f"type=oci,dest={archive}"
    )
    for arch in ARCHES:
        info = skopeo_json("--override-arch", arch, "inspect", f"oci-archive:{archive}")
        assert info["Labels"]["org.example.arch"] == arch  # inherited from the upstream's
        rootfs = unpack(tmp_path, f"oci-archive:{archive}", arch)
        assert (rootfs / "unikernel" / "kernel").read_text() == f"a {arch} kernel\n"
        assert (rootfs / "extra").read_text() == "extra\n"
    result = pun_build(
        [
            "--context",
            str(downstream),
            given,
            "--platform",
            "linux/riscv64",
            "--output",
            f"type=oci,dest={tmp_path / 'no.tar'}",
        ],
        tmp_path / "cache",
    )
    assert result.code == 1
    assert "no image for linux/riscv64 (it has linux/amd64, linux/arm64)" in result.err


def test_each_platform_makes_its_own_rootfs_artifact(tmp_path: Path) -> None:
    """A `pun.rootfs` initrd is made per platform, from that platform's COPY sources (GNU cpio
    reads each back out of the image skopeo picks for the arch)."""
    text = (
        "FROM scratch\nARG TARGETARCH\nCOPY kernel-${TARGETARCH} /kernel/vmlinuz\n"
        "COPY init-${TARGETARCH} /rootfs/init\n"
        'LABEL pun.rootfs="type=initrd,src=/rootfs,path=/kernel/initrd.cpio"\n'
        "LABEL com.urunc.unikernel.unikernelType=linux com.urunc.unikernel.hypervisor=qemu\n"
        "LABEL com.urunc.unikernel.binary=/kernel/vmlinuz\n"
        'CMD ["/init"]\n'
    )
    ctx = context(tmp_path, text)
    for arch in ARCHES:
        (ctx / f"init-{arch}").write_text(f"#!/bin/sh\necho {arch}\n")
    archive = tmp_path / "image.tar"
    build(tmp_path, ctx, "--platform", PLATFORMS, "--output", f"type=oci,dest={archive}")
    for arch in ARCHES:
        rootfs = unpack(tmp_path, f"oci-archive:{archive}", arch)
        assert not (rootfs / "rootfs").exists()
        cpio = subprocess.run(
            [require("cpio"), "-i", "--quiet", "--to-stdout", "init"],
            input=(rootfs / "kernel" / "initrd.cpio").read_bytes(),
            capture_output=True,
            check=True,
            timeout=60,
        )
        assert cpio.stdout.decode() == f"#!/bin/sh\necho {arch}\n"
        assert urunc_json(rootfs)["com.urunc.unikernel.initrd"] == "/kernel/initrd.cpio"
