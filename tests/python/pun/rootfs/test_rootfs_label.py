"""The `pun.rootfs` label: which COPYs become the rootfs, which urunc labels follow (bunny's
rules, hops/package.go SetAnnotations), and one clear error per mistake."""

from __future__ import annotations

from typing import Dict

import pytest

from pun.api import GenerateOptions, generate, read_plan
from pun.containerfile.plan import RootfsInclude
from pun.convert import ROOTFS_LOCAL_NAME
from pun.diagnostics import PunError
from pun.llb.pb import ops_pb2

HEAD = """FROM scratch
COPY vmlinuz /kernel
LABEL com.urunc.unikernel.unikernelType=linux com.urunc.unikernel.hypervisor=qemu
LABEL com.urunc.unikernel.binary=/kernel
"""


def plan(body: str):  # type: ignore[no-untyped-def]
    return read_plan(HEAD + body, GenerateOptions(path="Containerfile"))


def test_copies_below_src_become_the_rootfs_and_leave_the_image() -> None:
    got = plan(
        "WORKDIR /rootfs\n"
        "COPY init /rootfs/init\n"
        "COPY busybox sh ./bin/\n"
        "COPY etc /rootfs/etc\n"
        "COPY other /srv/other\n"
        'LABEL pun.rootfs="type=initrd,src=/rootfs,path=/boot/initrd"\n'
    )
    assert got.rootfs is not None
    assert (got.rootfs.kind, got.rootfs.path, got.rootfs.line) == ("initrd", "/boot/initrd", 10)
    assert got.rootfs.includes == (
        RootfsInclude("init", "/init", 6),
        RootfsInclude("busybox", "/bin/", 7),
        RootfsInclude("sh", "/bin/", 7),
        RootfsInclude("etc", "/etc", 8),
    )
    assert [c.dest for c in got.copies] == ["/kernel", "/srv/other"]
    # Pants infers dependencies from these: rootfs files are still read from the context.
    assert got.copy_sources() == ("vmlinuz", "other", "init", "busybox", "sh", "etc")


def labels(body: str) -> Dict[str, str]:
    return dict(generate(HEAD + body, GenerateOptions(local_unique_id="u")).image.annotations)


def test_initrd_sets_initrd_and_mount_rootfs_false() -> None:
    got = labels('COPY init /r/init\nLABEL pun.rootfs="type=initrd,src=/r,path=/initrd.cpio"\n')
    assert got["com.urunc.unikernel.initrd"] == "/initrd.cpio"
    assert got["com.urunc.unikernel.mountRootfs"] == "false"
    assert "com.urunc.unikernel.block" not in got


def test_block_sets_block_and_blk_mount_point() -> None:
    got = labels('COPY init /r/init\nLABEL pun.rootfs="type=block,src=/r,path=/disk.ext4"\n')
    assert (got["com.urunc.unikernel.block"], got["com.urunc.unikernel.blkMntPoint"]) == (
        "/disk.ext4",
        "/",
    )
    got = labels('COPY a /r/a\nLABEL pun.rootfs="type=block,src=/r,mount=/data,fs=ext2"\n')
    assert got["com.urunc.unikernel.block"] == "/.boot/rootfs"  # bunny's DefaultRootfsPath
    assert got["com.urunc.unikernel.blkMntPoint"] == "/data"


def test_the_config_labels_carry_the_derived_keys_too() -> None:
    generated = generate(
        HEAD + 'COPY a /r/a\nLABEL pun.rootfs="type=block,src=/r,path=/d.img"\n',
        GenerateOptions(local_unique_id="u"),
    )
    config = generated.image.config_for(None)
    assert config["config"]["Labels"]["com.urunc.unikernel.block"] == "/d.img"


def test_the_llb_copies_the_artifact_from_the_pun_rootfs_local() -> None:
    generated = generate(
        HEAD + 'COPY a /r/a\nLABEL pun.rootfs="type=block,src=/r,path=/d.img"\n',
        GenerateOptions(local_unique_id="u"),
    )
    definition = ops_pb2.Definition()
    definition.ParseFromString(generated.definition)
    ops = []
    for raw in getattr(definition, "def"):
        op = ops_pb2.Op()
        op.ParseFromString(raw)
        ops.append(op)
    sources = [op.source.identifier for op in ops if op.WhichOneof("op") == "source"]
    assert f"local://{ROOTFS_LOCAL_NAME}" in sources
    copies = [
        a.copy
        for op in ops
        if op.WhichOneof("op") == "file"
        for a in op.file.actions
        if a.WhichOneof("action") == "copy"
    ]
    assert ("/rootfs", "/d.img") in [(c.src, c.dest) for c in copies]
    assert "/r/a" not in [c.dest for c in copies]  # the rootfs files are in the artifact only


@pytest.mark.parametrize(
    "body, words",
    [
        ('LABEL pun.rootfs="type=initrd,src=/r"\n', "no COPY writes below src=/r"),
        ('COPY a /r/a\nLABEL pun.rootfs="type=tar,src=/r"\n', "type='tar'"),
        ('COPY a /r/a\nLABEL pun.rootfs="type=initrd"\n', "src= is missing"),
        ('COPY a /r/a\nLABEL pun.rootfs="type=initrd,src=r"\n', "src='r'"),
        ('COPY a /r/a\nLABEL pun.rootfs="type=initrd,src=/r,size=9"\n', "'size=9'"),
        ('COPY a /r/a\nLABEL pun.rootfs="type=initrd,src=/r,path=/r/x"\n', "lies inside src"),
        ('COPY a /r/a\nLABEL pun.rootfs="type=block,src=/r,compression=gzip"\n', "compression"),
        ('COPY a /r/a\nLABEL pun.rootfs="type=initrd,src=/r,fs=ext4"\n', "fs=ext4"),
        ('COPY --chmod=600 a /r/a\nLABEL pun.rootfs="type=initrd,src=/r"\n', "--chmod"),
        (
            "COPY a /r/a\nLABEL com.urunc.unikernel.initrd=/other\n"
            'LABEL pun.rootfs="type=initrd,src=/r,path=/i"\n',
            "contradicts pun.rootfs",
        ),
    ],
)
def test_mistakes_are_one_error_naming_the_line(body: str, words: str) -> None:
    with pytest.raises(PunError) as raised:
        plan(body)
    [diagnostic] = raised.value.diagnostics
    assert words in diagnostic.message, diagnostic.message
    assert diagnostic.path == "Containerfile" and diagnostic.line is not None
    assert diagnostic.hint


def test_a_written_label_that_agrees_is_fine() -> None:
    got = labels(
        "COPY a /r/a\nLABEL com.urunc.unikernel.initrd=/i\n"
        'LABEL pun.rootfs="type=initrd,src=/r,path=/i"\n'
    )
    assert got["com.urunc.unikernel.initrd"] == "/i"


def test_strict_urunc_checks_see_the_artifact_as_a_file_in_the_image() -> None:
    # FROM scratch + initrd label: the path must be where something puts a file.
    generate(
        HEAD + 'COPY a /r/a\nLABEL pun.rootfs="type=initrd,src=/r,path=/i"\n',
        GenerateOptions(strict=True, local_unique_id="u"),
    )
