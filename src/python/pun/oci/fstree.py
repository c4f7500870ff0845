"""The root filesystem being built: a flat map of absolute path -> immutable node.

Nodes carry metadata and a reference to their bytes (a context file, inline data, or a member
of a base layer), never the bytes of large files themselves: content is streamed at output time.
Because nodes are immutable, a layer can keep the nodes its FileOp wrote even when a later op
replaces them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, List, Optional, Tuple, Union

from pun.diagnostics import error

# Linux's own limit on symlinks followed while resolving one path (and continuity's RootPath).
MAX_SYMLINK_HOPS = 255
ROOT = "/"


class Kind(enum.Enum):
    DIR = "dir"
    FILE = "file"
    SYMLINK = "symlink"
    SPECIAL = "special"  # device, fifo: only ever inherited from a base layer


@dataclass(frozen=True)
class LocalFile:
    """A regular file in a build context, opened without following symlinks when read."""

    path: str


@dataclass(frozen=True)
class Inline:
    data: bytes


@dataclass(frozen=True)
class LayerMember:
    """A regular file inside base layer number `layer` (tar member `name`)."""

    layer: int
    name: str


@dataclass(frozen=True)
class ArchiveMember:
    """A file inside a tar archive of the build context that ADD unpacks (pun.solve.unpack)."""

    archive: str  # the archive's path on the host
    name: str  # the member's name in the archive


Content = Union[LocalFile, Inline, LayerMember, ArchiveMember]


@dataclass(frozen=True)
class Node:
    kind: Kind
    mode: int  # permission and setuid/setgid/sticky bits (0o7777)
    uid: int = 0
    gid: int = 0
    mtime: int = 0
    size: int = 0
    content: Optional[Content] = None
    linkname: str = ""

    @property
    def is_dir(self) -> bool:
        return self.kind is Kind.DIR


def directory(mode: int = 0o755, uid: int = 0, gid: int = 0, mtime: int = 0) -> Node:
    return Node(Kind.DIR, mode, uid, gid, mtime)


def split_components(path: str) -> List[str]:
    return [part for part in path.split("/") if part not in ("", ".")]


def resolve_in_root(
    path: str,
    is_symlink: Callable[[str], Optional[str]],
    follow_last: bool = True,
    what: str = "path",
) -> str:
    """Resolve symlinks in `path` as if `/` were the root (containerd's fs.RootPath).

    `is_symlink(p)` returns the link target when `p` is a symlink, else None. `..` and absolute
    targets never leave the root, so the result always names something inside it. A missing
    component ends resolution; the rest is appended as written.
    """
    pending = split_components(path)
    resolved: List[str] = []
    hops = 0
    while pending:
        part = pending.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = ROOT + "/".join(resolved + [part])
        target = is_symlink(candidate) if (pending or follow_last) else None
        if target is None:
            resolved.append(part)
            continue
        hops += 1
        if hops > MAX_SYMLINK_HOPS:
            raise error(
                f"too many levels of symbolic links resolving {what} {path!r} (a symlink loop?)",
                hint="fix or remove the symlink loop",
            )
        if target.startswith("/"):
            resolved = []
        pending = split_components(target) + pending
    return ROOT + "/".join(resolved)


class Tree:
    """A mutable root filesystem of immutable nodes; `/` always exists."""

    def __init__(self, nodes: Optional[Dict[str, Node]] = None) -> None:
        self._nodes: Dict[str, Node] = dict(nodes) if nodes else {ROOT: directory()}
        self._nodes.setdefault(ROOT, directory())

    def get(self, path: str) -> Optional[Node]:
        return self._nodes.get(path)

    def set(self, path: str, node: Node) -> None:
        self._nodes[path] = node

    def _symlink_target(self, path: str) -> Optional[str]:
        node = self._nodes.get(path)
        return node.linkname if node is not None and node.kind is Kind.SYMLINK else None

    def resolve(self, path: str, follow_last: bool = True) -> str:
        return resolve_in_root(path, self._symlink_target, follow_last, "destination")

    def stat(self, path: str) -> Optional[Node]:
        """The node at `path`, following symlinks (os.Stat)."""
        return self._nodes.get(self.resolve(path))

    def remove(self, path: str) -> List[str]:
        """Remove `path` and everything under it; return what was removed."""
        if path == ROOT:
            raise ValueError("cannot remove /")
        prefix = path + "/"
        gone = [p for p in self._nodes if p == path or p.startswith(prefix)]
        for p in gone:
            del self._nodes[p]
        return gone

    def below(self, path: str) -> List[str]:
        """Every path under directory `path` (not `path` itself)."""
        prefix = path.rstrip("/") + "/"
        return [p for p in self._nodes if p.startswith(prefix)]

    def items(self) -> Iterator[Tuple[str, Node]]:
        """Every node except `/`, parents before children, siblings in byte order."""
        for path in sorted(self._nodes, key=path_sort_key):
            if path != ROOT:
                yield path, self._nodes[path]


def path_sort_key(path: str) -> Tuple[bytes, ...]:
    # Component-wise byte order puts a directory right before its contents ("a", "a/x", "a-b").
    return tuple(part.encode("utf-8", "surrogateescape") for part in split_components(path))


def ancestors(path: str) -> Iterator[str]:
    """Parent directories of `path`, nearest last, excluding `/`."""
    parts = split_components(path)
    for i in range(1, len(parts)):
        yield ROOT + "/".join(parts[:i])
