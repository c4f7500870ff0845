"""Read a base image's layers: the filesystem they add up to, and single files from them.

Only tar headers are kept in memory; file bytes stay in the (cached) layer blobs and are
streamed from there when a local output needs them. OCI whiteouts (`.wh.name`, `.wh..wh..opq`)
are applied in layer order, as a container runtime would.
"""

from __future__ import annotations

import posixpath
import tarfile
from typing import Iterator, List, Optional, Sequence, Set, Tuple

from pun.diagnostics import error
from pun.gopath import clean_absolute
from pun.oci.fstree import ROOT, Kind, LayerMember, Node, Tree, ancestors, directory

WHITEOUT_PREFIX = ".wh."
OPAQUE_WHITEOUT = ".wh..wh..opq"
SMALL_FILE_LIMIT = 4 * 1024 * 1024


def member_path(name: str) -> str:
    return clean_absolute(name)


def open_layer(path: str) -> tarfile.TarFile:
    """A streaming reader for a layer blob (plain or gzip tar)."""
    try:
        return tarfile.open(path, mode="r|*")
    except tarfile.TarError as exc:
        raise error(
            f"cannot read base layer {path}: {exc}",
            hint="only tar and tar+gzip layers are supported; remove the cached blob "
            "if it is damaged",
        ) from None


def iter_members(path: str) -> Iterator[Tuple[tarfile.TarFile, tarfile.TarInfo]]:
    with open_layer(path) as tar:
        try:
            for member in tar:
                yield tar, member
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise error(
                f"base layer {path} is damaged: {exc}",
                hint="remove it from the cache (see --cache-dir) and build again",
            ) from None


def scan_layers(layer_paths: Sequence[str]) -> Tree:
    """The root filesystem that `layer_paths` (bottom first) add up to, as headers only."""
    tree = Tree()
    for index, path in enumerate(layer_paths):
        added: Set[str] = set()  # what this layer put into the tree so far
        for _, member in iter_members(path):
            _apply(tree, index, member, added)
    return tree


def _apply(tree: Tree, layer: int, member: tarfile.TarInfo, added: Set[str]) -> None:
    path = member_path(member.name)
    if path == ROOT:
        return
    parent, name = posixpath.split(path)
    if name == OPAQUE_WHITEOUT:
        _remove_lower(tree, tree.below(parent), added)
        return
    if name.startswith(WHITEOUT_PREFIX):
        hidden = posixpath.join(parent, name[len(WHITEOUT_PREFIX) :])
        if tree.get(hidden) is not None:
            _remove_lower(tree, [hidden, *tree.below(hidden)], added)
        return
    for ancestor in ancestors(path):
        if tree.get(ancestor) is None:
            tree.set(ancestor, directory())
            added.add(ancestor)
    node = _node(tree, layer, member)
    existing = tree.get(path)
    if existing is not None and not (existing.is_dir and node.is_dir):
        tree.remove(path)
    tree.set(path, node)
    added.add(path)


def _remove_lower(tree: Tree, paths: List[str], added: Set[str]) -> None:
    """Remove those of `paths` that lower layers put there.

    A whiteout hides only what lower layers hold, never what its own layer adds, wherever
    it stands in the tar (OCI image spec, "Whiteouts"); so an opaque directory keeps the
    entries its layer wrote before the `.wh..wh..opq` marker, and their parent directories.
    """
    keep = set(added)
    for path in added:
        keep.update(ancestors(path))
    for path in paths:
        if path not in keep and tree.get(path) is not None:
            tree.remove(path)  # nothing below it is kept either: `keep` holds all ancestors


def _node(tree: Tree, layer: int, member: tarfile.TarInfo) -> Node:
    mode = member.mode & 0o7777
    meta = (mode, member.uid, member.gid, int(member.mtime))
    if member.isdir():
        return Node(Kind.DIR, *meta)
    if member.issym():
        return Node(Kind.SYMLINK, *meta, size=len(member.linkname), linkname=member.linkname)
    if member.islnk():
        # A hard link shares the bytes of an earlier member of the same layer.
        target = tree.get(member_path(member.linkname))
        if target is not None and target.kind is Kind.FILE:
            return Node(Kind.FILE, *meta, size=target.size, content=target.content)
        return Node(Kind.FILE, *meta, size=0, content=LayerMember(layer, member.linkname))
    if member.isreg():
        return Node(Kind.FILE, *meta, size=member.size, content=LayerMember(layer, member.name))
    return Node(Kind.SPECIAL, *meta)


def read_member(layer_path: str, name: str, limit: int = SMALL_FILE_LIMIT) -> Optional[bytes]:
    """The bytes of member `name` (at most `limit`), or None if the layer has no such file."""
    for tar, member in iter_members(layer_path):
        if member.name == name and member.isreg():
            handle = tar.extractfile(member)
            return handle.read(limit) if handle is not None else None
    return None
