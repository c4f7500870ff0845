"""A block-device rootfs: an ext4 (or ext2) filesystem image with the same bytes every time.

Built with e2fsprogs (`mke2fs -d DIR`, then `debugfs -w`), run by the build process. What would
otherwise leak into the bytes, and how it is pinned (man mke2fs, mke2fs.conf, debugfs; e2fsprogs
1.47.0):
- features, block and inode sizes: our own mke2fs.conf (MKE2FS_CONFIG), not the host's;
- the filesystem UUID (`-U`) and the directory hash seed (`-E hash_seed=`): derived from the
  content (a SHA-256 over names, kinds, modes, link targets and file bytes), so two different
  rootfs never share a UUID and the same one always has it;
- the order files are added in: mke2fs sorts each directory (scandir), under LC_ALL=C;
- inode times: mke2fs copies them from the staged files (ctime cannot be set from user space),
  so `debugfs sif` then sets atime/mtime/ctime/crtime of every inode to SOURCE_DATE_EPOCH and
  owners to 0:0;
- superblock times (created, last write, last checked): E2FSPROGS_FAKE_TIME, which the library
  reads for "now". It takes 0 as unset, so an epoch of 0 gives these three 1 (1970-01-01 00:00:01);
- lazy inode-table and journal init are off and discard is skipped, so every block is written.
Size: the content's blocks, directories, inode tables and the journal, plus 20% and 1 MiB of
headroom for the guest; grown by half and retried if mke2fs runs out of room (a function of the
content, so still deterministic).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from typing import Dict, List, Sequence, Tuple

from pun.diagnostics import error
from pun.initrd.cpio import Entry, Kind, sort_key

EXT4 = "ext4"
EXT2 = "ext2"
FILESYSTEMS = (EXT4, EXT2)
BLOCK_SIZE = 4096
INODE_SIZE = 256
FIRST_INODE = 11  # lost+found; the staged entries follow it, in mke2fs's (sorted) order
_CHUNK = 1024 * 1024
_SEARCH = ("/usr/sbin", "/sbin", "/usr/bin", "/bin")
# Debian e2fsprogs 1.47.0's defaults, pinned so that the host's /etc/mke2fs.conf cannot change
# the bytes (metadata_csum_seed and orphan_file stay off, as Debian ships them).
MKE2FS_CONF = """[defaults]
	base_features = sparse_super,large_file,filetype,resize_inode,dir_index,ext_attr
	default_mntopts = acl,user_xattr
	enable_periodic_fsck = 0
	blocksize = 4096
	inode_size = 256
	inode_ratio = 16384
[fs_types]
	ext4 = {
		features = has_journal,extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,extra_isize
	}
	ext2 = {
		features = ^has_journal
	}
"""


def tool(name: str) -> str:
    """e2fsprogs' programs live in sbin, which is often not on a user's PATH."""
    found = shutil.which(name) or next(
        (os.path.join(d, name) for d in _SEARCH if os.access(os.path.join(d, name), os.X_OK)),
        None,
    )
    if found is None:
        raise error(
            f"{name} (e2fsprogs) is not installed, so a block rootfs cannot be made",
            hint="install e2fsprogs (Debian: apt-get install e2fsprogs)",
        )
    return found


def write_block_image(
    entries: Sequence[Entry], dest: str, epoch: int, filesystem: str = EXT4
) -> None:
    """Write the image to `dest` (a new file; the caller makes it atomic)."""
    if filesystem not in FILESYSTEMS:
        raise error(f"unknown block filesystem {filesystem!r}", hint="use ext4 or ext2")
    ordered = sorted(entries, key=lambda e: sort_key(e.path))
    for entry in ordered:
        if entry.kind not in (Kind.DIR, Kind.FILE, Kind.SYMLINK):
            raise error(
                f"{entry.path}: device nodes cannot go into a block rootfs",
                hint="create them in the guest (devtmpfs) or use an initrd",
            )
    with tempfile.TemporaryDirectory(prefix="pun-ext4-") as work:
        staged = os.path.join(work, "root")
        digest = _stage(ordered, staged)
        conf = os.path.join(work, "mke2fs.conf")
        with open(conf, "w") as handle:
            handle.write(MKE2FS_CONF)
        env = _env(conf, epoch)
        blocks, inodes = _estimate(ordered)
        for _ in range(8):
            if _mke2fs(dest, staged, filesystem, digest, blocks, inodes, env):
                break
            blocks += blocks // 2
        else:
            raise error(f"mke2fs could not fit the rootfs into {blocks} blocks")
        _pin_inodes(dest, len(ordered), epoch, env)


def _env(conf: str, epoch: int) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "E2FSPROGS_"))}
    env.update(
        LC_ALL="C",
        LANG="C",
        MKE2FS_CONFIG=conf,
        E2FSPROGS_FAKE_TIME=str(max(epoch, 1)),
        MKE2FS_SYNC="0",
    )
    env.pop("MKE2FS_DEVICE_SECTSIZE", None)
    env.pop("MKE2FS_DEVICE_PHYS_SECTSIZE", None)
    return env


def _stage(entries: Sequence[Entry], root: str) -> bytes:
    """Copy the entries into `root` (what `mke2fs -d` reads); return the content digest."""
    os.mkdir(root, 0o755)
    summary = hashlib.sha256()
    for entry in entries:
        host = os.path.join(root, entry.path.lstrip("/"))
        head = f"{entry.path}\0{entry.kind.name}\0{entry.mode:o}\0"
        summary.update(head.encode("utf-8", "surrogateescape"))
        if entry.kind is Kind.DIR:
            os.mkdir(host)
        elif entry.kind is Kind.SYMLINK:
            os.symlink(entry.linkname, host)
            summary.update(entry.linkname.encode("utf-8", "surrogateescape"))
        else:
            summary.update(_copy(entry, host))
        if entry.kind is not Kind.SYMLINK:
            os.chmod(host, entry.mode)
        summary.update(b"\n")
    return summary.digest()


def _copy(entry: Entry, host: str) -> bytes:
    content = hashlib.sha256()
    with open(host, "wb") as out:
        if entry.source is None:
            out.write(entry.data)
            content.update(entry.data)
        else:
            with open(entry.source, "rb") as source:
                for chunk in iter(lambda: source.read(_CHUNK), b""):
                    out.write(chunk)
                    content.update(chunk)
    return content.digest()


def _blocks(size: int) -> int:
    return -(-size // BLOCK_SIZE)


def _estimate(entries: Sequence[Entry]) -> Tuple[int, int]:
    """(blocks, inodes) for the content with headroom."""
    data = 0
    children: Dict[str, int] = {}
    for entry in entries:
        parent = "/" + "/".join(sort_key(entry.path)[:-1])
        children[parent] = children.get(parent, 0) + len(entry.path) + 16
        if entry.kind is Kind.FILE:
            size = os.path.getsize(entry.source) if entry.source else len(entry.data)
            data += _blocks(size) + _blocks(size) // 340 + 1  # extent tree blocks, roughly
        elif entry.kind is Kind.SYMLINK and len(entry.linkname.encode()) >= 60:
            data += 1
    data += sum(_blocks(size) + 1 for size in children.values()) + 1
    inodes = FIRST_INODE + len(entries) + max(16, len(entries) // 5)
    inodes = -(-inodes // 8) * 8
    tables = _blocks(inodes * INODE_SIZE)
    blocks = data + tables + 64  # superblock, descriptors, bitmaps, resize reservation
    blocks = blocks + blocks // 5 + _blocks(1024 * 1024)
    return blocks + _journal_blocks(blocks), inodes


def _journal_blocks(blocks: int) -> int:
    """ext2fs_default_journal_size (e2fsprogs lib/ext2fs/mkjournal.c), for fs size `blocks`."""
    if blocks < 2048:
        return 0
    if blocks < 32768:
        return 1024
    if blocks < 256 * 1024:
        return 4096
    if blocks < 512 * 1024:
        return 8192
    if blocks < 4096 * 1024:
        return 16384
    return 32768


def _uuid(raw: bytes) -> str:
    """A random-form (version 4) UUID made of digest bytes."""
    b = bytearray(raw[:16])
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _mke2fs(
    dest: str,
    staged: str,
    filesystem: str,
    digest: bytes,
    blocks: int,
    inodes: int,
    env: Dict[str, str],
) -> bool:
    """True when mke2fs made the filesystem; False when it ran out of room."""
    if os.path.exists(dest):
        os.unlink(dest)
    with open(dest, "wb") as handle:
        handle.truncate(blocks * BLOCK_SIZE)
    extended = ",".join(
        (
            f"hash_seed={_uuid(hashlib.sha256(b'hash_seed' + digest).digest())}",
            "root_owner=0:0",
            "lazy_itable_init=0",
            "lazy_journal_init=0",
            "nodiscard",
        )
    )
    argv = [
        tool("mke2fs"),
        "-q",
        "-F",
        "-t",
        filesystem,
        "-b",
        str(BLOCK_SIZE),
        "-I",
        str(INODE_SIZE),
        "-N",
        str(inodes),
        "-m",
        "0",
        "-U",
        _uuid(digest),
        "-E",
        extended,
        "-d",
        staged,
        dest,
        str(blocks),
    ]
    done = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if done.returncode == 0:
        return True
    text = done.stderr + done.stdout
    if "Could not allocate" in text or "No space left" in text or "too small" in text:
        return False
    raise error(
        f"mke2fs failed (exit status {done.returncode}): "
        + (text.strip().splitlines()[-1] if text.strip() else ""),
        hint="see the message above; the staged files may hold a name mke2fs cannot store",
    )


def _pin_inodes(image: str, count: int, epoch: int, env: Dict[str, str]) -> None:
    """Times and owners of the root, lost+found and every staged inode, through debugfs."""
    commands: List[str] = []
    for ino in [2, *range(FIRST_INODE, FIRST_INODE + count + 1)]:
        for field in ("atime", "mtime", "ctime", "crtime"):
            commands.append(f"sif <{ino}> {field} @{epoch}")  # @: seconds, not YYYYMMDD
            commands.append(f"sif <{ino}> {field}_extra 0")
        commands.append(f"sif <{ino}> uid 0")
        commands.append(f"sif <{ino}> gid 0")
    with tempfile.NamedTemporaryFile("w", suffix=".debugfs", delete=False) as script:
        script.write("\n".join(commands) + "\n")
    try:
        done = subprocess.run(
            [tool("debugfs"), "-w", "-f", script.name, image],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
        )
    finally:
        os.unlink(script.name)
    # debugfs exits 0 even when a command fails; its messages name the failing command.
    problems = [
        line for line in done.stderr.splitlines() if line.strip() and "debugfs " not in line
    ]
    if done.returncode != 0 or problems:
        raise error(
            "debugfs could not pin the block image's times: "
            + (problems[0] if problems else f"exit status {done.returncode}"),
            hint="check that e2fsprogs' debugfs works on this machine (debugfs -V)",
        )
