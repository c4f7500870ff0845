"""Initrd rootfs artifacts judged by GNU cpio (`cpio -t -v`, `cpio -i`) and by gzip's own
header rules (RFC 1952), and the same bytes from two builds with different inputs' mtimes."""

from __future__ import annotations

import gzip
import os
import subprocess
from pathlib import Path

from pun.containerfile.plan import ROOTFS_INITRD
from pun.rootfs.make import make_artifact
from pun_testing.rootfs_cases import EXPECTED, request, write_context
from pun_testing.tools import require


def build(tmp: Path, name: str, mtime: int, epoch: int = 0, **extra: object) -> Path:
    context = write_context(tmp / f"{name}-context", mtime, 0o022 if mtime % 2 else 0)
    out = tmp / f"{name}-out"
    out.mkdir()
    return Path(make_artifact(request(ROOTFS_INITRD, **extra), str(context), str(out), epoch))


def test_cpio_lists_every_entry_with_root_owner_and_the_epoch(tmp_path: Path) -> None:
    archive = build(tmp_path, "a", 1_600_000_000, epoch=86400 * 365)
    listing = subprocess.run(
        [require("cpio"), "-t", "-v", "--numeric-uid-gid", "--quiet"],
        stdin=archive.open("rb"),
        capture_output=True,
        check=True,
    ).stdout.decode()
    lines = [line for line in listing.splitlines() if line.strip()]
    names = [line.split(" Jan  1  1971 ")[-1].split(" -> ")[0] for line in lines]
    assert names == sorted(p.lstrip("/") for p in EXPECTED), names
    for line in lines:
        fields = line.split()
        assert fields[2:4] == ["0", "0"], line
        assert " Jan  1  1971 " in line, line


def test_cpio_extracts_the_files_with_their_bytes(tmp_path: Path) -> None:
    archive = build(tmp_path, "a", 1)
    out = tmp_path / "extracted"
    out.mkdir()
    subprocess.run(
        [require("cpio"), "-i", "-d", "--no-absolute-filenames", "--quiet"],
        stdin=archive.open("rb"),
        cwd=out,
        check=True,
    )
    for path, (kind, mode, content) in EXPECTED.items():
        host = out / path.lstrip("/")
        if kind == "file":
            assert host.read_bytes() == content, path
            assert os.stat(host).st_mode & 0o777 == mode, path
        elif kind == "symlink":
            assert content is not None and os.readlink(host) == content.decode(), path
        else:
            assert host.is_dir(), path


def test_same_bytes_from_different_temp_dirs_and_mtimes(tmp_path: Path) -> None:
    first = build(tmp_path, "first", 1_500_000_000)
    second = build(tmp_path, "second", 1_700_000_001)
    assert first.read_bytes() == second.read_bytes()


def test_gzip_has_no_name_and_mtime_zero_and_holds_the_plain_archive(tmp_path: Path) -> None:
    plain = build(tmp_path, "plain", 1).read_bytes()
    zipped = build(tmp_path, "zipped", 2, compression="gzip").read_bytes()
    again = build(tmp_path, "again", 3, compression="gzip").read_bytes()
    assert zipped == again
    # RFC 1952: ID1 ID2 CM FLG MTIME(4) XFL OS; FLG bit 3 (FNAME) would mean a file name.
    assert zipped[:3] == b"\x1f\x8b\x08"
    assert zipped[3] & 0x08 == 0 and zipped[4:8] == b"\0\0\0\0"
    assert gzip.decompress(zipped) == plain
    listing = (
        subprocess.run(
            [require("cpio"), "-t", "--quiet"],
            input=gzip.decompress(zipped),
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\n")
    )
    assert "init" in listing


def _names(archive: Path) -> list:
    listing = subprocess.run(
        [require("cpio"), "-t", "--quiet"],
        stdin=archive.open("rb"),
        capture_output=True,
        check=True,
    ).stdout.decode()
    return listing.split("\n")[:-1]


def test_wildcards_and_the_ignore_file_apply_as_for_copy(tmp_path: Path) -> None:
    from pun.containerfile.plan import RootfsInclude, RootfsRequest

    context = write_context(tmp_path / "ctx", 1)
    (context / "conf" / "other.conf").write_text("other\n")
    (context / "conf" / "secret.conf").write_text("not for the rootfs\n")
    req = RootfsRequest(
        ROOTFS_INITRD,
        "/i",
        (RootfsInclude("conf/*.conf", "/etc/", 1), RootfsInclude("conf", "/all", 2)),
        3,
    )
    out = tmp_path / "out"
    out.mkdir()
    # `.dockerignore`-style patterns, as the context's ignore file gives them.
    archive = Path(make_artifact(req, str(context), str(out), 0, excludes=("**/secret.conf",)))
    names = _names(archive)
    assert [n for n in names if n.startswith("etc/")] == ["etc/app.conf", "etc/other.conf"]
    assert "all/sub/deep.txt" in names and "all/link" in names
    assert not [n for n in names if "secret" in n]


def test_a_later_include_replaces_an_earlier_one_as_a_later_copy_does(tmp_path: Path) -> None:
    from pun.containerfile.plan import RootfsInclude, RootfsRequest

    context = write_context(tmp_path / "ctx", 1)
    req = RootfsRequest(
        ROOTFS_INITRD,
        "/i",
        (RootfsInclude("conf", "/etc", 1), RootfsInclude("init", "/etc/app.conf", 2)),
        3,
    )
    out = tmp_path / "out"
    out.mkdir()
    archive = Path(make_artifact(req, str(context), str(out), 0))
    extracted = tmp_path / "x"
    extracted.mkdir()
    subprocess.run(
        [require("cpio"), "-i", "-d", "--quiet"],
        stdin=archive.open("rb"),
        cwd=extracted,
        check=True,
    )
    assert (extracted / "etc" / "app.conf").read_bytes() == (context / "init").read_bytes()
    assert (extracted / "etc" / "sub" / "deep.txt").exists()
