"""Initrd rootfs artifacts through the frontend image under a real BuildKit (`buildctl build
--frontend gateway.v0`), judged against `pun build --builder embedded` of the same context
(the same artifact bytes, the same files, labels and annotations) and against GNU cpio (the
names and contents the context holds). BUILDCTL and BUILDKIT_HOST name BuildKit; the frontend
image is pushed to a Debian docker-registry on 127.0.0.1, as in test_frontend_buildctl_e2e.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

from pun_testing.building import pun_build
from pun_testing.buildkit import BuildKit, buildkit
from pun_testing.docker_engine import push_archive, unique_tag
from pun_testing.frontend_image import frontend_archive, gateway_build, image_description
from pun_testing.registry import Registry, start_registry, stop_registry
from pun_testing.rootfs import listing, umoci_rootfs
from pun_testing.tools import require

__all__ = ["buildkit"]  # pytest fixture, used by name below

CONTAINERFILE = """\
FROM scratch
COPY kernel /kernel/vmlinuz
COPY init /rootfs/init
COPY etc/ /rootfs/etc/
COPY tools /rootfs/usr/bin/
LABEL pun.rootfs="type=initrd,src=/rootfs,path=/boot/initrd{suffix}{compression}"
LABEL com.urunc.unikernel.unikernelType=linux com.urunc.unikernel.hypervisor=qemu
LABEL com.urunc.unikernel.binary=/kernel/vmlinuz
CMD ["/init"]
"""

BUNNYFILE = """\
#syntax=unused-by-buildctl
version: v0.1
platforms: {framework: unikraft, monitor: qemu, architecture: x86}
rootfs:
  type: initrd
  include: ["init:/init", "etc:/etc", "tools/*:/usr/bin/"]
kernel: {from: local, path: kernel}
cmd: ["/init"]
"""

# What the context's rootfs files are, independently of pun: cpio -t must list these.
ROOTFS_NAMES = [
    "etc",
    "etc/app",
    "etc/app/app.conf",
    "etc/hostname",
    "etc/motd",
    "init",
    "usr",
    "usr/bin",
    "usr/bin/tool-a",
    "usr/bin/tool-b",
]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    found: Registry
    found, process = start_registry(tmp_path_factory.mktemp("registry"))
    try:
        yield found
    finally:
        stop_registry(process)


@pytest.fixture(scope="module")
def frontend(buildkit: BuildKit, registry: Registry) -> str:
    reference = f"{registry.host}/pun:{unique_tag('frontend-rootfs')}"
    push_archive(frontend_archive(), reference)
    return reference


def write_context(root: Path, build_file: str, text: str) -> Path:
    (root / "etc" / "app").mkdir(parents=True)
    (root / "tools").mkdir()
    (root / build_file).write_text(text)
    (root / "kernel").write_bytes(b"\x7fELF kernel" * 100)
    (root / "init").write_text("#!/bin/sh\necho hi\n")
    os.chmod(root / "init", 0o700)  # normalized to 0755 inside the initrd
    (root / "etc" / "app" / "app.conf").write_text("answer = 42\n")
    (root / "etc" / "hostname").write_text("guest\n")
    os.symlink("hostname", root / "etc" / "motd")
    (root / "etc" / "secret").write_text("excluded by the ignore file\n")
    (root / ".dockerignore").write_text("etc/secret\n")
    (root / "tools" / "tool-a").write_bytes(os.urandom(300_000))
    (root / "tools" / "tool-b").write_bytes(bytes(range(256)) * 40)
    os.chmod(root / "tools" / "tool-a", 0o755)
    return root


def embedded_build(context: Path, archive: Path, filename: str, work: Path) -> None:
    result = pun_build(
        [
            "--insecure-registry",
            "--context",
            str(context),
            "-f",
            str(context / filename),
            "--builder",
            "embedded",
            "--output",
            f"type=oci,dest={archive}",
        ],
        work / "cache",
    )
    assert result.code == 0, result.err


def cpio_names(data: bytes) -> List[str]:
    listed = subprocess.run(
        [require("cpio"), "-t", "--quiet"], input=data, capture_output=True, check=True
    ).stdout
    return sorted(listed.decode().splitlines())


def cpio_extract(data: bytes, dest: Path) -> Path:
    dest.mkdir(parents=True)
    subprocess.run(
        [require("cpio"), "-i", "-d", "--quiet", "--no-absolute-filenames"],
        input=data,
        cwd=dest,
        check=True,
    )
    return dest


def check_initrd(data: bytes, context: Path, work: Path) -> None:
    """GNU cpio's view of the initrd: the names and bytes of the context's rootfs files."""
    assert data[:6] == b"070701" and len(data) % 512 == 0
    assert cpio_names(data) == ROOTFS_NAMES
    out = cpio_extract(data, work)
    assert (out / "init").read_bytes() == (context / "init").read_bytes()
    assert os.stat(out / "init").st_mode & 0o777 == 0o755
    assert (out / "etc/app/app.conf").read_bytes() == (context / "etc/app/app.conf").read_bytes()
    assert os.readlink(out / "etc/motd") == "hostname"
    for tool in ("tool-a", "tool-b"):
        assert (out / "usr/bin" / tool).read_bytes() == (context / "tools" / tool).read_bytes()
    assert not (out / "etc/secret").exists()


def build_both(frontend: str, context: Path, filename: str, tmp_path: Path) -> Dict[str, Path]:
    archives = {name: tmp_path / f"{name}.tar" for name in ("frontend", "embedded")}
    built = gateway_build(
        frontend, context, "--output", f"type=oci,dest={archives['frontend']}", filename=filename
    )
    assert built.returncode == 0, built.stderr
    embedded_build(context, archives["embedded"], filename, tmp_path)
    roots = {}
    for name, archive in archives.items():
        roots[name] = umoci_rootfs(archive, tmp_path / f"unpacked-{name}", rootless=True)
    assert image_description(archives["frontend"]) == image_description(archives["embedded"])
    assert listing(roots["frontend"]) == listing(roots["embedded"])
    return roots


@pytest.mark.parametrize("compression", ["", "gzip"])
def test_a_containerfile_initrd_through_the_frontend_is_the_embedded_builders(
    frontend: str, tmp_path: Path, compression: str
) -> None:
    text = CONTAINERFILE.format(
        suffix=".cpio.gz" if compression else ".cpio",
        compression=f",compression={compression}" if compression else "",
    )
    context = write_context(tmp_path / "context", "Containerfile", text)
    roots = build_both(frontend, context, "Containerfile", tmp_path)
    path = "boot/initrd.cpio.gz" if compression else "boot/initrd.cpio"
    made = (roots["frontend"] / path).read_bytes()
    assert made == (roots["embedded"] / path).read_bytes()
    if compression:
        assert made[:2] == b"\x1f\x8b"  # RFC 1952
        made = gzip.decompress(made)
    check_initrd(made, context, tmp_path / "extracted")
    # Only the artifact: the files below src are not copied into the image.
    assert not (roots["frontend"] / "rootfs").exists()
    urunc = json.loads((roots["frontend"] / "urunc.json").read_bytes())
    # urunc's /urunc.json holds base64 values (urunc pkg/unikontainers).
    assert base64.b64decode(urunc["com.urunc.unikernel.initrd"]).decode() == "/" + path
    config = image_description(tmp_path / "frontend.tar")
    annotations = config["annotations"]
    assert isinstance(annotations, dict)
    assert annotations["com.urunc.unikernel.initrd"] == "/" + path
    assert annotations["com.urunc.unikernel.mountRootfs"] == "false"


def test_a_bunnyfile_initrd_through_the_frontend_is_the_embedded_builders(
    frontend: str, tmp_path: Path
) -> None:
    context = write_context(tmp_path / "context", "bunnyfile", BUNNYFILE)
    roots = build_both(frontend, context, "bunnyfile", tmp_path)
    made = (roots["frontend"] / ".boot" / "rootfs").read_bytes()
    assert made == (roots["embedded"] / ".boot" / "rootfs").read_bytes()
    check_initrd(made, context, tmp_path / "extracted")
    annotations = image_description(tmp_path / "frontend.tar")["annotations"]
    assert isinstance(annotations, dict)
    # bunny's names (hops/package.go SetAnnotations): the kernel and the initrd under /.boot.
    assert annotations["com.urunc.unikernel.initrd"] == "/.boot/rootfs"
    assert annotations["com.urunc.unikernel.binary"] == "/.boot/kernel"
    assert annotations["com.urunc.unikernel.unikernelType"] == "unikraft"


def test_the_frontend_refuses_a_block_rootfs_and_an_initrd_over_its_limit(
    frontend: str, tmp_path: Path
) -> None:
    from pun.frontend.rootfs import MAX_ARTIFACT_BYTES

    text = CONTAINERFILE.format(suffix="", compression="")
    block = write_context(
        tmp_path / "block", "Containerfile", text.replace("type=initrd", "type=block")
    )
    refused = gateway_build(
        frontend,
        block,
        "--output",
        f"type=oci,dest={tmp_path / 'block.tar'}",
        filename="Containerfile",
    )
    assert refused.returncode != 0
    assert "Containerfile:6: error: the pun frontend cannot make a block rootfs" in (
        refused.stderr
    ), refused.stderr
    big = write_context(tmp_path / "big", "Containerfile", text)
    (big / "tools" / "tool-a").write_bytes(os.urandom(MAX_ARTIFACT_BYTES + 1))
    refused = gateway_build(
        frontend, big, "--output", f"type=oci,dest={tmp_path / 'big.tar'}", filename="Containerfile"
    )
    assert refused.returncode != 0
    # Uncompressed: refused while the files are read, before the artifact is made.
    assert "Containerfile:6: error: the initrd rootfs's files pass" in refused.stderr
    assert f"which takes at most {MAX_ARTIFACT_BYTES} bytes" in refused.stderr, refused.stderr


BASE_IMAGE = """\
FROM scratch
COPY base/ /
"""
OVER_AN_IMAGE = """\
FROM scratch
COPY kernel /kernel/vmlinuz
COPY init /rootfs/init
COPY etc/hostname /rootfs/etc/hostname
LABEL pun.rootfs="type=initrd,src=/rootfs,path=/boot/initrd,from={image}"
LABEL com.urunc.unikernel.unikernelType=linux com.urunc.unikernel.hypervisor=qemu
LABEL com.urunc.unikernel.binary=/kernel/vmlinuz
"""


def test_an_initrd_over_an_images_files_through_the_frontend(
    frontend: str, registry: Registry, tmp_path: Path
) -> None:
    """`from=IMAGE`: BuildKit pulls the image for the frontend, pun's registry client for the
    embedded builder; the includes go over the image's files, in the same bytes."""
    base = tmp_path / "base-context"
    (base / "base" / "etc").mkdir(parents=True)
    (base / "base" / "bin").mkdir()
    (base / "Containerfile").write_text(BASE_IMAGE)
    (base / "base" / "etc" / "hostname").write_text("from the image\n")
    (base / "base" / "etc" / "os-release").write_text("ID=base\n")
    (base / "base" / "bin" / "busybox").write_bytes(b"\x7fELF busybox" * 1000)
    os.chmod(base / "base" / "bin" / "busybox", 0o755)
    os.symlink("busybox", base / "base" / "bin" / "sh")
    embedded_build(base, tmp_path / "base.tar", "Containerfile", tmp_path / "base-work")
    image = f"{registry.host}/rootfs-base:{unique_tag('base')}"
    push_archive(tmp_path / "base.tar", image)

    context = write_context(
        tmp_path / "context", "Containerfile", OVER_AN_IMAGE.format(image=image)
    )
    roots = build_both(frontend, context, "Containerfile", tmp_path)
    made = (roots["frontend"] / "boot" / "initrd").read_bytes()
    assert made == (roots["embedded"] / "boot" / "initrd").read_bytes()
    assert cpio_names(made) == [
        "bin",
        "bin/busybox",
        "bin/sh",
        "etc",
        "etc/hostname",
        "etc/os-release",
        "init",
        "urunc.json",  # pun build put it into the base image
    ]
    out = cpio_extract(made, tmp_path / "extracted")
    assert (out / "etc" / "hostname").read_text() == "guest\n"  # the COPY wins over the image
    assert (out / "etc" / "os-release").read_text() == "ID=base\n"
    assert os.readlink(out / "bin" / "sh") == "busybox"
    assert os.stat(out / "bin" / "busybox").st_mode & 0o777 == 0o755


def test_docker_build_with_the_syntax_line_makes_the_embedded_builders_initrd(
    frontend: str, tmp_path: Path
) -> None:
    """Docker Engine 20.10's BuildKit (its Dockerfile frontend forwards to ours on `#syntax=`):
    a Containerfile and a bunnyfile, each the same initrd as `pun build --builder embedded`."""
    from pun_testing.docker_engine import docker_engine

    engine = docker_engine()
    text = CONTAINERFILE.format(suffix=".cpio.gz", compression=",compression=gzip")
    for build_file, body, path in (
        ("Containerfile", text, "boot/initrd.cpio.gz"),
        ("bunnyfile", BUNNYFILE.split("\n", 1)[1], ".boot/rootfs"),
    ):
        work = tmp_path / build_file
        context = write_context(work / "context", build_file, f"#syntax={frontend}\n{body}")
        tag = f"pun-e2e/rootfs-{build_file.lower()}:{unique_tag()}"
        result = engine.build(context, build_file, tag)
        assert result.code == 0, result.output
        try:
            docker_root = engine.rootfs(tag, work / "docker")
        finally:
            engine.remove_image(tag)
        embedded_build(context, work / "embedded.tar", build_file, work)
        embedded_root = umoci_rootfs(work / "embedded.tar", work / "unpacked", rootless=True)
        made = (docker_root / path).read_bytes()
        assert made == (embedded_root / path).read_bytes()
        check_initrd(gzip.decompress(made) if path.endswith(".gz") else made, context, work / "x")
        # Files alike; directories too, but for their modes: Docker 20.10's BuildKit (v0.8)
        # makes the directory a copy creates (/boot) 0755, v0.32 and the embedded builder
        # give it the copy's mode (0644), whoever makes the artifact.
        assert names_and_files(docker_root) == names_and_files(embedded_root)


def names_and_files(root: Path) -> List[str]:
    return [line.split()[0] if line.split()[0].endswith("/") else line for line in listing(root)]


def test_docker_engine_20_10s_smaller_messages_are_one_clear_error(
    frontend: str, tmp_path: Path
) -> None:
    """Docker 20.10's BuildKit takes 4 MiB gRPC messages (the LLB carries the artifact): a
    5 MiB initrd is refused with the rootfs line and the way out, not a gRPC message."""
    from pun_testing.docker_engine import docker_engine

    engine = docker_engine()
    text = CONTAINERFILE.format(suffix="", compression="")
    context = write_context(tmp_path / "context", "Containerfile", f"#syntax={frontend}\n{text}")
    (context / "tools" / "tool-a").write_bytes(os.urandom(5 * 1024 * 1024))
    tag = f"pun-e2e/rootfs-big:{unique_tag()}"
    result = engine.build(context, "Containerfile", tag)
    engine.remove_image(tag)
    assert result.code != 0
    # Line 7: the #syntax line comes first.
    assert (
        "Containerfile:7: error: this BuildKit takes smaller messages" in result.output
    ), result.output
    assert "compression=gzip" in result.output


PICKED_FROM_AN_IMAGE = """\
#syntax=unused-by-buildctl
version: v0.1
platforms: {{framework: unikraft, monitor: qemu, architecture: x86}}
rootfs:
  type: initrd
  include:
    - init:/init
    - {{from: {image}, source: /bin/sh, destination: /bin/sh}}
    - {{from: {image}, source: /etc, destination: /etc}}
    - {{from: {image}, source: "/lib/*.so", destination: /lib/}}
kernel: {{from: local, path: kernel}}
cmd: ["/init"]
"""


def test_only_the_files_an_include_picks_from_an_image_travel(
    frontend: str, registry: Registry, tmp_path: Path
) -> None:
    """Includes from an image: BuildKit copies just those paths out of it before the frontend
    reads them (the image's other 4 MiB never cross ReadFile), and the initrd is the embedded
    builder's."""
    base = tmp_path / "base-context"
    for directory in ("bin", "etc", "lib", "usr/share"):
        (base / "base" / directory).mkdir(parents=True)
    (base / "Containerfile").write_text(BASE_IMAGE)
    (base / "base" / "bin" / "busybox").write_bytes(b"\x7fELF busybox" * 1000)
    os.chmod(base / "base" / "bin" / "busybox", 0o755)
    os.symlink("busybox", base / "base" / "bin" / "sh")
    (base / "base" / "etc" / "hostname").write_text("from the image\n")
    os.symlink("hostname", base / "base" / "etc" / "motd")
    (base / "base" / "lib" / "libc.so").write_bytes(b"libc" * 100)
    (base / "base" / "lib" / "libc.a").write_bytes(b"not picked")
    (base / "base" / "usr" / "share" / "big").write_bytes(os.urandom(4 * 1024 * 1024))
    embedded_build(base, tmp_path / "base.tar", "Containerfile", tmp_path / "base-work")
    image = f"{registry.host}/rootfs-picked:{unique_tag('picked')}"
    push_archive(tmp_path / "base.tar", image)

    context = tmp_path / "context"
    context.mkdir()
    (context / "bunnyfile").write_text(PICKED_FROM_AN_IMAGE.format(image=image))
    (context / "kernel").write_bytes(b"\x7fELF kernel" * 100)
    (context / "init").write_text("#!/bin/sh\necho hi\n")
    archives = {name: tmp_path / f"{name}.tar" for name in ("frontend", "embedded")}
    built = gateway_build(
        frontend, context, "--output", f"type=oci,dest={archives['frontend']}", filename="bunnyfile"
    )
    assert built.returncode == 0, built.stderr
    embedded_build(context, archives["embedded"], "bunnyfile", tmp_path)
    made = {
        name: (umoci_rootfs(archive, tmp_path / f"unpacked-{name}", rootless=True))
        .joinpath(".boot", "rootfs")
        .read_bytes()
        for name, archive in archives.items()
    }
    assert made["frontend"] == made["embedded"]
    assert cpio_names(made["frontend"]) == [
        "bin",
        "bin/sh",
        "etc",
        "etc/hostname",
        "etc/motd",
        "init",
        "lib",
        "lib/libc.so",
    ]
    out = cpio_extract(made["frontend"], tmp_path / "extracted")
    assert (out / "bin" / "sh").read_bytes() == b"\x7fELF busybox" * 1000  # the link followed
    assert os.readlink(out / "etc" / "motd") == "hostname"  # inside a directory: a link
    # BuildKit ran the copy that picks those paths (the frontend read its result: the same
    # files as the embedded builder's, without the image's 4 MiB of others).
    assert "[internal] pick the rootfs's files of an image" in built.stderr, built.stderr
