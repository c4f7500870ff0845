"""Block rootfs images judged by e2fsprogs' own checkers, not by pun: `e2fsck -fn` (a clean
filesystem), `debugfs -R 'ls -l'` / `stat` / `cat` (names, modes, owners, times, bytes),
`dumpe2fs -h` (UUID, hash seed, features); and the same bytes from two builds whose inputs
differ in temp dirs, mtimes and ignored mode bits."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Dict

import pytest

from pun.containerfile.plan import ROOTFS_BLOCK
from pun.diagnostics import PunError
from pun.rootfs.make import make_artifact
from pun_testing.rootfs_cases import EXPECTED, FILES, request, write_context
from pun_testing.tools import require


def _sbin(program: str) -> str:
    for directory in ("/usr/sbin", "/sbin"):
        if Path(directory, program).exists():
            return str(Path(directory, program))
    return require(program)


def debugfs(image: Path, command: str) -> str:
    done = subprocess.run(
        [_sbin("debugfs"), "-R", command, str(image)], capture_output=True, check=True
    )
    return done.stdout.decode("utf-8", "surrogateescape")


def debugfs_bytes(image: Path, command: str) -> bytes:
    return subprocess.run(
        [_sbin("debugfs"), "-R", command, str(image)], capture_output=True, check=True
    ).stdout


def dumpe2fs(image: Path) -> Dict[str, str]:
    """The superblock fields `dumpe2fs -h` prints, by name."""
    text = subprocess.run(
        [_sbin("dumpe2fs"), "-h", str(image)], capture_output=True, check=True
    ).stdout.decode()
    pairs = (line.partition(":") for line in text.splitlines())
    return {key.strip(): value.strip() for key, _, value in pairs}


def build(tmp: Path, name: str, mtime: int, epoch: int = 0, **extra: object) -> Path:
    context = write_context(tmp / f"{name}-context", mtime, 0o022 if mtime % 2 else 0)
    out = tmp / f"{name}-out"
    out.mkdir()
    return Path(make_artifact(request(ROOTFS_BLOCK, **extra), str(context), str(out), epoch))


@pytest.mark.parametrize("filesystem", ["ext4", "ext2"])
def test_e2fsck_finds_a_clean_filesystem(tmp_path: Path, filesystem: str) -> None:
    image = build(tmp_path, "a", 1_600_000_000, filesystem=filesystem)
    done = subprocess.run([_sbin("e2fsck"), "-fn", str(image)], capture_output=True)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    header = subprocess.run(
        [_sbin("dumpe2fs"), "-h", str(image)], capture_output=True, check=True
    ).stdout.decode()
    features = re.search(r"Filesystem features:\s+(.*)", header)
    assert features is not None
    if filesystem == "ext4":
        assert {"extent", "metadata_csum", "64bit"} <= set(features.group(1).split())
    else:
        assert not {"extent", "has_journal"} & set(features.group(1).split())


_LS_LINE = re.compile(
    r"^\s*(\d+)\s+([0-7]+)\s+\((\d+)\)\s+(\d+)\s+(\d+)\s+(\d+)\s+\S+\s+\d{1,2}:\d{2} (.*)$"
)
_KINDS = {0o040000: "dir", 0o100000: "file", 0o120000: "symlink"}


def _tree(image: Path, directory: str = "/") -> Dict[str, re.Match]:
    """path -> debugfs's `ls -l` fields (inode, mode, links, uid, gid, size, name), recursively."""
    found: Dict[str, re.Match] = {}
    for line in debugfs(image, f'ls -l "{directory}"').splitlines():
        match = _LS_LINE.match(line)
        if match is None or match.group(7) in (".", "..", "lost+found"):
            continue
        path = directory.rstrip("/") + "/" + match.group(7)
        found[path] = match
        if int(match.group(2), 8) & 0o170000 == 0o040000:
            found.update(_tree(image, path))
    return found


def test_debugfs_sees_the_files_modes_owners_and_times(tmp_path: Path) -> None:
    image = build(tmp_path, "a", 1_600_000_000, epoch=1_234_567_890)
    tree = _tree(image)
    assert sorted(tree) == sorted(EXPECTED)
    for path, (kind, mode, content) in EXPECTED.items():
        fields = tree[path]
        st_mode = int(fields.group(2), 8)
        assert (_KINDS[st_mode & 0o170000], st_mode & 0o7777) == (kind, mode), path
        assert (fields.group(4), fields.group(5)) == ("0", "0"), path  # uid, gid
        stat = debugfs(image, f'stat "{path}"')
        for field in ("ctime", "atime", "mtime", "crtime"):
            found = re.search(rf"\b{field}: (0x[0-9a-f]+):([0-9a-f]+)", stat)
            assert found is not None, (field, stat)
            assert int(found.group(1), 16) == 1_234_567_890, (path, field, stat)
            assert int(found.group(2), 16) == 0, (path, field, stat)
        if kind == "file":
            assert debugfs_bytes(image, f'cat "{path}"') == content, path
            assert int(fields.group(6)) == len(content or b""), path
        if kind == "symlink":
            assert content is not None and f'Fast link dest: "{content.decode()}"' in stat, stat


def test_same_bytes_from_different_temp_dirs_mtimes_and_group_bits(tmp_path: Path) -> None:
    first = build(tmp_path, "first", 1_500_000_000)
    second = build(tmp_path, "second", 1_700_000_001)  # odd: group/other bits differ too
    assert first.read_bytes() == second.read_bytes()


def test_uuid_and_hash_seed_are_fixed_by_the_content(tmp_path: Path) -> None:
    header = dumpe2fs
    one, two = header(build(tmp_path, "one", 1)), header(build(tmp_path, "two", 2))
    assert one["Filesystem UUID"] == two["Filesystem UUID"]
    assert one["Directory Hash Seed"] == two["Directory Hash Seed"]
    assert one["Filesystem UUID"] != one["Directory Hash Seed"]


def test_different_content_gets_a_different_uuid(tmp_path: Path) -> None:
    FILES_BACKUP = dict(FILES)
    try:
        first = build(tmp_path, "x", 1)
        FILES["init"] = (b"#!/bin/sh\necho changed\n", True)
        second = build(tmp_path, "y", 1)
    finally:
        FILES.clear()
        FILES.update(FILES_BACKUP)
    assert first.read_bytes() != second.read_bytes()
    heads = [
        subprocess.run([_sbin("dumpe2fs"), "-h", str(p)], capture_output=True).stdout
        for p in (first, second)
    ]
    found = [re.search(rb"Filesystem UUID:\s+(\S+)", h) for h in heads]
    uuids = [m.group(1) for m in found if m is not None]
    assert len(uuids) == 2
    assert uuids[0] != uuids[1]


def test_the_image_leaves_room_for_the_guest(tmp_path: Path) -> None:
    image = build(tmp_path, "a", 1)
    values = dumpe2fs(image)
    free = int(values["Free blocks"]) * int(values["Block size"])
    payload = sum(len(data) for data, _ in FILES.values())
    assert free >= payload // 5 and free >= 1024 * 1024, (free, payload)
    assert int(values["Free inodes"]) >= 16


def test_many_files_fit(tmp_path: Path) -> None:
    from pun.containerfile.plan import RootfsInclude, RootfsRequest

    context = tmp_path / "ctx"
    for i in range(600):
        path = context / f"d{i % 7}" / f"file-{i:04d}-{'x' * (i % 90)}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"y" * (i * 37 % 9000))
    out = tmp_path / "out"
    out.mkdir()
    req = RootfsRequest(ROOTFS_BLOCK, "/r", (RootfsInclude(".", "/", 1),), 1)
    image = Path(make_artifact(req, str(context), str(out), 0))
    assert subprocess.run([_sbin("e2fsck"), "-fn", str(image)], capture_output=True).returncode == 0
    listing = debugfs(image, "ls -p /d3")
    assert listing.count("file-") == len([i for i in range(600) if i % 7 == 3])


def test_a_missing_source_is_one_clear_error(tmp_path: Path) -> None:
    from pun.containerfile.plan import RootfsInclude, RootfsRequest

    (tmp_path / "out").mkdir()
    req = RootfsRequest(ROOTFS_BLOCK, "/r", (RootfsInclude("nope", "/x", 7),), 1)
    with pytest.raises(PunError) as raised:
        make_artifact(req, str(tmp_path), str(tmp_path / "out"), 0, path="bunnyfile")
    diagnostic = raised.value.diagnostics[0]
    assert (diagnostic.path, diagnostic.line) == ("bunnyfile", 7)
    assert "nope" in diagnostic.message
    assert list((tmp_path / "out").iterdir()) == []


def test_sources_stay_inside_the_context(tmp_path: Path) -> None:
    from pun.containerfile.plan import RootfsInclude, RootfsRequest

    context = tmp_path / "ctx"
    context.mkdir()
    (tmp_path / "secret").write_text("host file\n")
    (context / "escape").symlink_to("../secret")
    (tmp_path / "out").mkdir()
    req = RootfsRequest(ROOTFS_BLOCK, "/r", (RootfsInclude("escape", "/x", 1),), 1)
    with pytest.raises(PunError):
        make_artifact(req, str(context), str(tmp_path / "out"), 0)
