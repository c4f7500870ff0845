"""A newc ("070701") cpio writer, the format the Linux kernel unpacks as an initramfs.

Layout (the kernel's Documentation/driver-api/early-userspace/buffer-format.rst): each entry is
a 110-byte ASCII header (magic + 13 eight-digit hex fields), the NUL-terminated name padded to
a multiple of 4, then the data padded to a multiple of 4; the archive ends with an entry named
`TRAILER!!!`. The writer fixes everything a host would otherwise leak into the bytes: entries
are written in path order, inode numbers count up from 1 in that order, owners and mtimes are
whatever the caller gives (0 by default), device numbers are 0, and the archive is padded to
512 bytes as GNU cpio pads it.
"""

from __future__ import annotations

import enum
import gzip
import os
import stat
from dataclasses import dataclass
from typing import BinaryIO, Iterable, List, Optional

MAGIC = b"070701"
TRAILER = "TRAILER!!!"
BLOCK = 512
_COPY_CHUNK = 1024 * 1024


class Kind(enum.Enum):
    DIR = stat.S_IFDIR
    FILE = stat.S_IFREG
    SYMLINK = stat.S_IFLNK
    CHAR = stat.S_IFCHR
    BLOCK_DEVICE = stat.S_IFBLK


@dataclass(frozen=True)
class Entry:
    """One member. `path` is absolute in the initrd ("/bin/busybox"); a FILE's bytes come from
    `source` (a host file, streamed) or `data`; a SYMLINK's target is `linkname`."""

    path: str
    kind: Kind
    mode: int  # permission bits only (07777)
    uid: int = 0
    gid: int = 0
    source: Optional[str] = None
    data: bytes = b""
    linkname: str = ""
    rdev_major: int = 0
    rdev_minor: int = 0

    @property
    def name(self) -> str:
        """The member name: no leading slash, as the kernel's own gen_init_cpio writes it."""
        return self.path.lstrip("/") or "."


def sort_key(path: str) -> List[str]:
    """Path order by components, so a directory always comes before what it holds."""
    return [part for part in path.split("/") if part]


def _header(fields: Iterable[int], namesize: int) -> bytes:
    values = [*fields, namesize, 0]  # the last field is the checksum: 0 for newc
    return MAGIC + b"".join(b"%08X" % (v & 0xFFFFFFFF) for v in values)


def _pad(length: int) -> bytes:
    return b"\0" * (-length % 4)


class _Counter:
    """Counts what was written, for the 4-byte and 512-byte padding."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.written = 0

    def write(self, data: bytes) -> None:
        self.out.write(data)
        self.written += len(data)


def _write_entry(out: _Counter, entry: Entry, ino: int, nlink: int, mtime: int, size: int) -> None:
    name = entry.name.encode("utf-8") + b"\0"
    out.write(
        _header(
            (
                ino,
                entry.kind.value | (entry.mode & 0o7777),
                entry.uid,
                entry.gid,
                nlink,
                mtime,
                size,
                0,  # devmajor / devminor of the file's own filesystem: meaningless here
                0,
                entry.rdev_major,
                entry.rdev_minor,
            ),
            len(name),
        )
    )
    out.write(name)
    out.write(_pad(110 + len(name)))


def _link_counts(entries: List[Entry]) -> List[int]:
    """Directories: 2 + their subdirectories (what a filesystem reports); anything else: 1, so
    the kernel never takes a regular file for one side of a hard link."""
    subdirs = {e.path: 0 for e in entries if e.kind is Kind.DIR}
    for e in entries:
        if e.kind is Kind.DIR:
            parent = "/" + "/".join(sort_key(e.path)[:-1])
            if parent in subdirs and parent != e.path:
                subdirs[parent] += 1
    return [2 + subdirs[e.path] if e.kind is Kind.DIR else 1 for e in entries]


def write_newc(entries: Iterable[Entry], out: BinaryIO, mtime: int = 0) -> int:
    """Write the archive; return its size. Entries are sorted here, whatever order they came in."""
    ordered = sorted(entries, key=lambda e: sort_key(e.path))
    counter = _Counter(out)
    for ino, (entry, nlink) in enumerate(zip(ordered, _link_counts(ordered)), start=1):
        if entry.kind is Kind.SYMLINK:
            body = entry.linkname.encode("utf-8")
            _write_entry(counter, entry, ino, nlink, mtime, len(body))
            counter.write(body + _pad(len(body)))
        elif entry.kind is Kind.FILE:
            _write_file(counter, entry, ino, nlink, mtime)
        else:
            _write_entry(counter, entry, ino, nlink, mtime, 0)
    name = TRAILER.encode("ascii") + b"\0"
    counter.write(_header((0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0), len(name)) + name)
    counter.write(_pad(110 + len(name)))
    counter.write(b"\0" * (-counter.written % BLOCK))
    return counter.written


def _write_file(out: _Counter, entry: Entry, ino: int, nlink: int, mtime: int) -> None:
    if entry.source is None:
        _write_entry(out, entry, ino, nlink, mtime, len(entry.data))
        out.write(entry.data + _pad(len(entry.data)))
        return
    with open(entry.source, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        _write_entry(out, entry, ino, nlink, mtime, size)
        copied = 0
        for chunk in iter(lambda: handle.read(_COPY_CHUNK), b""):
            copied += len(chunk)
            if copied > size:
                break
            out.write(chunk)
    if copied != size:
        from pun.diagnostics import error

        raise error(
            f"{entry.source} changed size while it was being read ({size} -> {copied} bytes)",
            hint="build the initrd again once the file is complete",
        )
    out.write(_pad(size))


def gzip_writer(out: BinaryIO) -> gzip.GzipFile:
    """A gzip stream whose header carries no name and mtime 0, so it is reproducible too."""
    return gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=9, mtime=0)
