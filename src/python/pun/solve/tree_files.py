"""`type=local`: write the built root filesystem into a directory.

Files are streamed; holes in sparse context files stay holes (SEEK_DATA/SEEK_HOLE), so a 2 GiB
sparse file costs neither 2 GiB of memory nor of disk. Base-image files are streamed out of the
cached layer blobs, one pass per layer. Owners are applied when running as root (as buildctl
does), modes always, and mtimes clamped to SOURCE_DATE_EPOCH.
"""

from __future__ import annotations

import errno
import os
import shutil
from typing import Callable, Dict, List, Sequence, Tuple

from pun.oci.baselayers import iter_members
from pun.oci.fstree import ArchiveMember, Inline, Kind, LayerMember, LocalFile, Node, Tree
from pun.progress import Progress
from pun.solve.context import open_local
from pun.solve.unpack import open_member

CHUNK = 1024 * 1024


def write_tree(
    tree: Tree,
    dest: str,
    layer_paths: Sequence[str],
    epoch: int,
    progress: Progress,
    warn: Callable[[str], None],
) -> None:
    """Fill the (new, empty) directory `dest` with `tree`."""
    entries = list(tree.items())
    from_layers: Dict[int, Dict[str, List[str]]] = {}
    total = sum(n.size for _, n in entries if n.kind is Kind.FILE)
    progress.start("writing root filesystem", total)
    skipped = 0
    for path, node in entries:
        host = os.path.join(dest, path.lstrip("/"))
        if node.kind is Kind.DIR:
            os.mkdir(host, 0o700)
        elif node.kind is Kind.SYMLINK:
            os.symlink(node.linkname, host)
        elif node.kind is Kind.FILE:
            content = node.content
            if isinstance(content, LayerMember):
                from_layers.setdefault(content.layer, {}).setdefault(content.name, []).append(host)
                _create_empty(host)
            elif isinstance(content, LocalFile):
                _copy_sparse(content, node.size, host, progress)
            elif isinstance(content, Inline):
                with open(host, "wb") as handle:
                    handle.write(content.data)
            elif isinstance(content, ArchiveMember):
                with open_member(content, node.size) as source, open(host, "wb") as handle:
                    shutil.copyfileobj(source, handle)
            else:
                _create_empty(host)
        else:
            skipped += 1
    for layer, wanted in sorted(from_layers.items()):
        _extract(layer_paths[layer], wanted, progress)
    _apply_metadata(dest, entries, epoch)
    progress.finish()
    if skipped:
        warn(
            f"{skipped} device or fifo entries of the base image were not written to the "
            "local output"
        )


def _create_empty(host: str) -> None:
    with open(host, "wb"):
        pass


def _copy_sparse(content: LocalFile, size: int, host: str, progress: Progress) -> None:
    with open_local(content, size) as source, open(host, "wb") as out:
        fd = source.fileno()
        for start, end in _data_ranges(fd, size):
            os.lseek(fd, start, os.SEEK_SET)
            out.seek(start)
            left = end - start
            while left > 0:
                chunk = os.read(fd, min(CHUNK, left))
                if not chunk:
                    break
                out.write(chunk)
                left -= len(chunk)
                progress.advance(len(chunk))
        out.truncate(size)


def _data_ranges(fd: int, size: int) -> List[Tuple[int, int]]:
    """The (start, end) ranges of `fd` that hold data; the whole file if holes are unknown."""
    seek_data = getattr(os, "SEEK_DATA", None)
    seek_hole = getattr(os, "SEEK_HOLE", None)
    if seek_data is None or seek_hole is None or size == 0:
        return [(0, size)] if size else []
    ranges: List[Tuple[int, int]] = []
    offset = 0
    try:
        while offset < size:
            try:
                start = os.lseek(fd, offset, seek_data)
            except OSError as exc:
                if exc.errno == errno.ENXIO:  # only a hole is left
                    break
                raise
            end = min(os.lseek(fd, start, seek_hole), size)
            ranges.append((start, end))
            offset = end
    except OSError:
        return [(0, size)]
    return ranges


def _extract(layer_path: str, wanted: Dict[str, List[str]], progress: Progress) -> None:
    for tar, member in iter_members(layer_path):
        hosts = wanted.get(member.name)
        if not hosts or not member.isreg():
            continue
        handle = tar.extractfile(member)
        if handle is None:
            continue
        outs = [open(h, "wb") for h in hosts]
        try:
            while True:
                chunk = handle.read(CHUNK)
                if not chunk:
                    break
                for out in outs:
                    out.write(chunk)
                progress.advance(len(chunk))
        finally:
            for out in outs:
                out.close()


def _apply_metadata(dest: str, entries: List[Tuple[str, Node]], epoch: int) -> None:
    as_root = os.geteuid() == 0
    # Children first, so setting a directory's mtime is the last change made inside it.
    for path, node in reversed(entries):
        if node.kind is Kind.SPECIAL:
            continue
        host = os.path.join(dest, path.lstrip("/"))
        if as_root:
            os.lchown(host, node.uid, node.gid)
        if node.kind is not Kind.SYMLINK:
            os.chmod(host, node.mode & 0o7777)
        mtime = min(node.mtime, epoch)
        os.utime(host, (mtime, mtime), follow_symlinks=False)
    os.chmod(dest, 0o755)
