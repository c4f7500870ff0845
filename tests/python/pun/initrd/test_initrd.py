"""`pun initrd` judged by GNU cpio (`cpio -t`, `cpio -idv`), by the newc layout the kernel's
buffer-format document states, and by byte identity across machines-worth of differences
(other host mtimes, modes, owners, directory order, SOURCE_DATE_EPOCH)."""

from __future__ import annotations

import gzip
import os
import stat
import subprocess
from pathlib import Path
from typing import List, Tuple

import pytest

from pun.cli.main import main
from pun_testing.tools import require


def pun_initrd(argv: List[str], capfd: pytest.CaptureFixture[str]) -> Tuple[int, str]:
    code = main(["initrd", *argv])
    return code, capfd.readouterr().err


def inputs(root: Path, mtime: int, mode: int) -> Path:
    src = root / "src"
    (src / "etc").mkdir(parents=True)
    (src / "init").write_bytes(b"#!/bin/sh\necho hi\n")
    (src / "etc" / "motd").write_bytes(b"x" * 5)  # 5 bytes: data padding matters
    (src / "etc" / "link").symlink_to("motd")
    os.chmod(src / "init", 0o700 if mode == 0o700 else 0o775)
    os.chmod(src / "etc" / "motd", mode & 0o666)
    for path in (src / "init", src / "etc" / "motd", src / "etc"):
        os.utime(path, (mtime, mtime))
    (root / "busybox").write_bytes(b"\x7fELF" + bytes(range(256)) * 3)
    os.chmod(root / "busybox", 0o755)
    return src


ARGS = ["--symlink", "/bin/sh=busybox", "--dir", "/proc", "--dir", "/dev"]


def build(root: Path, capfd: pytest.CaptureFixture[str], mtime: int, mode: int) -> bytes:
    src = inputs(root, mtime, mode)
    out = root / "initrd.cpio"
    code, err = pun_initrd(
        ["-o", str(out), f"{src}:/", f"{root / 'busybox'}:/bin/busybox", *ARGS], capfd
    )
    assert code == 0, err
    return out.read_bytes()


def test_same_bytes_whatever_the_host_metadata(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    first = build(tmp_path / "a", capfd, mtime=1_000_000, mode=0o644)
    second = build(tmp_path / "b", capfd, mtime=2_000_000_000, mode=0o600)
    assert first == second
    assert len(first) % 512 == 0


def test_cpio_lists_sorted_entries_with_numeric_owners(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    cpio = require("cpio")
    data = build(tmp_path, capfd, 5, 0o644)
    listing = subprocess.run(
        [cpio, "-t", "-v", "--numeric-uid-gid"], input=data, capture_output=True, check=True
    ).stdout.decode()
    names = [line.split()[8] for line in listing.splitlines()]
    assert names == [
        "bin",
        "bin/busybox",
        "bin/sh",
        "dev",
        "etc",
        "etc/link",
        "etc/motd",
        "init",
        "proc",
    ]
    for line in listing.splitlines():
        fields = line.split()
        assert fields[2:4] == ["0", "0"]  # uid gid
        assert " 1970 " in line  # mtime 0 (no SOURCE_DATE_EPOCH)
    modes = {line.split()[8]: line.split()[0] for line in listing.splitlines()}
    assert modes["init"] == "-rwxr-xr-x" and modes["etc/motd"] == "-rw-r--r--"
    assert modes["bin/sh"].startswith("l") and modes["dev"] == "drwxr-xr-x"


def test_cpio_extracts_the_same_files(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    cpio = require("cpio")
    data = build(tmp_path, capfd, 5, 0o644)
    out = tmp_path / "x"
    out.mkdir()
    subprocess.run(
        [cpio, "-i", "-d", "-v", "--no-absolute-filenames"],
        input=data,
        cwd=out,
        capture_output=True,
        check=True,
    )
    assert (out / "init").read_bytes() == b"#!/bin/sh\necho hi\n"
    assert (out / "etc" / "motd").read_bytes() == b"xxxxx"
    assert (out / "bin" / "busybox").read_bytes() == (tmp_path / "busybox").read_bytes()
    assert os.readlink(out / "bin" / "sh") == "busybox"
    assert os.readlink(out / "etc" / "link") == "motd"
    assert stat.S_IMODE(os.stat(out / "init").st_mode) == 0o755
    assert (out / "proc").is_dir() and not any((out / "proc").iterdir())


def test_newc_layout_as_the_kernel_documents_it(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """buffer-format.rst: "070701", 13 eight-digit hex fields, name NUL-terminated and padded
    to 4, data padded to 4, then the TRAILER!!! entry; inode numbers here count up from 1."""
    data = build(tmp_path, capfd, 5, 0o644)
    offset, inodes, names = 0, [], []
    while True:
        header = data[offset : offset + 110]
        assert header[:6] == b"070701"
        fields = [int(header[6 + 8 * i : 14 + 8 * i], 16) for i in range(13)]
        ino, filesize, namesize, check = fields[0], fields[6], fields[11], fields[12]
        name = data[offset + 110 : offset + 110 + namesize]
        assert name.endswith(b"\0") and check == 0
        names.append(name[:-1].decode())
        offset += 110 + namesize
        offset += -offset % 4
        offset += filesize + (-filesize % 4)
        if names[-1] == "TRAILER!!!":
            assert ino == 0 and filesize == 0
            break
        inodes.append(ino)
    assert inodes == list(range(1, len(inodes) + 1))
    assert set(data[offset:]) <= {0}


def test_source_date_epoch_sets_every_mtime(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "f").write_bytes(b"f")
    out = tmp_path / "o.cpio"
    argv = ["-o", str(out), "--source-date-epoch", "1700000000", f"{tmp_path / 'f'}:/f"]
    code, err = pun_initrd(argv, capfd)
    assert code == 0, err
    assert b"%08X" % 1700000000 in out.read_bytes()[:110]


def test_gzip_is_the_same_archive_with_mtime_zero(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    plain = build(tmp_path / "a", capfd, 5, 0o644)
    src = tmp_path / "b"
    inputs(src, 7, 0o644)
    out = src / "initrd.cpio.gz"
    code, err = pun_initrd(
        ["-o", str(out), "--gzip", f"{src / 'src'}:/", f"{src / 'busybox'}:/bin/busybox", *ARGS],
        capfd,
    )
    assert code == 0, err
    zipped = out.read_bytes()
    assert zipped[4:8] == b"\0\0\0\0"  # the gzip header's MTIME field (RFC 1952)
    assert gzip.decompress(zipped) == plain


@pytest.mark.parametrize(
    "argv, message",
    [
        (["nosuchfile:/x"], "cannot read nosuchfile"),
        (["just-a-name"], "is not SRC:DST"),
        (["f:/a/../b"], "not a clean absolute path"),
        (["f:/x", "f:/x"], "two things want initrd path /x"),
        (["f:/x", "--symlink", "/x/y=z"], "/x is not a directory"),
        (["--symlink", "nonsense"], "invalid --symlink"),
        (["--device", "/dev/console=x:1"], "invalid --device"),
        (["--owner", "root:root", "f:/x"], "invalid --owner"),
    ],
)
def test_bad_input_fails_cleanly_and_writes_nothing(
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: List[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "f").write_bytes(b"data")
    code, err = pun_initrd(["-o", "out.cpio", *argv], capfd)
    assert code == 1
    assert message in err and "hint:" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]


def test_device_nodes_are_declared_not_copied(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    cpio = require("cpio")
    out = tmp_path / "d.cpio"
    code, err = pun_initrd(["-o", str(out), "--device", "/dev/console=c:5:1"], capfd)
    assert code == 0, err
    listing = subprocess.run(
        [cpio, "-t", "-v", "--numeric-uid-gid"],
        stdin=out.open("rb"),
        capture_output=True,
        check=True,
    ).stdout.decode()
    console = [line for line in listing.splitlines() if line.endswith("dev/console")][0]
    fields = console.replace(",", " ").split()
    assert fields[0] == "crw-------" and fields[4:6] == ["5", "1"]
