"""ADD's unpacking of a local tar archive, as BuildKit does it.

moby/buildkit v0.32.2 `solver/llbsolver/file/unpack.go`: a copy action with
attemptUnpackDockerCompatibility whose source is a regular file that decompresses (gzip, bzip2,
xz, zstd) to a stream with a readable first tar header is untarred into the destination, which
is created first (0755); the entries keep the archive's modes, owners and times unless the
action has a chown (`ChownOpts`); an entry for the destination itself (`.`) is skipped. Anything
else is copied like COPY. Entries are read lazily: a file's bytes come from the archive when
the layer (or rootfs) is written.
"""

from __future__ import annotations

import contextlib
import tarfile
from typing import BinaryIO, Dict, Iterator, List, Tuple

from pun.diagnostics import error
from pun.gopath import clean_absolute
from pun.oci.fstree import ArchiveMember, Kind, Node

_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_READ_ERRORS = (tarfile.TarError, OSError, EOFError, ValueError)


def is_archive(path: str) -> bool:
    """Does this regular file decompress to a tar stream (isArchivePath)?"""
    try:
        with open(path, "rb") as handle:
            if handle.read(4) == _ZSTD_MAGIC:
                raise error(
                    f"ADD of {path}: zstd-compressed archives are not unpacked by the embedded "
                    "builder",
                    hint="recompress it with gzip or xz, or build with --builder buildctl",
                )
        with tarfile.open(path, mode="r|*") as tar:
            return tar.next() is not None
    except _READ_ERRORS:
        return False


def archive_entries(path: str) -> List[Tuple[str, Node]]:
    """The archive's entries as (path relative to the destination, node), in archive order."""
    entries: List[Tuple[str, Node]] = []
    files: Dict[str, Node] = {}
    try:
        with tarfile.open(path, mode="r|*") as tar:
            for member in tar:
                relative = clean_absolute(member.name)  # rooted: no entry can climb out of the dest
                if relative == "/":
                    continue
                node = _node(path, member, files)
                if node.kind is Kind.FILE:
                    files[relative] = node
                entries.append((relative, node))
    except _READ_ERRORS as exc:
        raise error(
            f"ADD cannot unpack {path}: {exc}",
            hint="check the archive (`tar -tf`), or COPY it instead of ADD to keep it packed",
        ) from None
    return entries


def _node(archive: str, member: tarfile.TarInfo, files: Dict[str, Node]) -> Node:
    mode, uid, gid, mtime = member.mode & 0o7777, member.uid, member.gid, int(member.mtime)
    if member.isdir():
        return Node(Kind.DIR, mode, uid, gid, mtime)
    if member.issym():
        return Node(Kind.SYMLINK, mode, uid, gid, mtime, linkname=member.linkname)
    if member.isreg():
        content = ArchiveMember(archive, member.name)
        return Node(Kind.FILE, mode, uid, gid, mtime, size=member.size, content=content)
    if member.islnk():  # a hard link: the same bytes as the file it names
        target = files.get(clean_absolute(member.linkname))
        if target is None:
            raise error(
                f"ADD cannot unpack {archive}: hard link {member.name} names "
                f"{member.linkname}, which comes later or not at all",
                hint="recreate the archive with tar, which writes link targets first",
            )
        return Node(Kind.FILE, mode, uid, gid, mtime, size=target.size, content=target.content)
    raise error(
        f"ADD cannot unpack {archive}: {member.name} is a device or FIFO",
        hint="a unikernel image holds files, directories and links only",
    )


@contextlib.contextmanager
def open_member(content: ArchiveMember, expected_size: int) -> Iterator[BinaryIO]:
    """The member's bytes, streamed from the archive (which must not have changed since)."""
    try:
        with tarfile.open(content.archive, mode="r|*") as tar:
            for member in tar:
                if member.name == content.name and member.isreg():
                    if member.size != expected_size:
                        break
                    handle = tar.extractfile(member)
                    assert handle is not None
                    yield handle  # type: ignore[misc]
                    return
    except _READ_ERRORS as exc:
        raise error(f"cannot read {content.archive}: {exc}") from None
    raise error(
        f"{content.archive} changed during the build ({content.name})",
        hint="run the build again",
    )
