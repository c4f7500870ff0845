"""A rootfs artifact on every path to an image, judged by independent tools: skopeo (config
labels), the archive's manifest (annotations), umoci (the files and /urunc.json), e2fsck and
debugfs (the block image inside), a real BuildKit (the buildctl builder, and `pun --LLB | buildctl`
with `pun rootfs`), and plain `docker build` (which gets the raw files: the label is inert)."""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

from pun.cli.main import main as pun
from pun_testing.buildkit import BuildKit, buildkit  # noqa: F401  (the fixture)
from pun_testing.images import archive_json
from pun_testing.registry import Registry, registry  # noqa: F401  (the fixture)
from pun_testing.rootfs import umoci_rootfs
from pun_testing.tools import require, run
from pun_testing.trees import tree

CONTAINERFILE = """FROM scratch
COPY vmlinuz /kernel
COPY init /rootfs/init
COPY conf/ /rootfs/etc/app/
COPY notes.txt /srv/notes.txt
LABEL com.urunc.unikernel.unikernelType=linux
LABEL com.urunc.unikernel.hypervisor=qemu
LABEL com.urunc.unikernel.binary=/kernel
LABEL pun.rootfs="type=block,src=/rootfs,path=/rootfs.ext4"
CMD ["/init"]
"""
BLOCK = "com.urunc.unikernel.block"
MOUNT_POINT = "com.urunc.unikernel.blkMntPoint"


def build(root: Path, output: str) -> int:
    """`pun build` of the context `root` (its Containerfile) to `--output output`."""
    return pun(["build", "--context", str(root), "--progress", "quiet", "--output", output])


def cpio_names(archive: bytes) -> List[str]:
    """The member names GNU cpio reads in a newc archive (an independent reader)."""
    listed = subprocess.run(
        [require("cpio"), "-t", "--quiet"], input=archive, capture_output=True, check=True
    )
    return listed.stdout.decode().split()


def context(root: Path, text: str = CONTAINERFILE) -> Path:
    root.mkdir(parents=True)
    (root / "Containerfile").write_text(text)
    (root / "vmlinuz").write_bytes(b"\x7fELF kernel stand-in\n")
    (root / "init").write_text("#!/bin/sh\necho hi\n")
    (root / "init").chmod(0o755)
    (root / "conf").mkdir()
    (root / "conf" / "app.conf").write_text("answer = 42\n")
    (root / "notes.txt").write_text("plain copy\n")
    return root


def sbin(program: str) -> str:
    for directory in ("/usr/sbin", "/sbin"):
        if Path(directory, program).exists():
            return str(Path(directory, program))
    return require(program)


def check_block_image(image: Path) -> None:
    done = subprocess.run([sbin("e2fsck"), "-fn", str(image)], capture_output=True)
    assert done.returncode == 0, done.stdout.decode()
    ls = subprocess.run(
        [sbin("debugfs"), "-R", "ls -p /etc/app", str(image)], capture_output=True, check=True
    ).stdout.decode()
    assert "/app.conf/" in ls
    cat = subprocess.run(
        [sbin("debugfs"), "-R", "cat /init", str(image)], capture_output=True, check=True
    ).stdout
    assert cat == b"#!/bin/sh\necho hi\n"


def test_pun_build_puts_the_block_image_and_its_labels_in_the_image(tmp_path: Path) -> None:
    root = context(tmp_path / "ctx")
    archive = tmp_path / "image.oci.tar"
    assert build(root, f"type=oci,dest={archive}") == 0
    inspected = json.loads(run([require("skopeo"), "inspect", f"oci-archive:{archive}"]).stdout)
    assert (inspected["Labels"][BLOCK], inspected["Labels"][MOUNT_POINT]) == ("/rootfs.ext4", "/")
    manifest_entry = archive_json(archive, "index.json")["manifests"][0]
    manifest: Dict[str, Any] = archive_json(
        archive, "blobs/sha256/" + manifest_entry["digest"].split(":")[1]
    )
    assert manifest["annotations"][BLOCK] == "/rootfs.ext4"
    assert manifest["annotations"][MOUNT_POINT] == "/"
    files = umoci_rootfs(archive, tmp_path / "unpacked")
    encoded = json.loads((files / "urunc.json").read_text())
    urunc = {k: base64.b64decode(v).decode() for k, v in encoded.items()}
    assert (urunc[BLOCK], urunc[MOUNT_POINT]) == ("/rootfs.ext4", "/")
    assert sorted(p.name for p in files.iterdir()) == ["kernel", "rootfs.ext4", "srv", "urunc.json"]
    check_block_image(files / "rootfs.ext4")
    # `pun rootfs` makes the same artifact (what the LLB path hands buildctl).
    made = tmp_path / "made"
    assert pun(["rootfs", "--context", str(root), "-o", str(made)]) == 0
    assert (made / "rootfs").read_bytes() == (files / "rootfs.ext4").read_bytes()


def test_two_builds_give_the_same_image(tmp_path: Path) -> None:
    digests = []
    for name, mtime in (("one", 1_000_000_000), ("two", 1_700_000_000)):
        root = context(tmp_path / name)
        for path in root.rglob("*"):
            os.utime(path, (mtime, mtime))
        meta = tmp_path / f"{name}.json"
        assert (
            pun(
                [
                    "build",
                    "--context",
                    str(root),
                    "--progress",
                    "quiet",
                    "--local-unique-id",
                    "pinned",
                    "--metadata-file",
                    str(meta),
                    "--output",
                    f"type=oci,dest={tmp_path / name}.tar",
                ]
            )
            == 0
        )
        digests.append(json.loads(meta.read_text())["containerimage.digest"])
    assert digests[0] == digests[1]


def test_a_planned_build_makes_the_same_image_as_the_containerfile(tmp_path: Path) -> None:
    """The Pants rule's path: the Definition and image spec planned once, built elsewhere."""
    from pun.api import GenerateOptions, generate
    from pun.buildplan import spec_file_bytes

    root = context(tmp_path / "ctx")
    generated = generate(CONTAINERFILE, GenerateOptions(local_unique_id="pinned"))
    (tmp_path / "definition.pb").write_bytes(generated.definition)
    (tmp_path / "image-spec.json").write_bytes(
        spec_file_bytes(
            generated.image, "Containerfile", generated.source_map, generated.plan.rootfs
        )
    )
    digests = []
    for name, extra in (
        (
            "planned",
            [
                "--definition",
                str(tmp_path / "definition.pb"),
                "--image-spec",
                str(tmp_path / "image-spec.json"),
            ],
        ),
        ("direct", ["-f", str(root / "Containerfile"), "--local-unique-id", "pinned"]),
    ):
        meta = tmp_path / f"{name}.json"
        assert (
            pun(
                [
                    "build",
                    "--context",
                    str(root),
                    "--progress",
                    "quiet",
                    *extra,
                    "--metadata-file",
                    str(meta),
                    "--output",
                    f"type=oci,dest={tmp_path / name}.tar",
                ]
            )
            == 0
        )
        digests.append(json.loads(meta.read_text())["containerimage.digest"])
    assert digests[0] == digests[1]


def test_buildctl_builder_gives_the_embedded_builders_files(
    tmp_path: Path, buildkit: BuildKit  # noqa: F811
) -> None:
    root = context(tmp_path / "ctx")
    outputs = {}
    for builder in ("embedded", "buildctl"):
        dest = tmp_path / builder
        argv = [
            "build",
            "--context",
            str(root),
            "--progress",
            "quiet",
            "--builder",
            builder,
            "--output",
            f"type=local,dest={dest}",
        ]
        if builder == "buildctl":
            argv += ["--buildctl", buildkit.buildctl, "--buildkit-addr", buildkit.host]
        assert pun(argv) == 0
        outputs[builder] = dest

    # buildctl's local exporter writes every file as the client's user; compare the rest.
    def files(dest: Path) -> list:
        return [(p, k, m, c) for p, k, m, _, _, c in tree(dest)]

    assert files(outputs["buildctl"]) == files(outputs["embedded"])
    assert (outputs["buildctl"] / "rootfs.ext4").read_bytes() == (
        outputs["embedded"] / "rootfs.ext4"
    ).read_bytes()
    check_block_image(outputs["buildctl"] / "rootfs.ext4")


def test_pun_llb_and_pun_rootfs_feed_plain_buildctl(
    tmp_path: Path, buildkit: BuildKit  # noqa: F811
) -> None:
    root = context(tmp_path / "ctx")
    made = tmp_path / "made"
    assert (
        pun(["rootfs", "--context", str(root), "-f", str(root / "Containerfile"), "-o", str(made)])
        == 0
    )
    definition = subprocess.run(
        [sys.executable, "-m", "pun.cli.main", "--LLB", "-f", "Containerfile"],
        cwd=root,
        capture_output=True,
        check=True,
        # Absolute: Pants' sandbox puts relative entries on sys.path, and cwd changes here.
        env={**os.environ, "PYTHONPATH": os.pathsep.join(os.path.abspath(p) for p in sys.path)},
    )
    assert b"pun rootfs" in definition.stderr  # the note says how to make the local
    out = tmp_path / "out"
    subprocess.run(
        buildkit.argv(
            "build",
            "--local",
            f"context={root}",
            "--local",
            f"pun-rootfs={made}",
            "--output",
            f"type=local,dest={out}",
        ),
        input=definition.stdout,
        capture_output=True,
        check=True,
        timeout=300,
    )
    assert (out / "rootfs.ext4").read_bytes() == (made / "rootfs").read_bytes()
    assert not (out / "rootfs").exists()


def test_plain_docker_build_gets_the_raw_files(tmp_path: Path) -> None:
    from pun_testing.docker_engine import docker_engine, unique_tag

    engine = docker_engine()
    root = context(tmp_path / "ctx")
    tag = unique_tag("rootfs") + ":1"
    result = engine.build(root, "Containerfile", tag)
    assert result.code == 0, result.output
    try:
        files = engine.rootfs(tag, tmp_path / "docker")
        labels = engine.inspect(tag)["Config"]["Labels"]
    finally:
        engine.remove_image(tag)
    assert (files / "rootfs" / "init").read_text() == "#!/bin/sh\necho hi\n"
    assert (files / "rootfs" / "etc" / "app" / "app.conf").read_text() == "answer = 42\n"
    assert not (files / "rootfs.ext4").exists()
    assert labels["pun.rootfs"] == "type=block,src=/rootfs,path=/rootfs.ext4"
    assert BLOCK not in labels  # docker derives nothing: only pun packs


def test_the_frontend_refuses_a_block_rootfs_with_the_way_out() -> None:
    """The frontend makes initrds (tests/python/pun/frontend/test_frontend_rootfs_e2e.py), not
    block images: it refuses before asking the daemon for anything."""
    from pun.api import read_plan
    from pun.diagnostics import PunError
    from pun.frontend.caps import Capabilities
    from pun.frontend.rootfs import make_initrd
    from pun.platform import DEFAULT_TARGET

    plan = read_plan(CONTAINERFILE)
    no_bridge: Any = None  # never called
    caps = Capabilities(frozenset(), frozenset())
    with pytest.raises(PunError) as raised:
        make_initrd(no_bridge, plan, caps, DEFAULT_TARGET, (), {}, lambda _: None)
    problem = raised.value.diagnostics[0]
    assert problem.line == 9 and "block rootfs" in problem.message
    assert "pun rootfs" in problem.hint and "pun-rootfs" in problem.hint


@pytest.mark.parametrize("kind", ["initrd"])
def test_an_initrd_rootfs_through_pun_build(tmp_path: Path, kind: str) -> None:
    text = CONTAINERFILE.replace(
        'pun.rootfs="type=block,src=/rootfs,path=/rootfs.ext4"',
        'pun.rootfs="type=initrd,src=/rootfs,path=/boot/initrd.gz,compression=gzip"',
    )
    root = context(tmp_path / "ctx", text)
    dest = tmp_path / "local"
    assert build(root, f"type=local,dest={dest}") == 0
    listing = cpio_names(gzip.decompress((dest / "boot" / "initrd.gz").read_bytes()))
    assert listing == ["etc", "etc/app", "etc/app/app.conf", "init"]
    urunc = json.loads((dest / "urunc.json").read_text())
    assert base64.b64decode(urunc["com.urunc.unikernel.initrd"]) == b"/boot/initrd.gz"


def test_a_rootfs_from_another_image_with_copies_over_it(
    tmp_path: Path, registry: Registry  # noqa: F811
) -> None:
    from pun_testing.docker_engine import push_archive

    base_ctx = tmp_path / "base"
    (base_ctx / "etc").mkdir(parents=True)
    (base_ctx / "etc" / "motd").write_text("from the base image\n")
    (base_ctx / "etc" / "app.conf").write_text("base config\n")
    (base_ctx / "Containerfile").write_text("FROM scratch\nCOPY etc /etc\n")
    base_archive = tmp_path / "base.tar"
    assert build(base_ctx, f"type=oci,dest={base_archive}") == 0
    reference = f"{registry.host}/rootfs/base:1"
    push_archive(base_archive, reference)
    text = CONTAINERFILE.replace(
        'pun.rootfs="type=block,src=/rootfs,path=/rootfs.ext4"',
        f'pun.rootfs="type=initrd,src=/rootfs,path=/initrd,from={reference}"',
    )
    root = context(tmp_path / "ctx", text)
    artifacts = []
    for name in ("one", "two"):
        made = tmp_path / name
        assert (
            pun(
                [
                    "rootfs",
                    "--context",
                    str(root),
                    "-o",
                    str(made),
                    "--cache-dir",
                    str(tmp_path / f"cache-{name}"),
                ]
            )
            == 0
        )
        artifacts.append((made / "rootfs").read_bytes())
    assert artifacts[0] == artifacts[1]
    out = tmp_path / "extracted"
    out.mkdir()
    subprocess.run(
        [require("cpio"), "-i", "-d", "--quiet"], input=artifacts[0], cwd=out, check=True
    )
    assert (out / "etc" / "motd").read_text() == "from the base image\n"
    assert (out / "etc" / "app" / "app.conf").read_text() == "answer = 42\n"  # the COPY
    assert (out / "etc" / "app.conf").read_text() == "base config\n"
    assert (out / "init").read_text() == "#!/bin/sh\necho hi\n"
    # The base image's own /urunc.json (pun wrote one) is a file of that image like any other.
    assert (out / "urunc.json").exists()


def test_the_context_ignore_file_keeps_files_out_of_the_rootfs(tmp_path: Path) -> None:
    text = CONTAINERFILE.replace(
        'pun.rootfs="type=block,src=/rootfs,path=/rootfs.ext4"',
        'pun.rootfs="type=initrd,src=/rootfs,path=/initrd"',
    )
    root = context(tmp_path / "ctx", text)
    (root / "conf" / "secret.key").write_text("never in an image\n")
    (root / ".dockerignore").write_text("**/*.key\n")
    dest = tmp_path / "local"
    assert build(root, f"type=local,dest={dest}") == 0
    listing = cpio_names((dest / "initrd").read_bytes())
    assert listing == ["etc", "etc/app", "etc/app/app.conf", "init"]
