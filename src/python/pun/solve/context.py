"""A build context directory, read the way BuildKit sees a `local://` source.

buildctl sends the context with every owner reset to 0:0 and symlinks as symlinks; BuildKit then
resolves COPY sources with the context as the root. So nothing here ever opens a path outside the
context: `..` stops at the context root, absolute symlink targets restart from it, and files are
opened with O_NOFOLLOW after resolution. Fifos, sockets and devices are refused (reading a fifo
would block forever).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from typing import BinaryIO, Iterator, List, Optional, Protocol, Sequence, Tuple

from pun.diagnostics import error
from pun.dockerignore import BadIgnorePattern, ContextFilter, PatternMatcher, host_lister
from pun.gopath import BadPattern, compile_pattern, has_wildcards
from pun.oci.fstree import ROOT, Kind, LocalFile, Node, resolve_in_root, split_components

_TYPE_NAMES = {
    stat.S_IFIFO: "a fifo",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}


class SourceFiles(Protocol):
    """What a copy reads its sources from: a ContextDir, or another image's files
    (pun.solve.imagefiles.ImageFiles, for COPY --from)."""

    @property
    def root(self) -> str:
        ...

    def resolve(self, path: str, follow_last: bool) -> str:
        ...

    def lstat(self, path: str) -> Optional[os.stat_result]:
        ...

    def node(self, path: str, st: os.stat_result) -> Node:
        ...

    def walk(self, path: str) -> Iterator[Tuple[str, os.stat_result]]:
        ...


@dataclass(frozen=True)
class ContextDir:
    root: str  # absolute host path
    # `local.excludepatterns` (.dockerignore): what they exclude is not there at all.
    excludes: Optional[ContextFilter] = field(default=None, compare=False)

    def excluding(self, patterns: Sequence[str]) -> "ContextDir":
        """This context as a local source with these exclude patterns sends it."""
        if not patterns:
            return ContextDir(self.root)
        try:
            matcher = PatternMatcher(patterns)
        except BadIgnorePattern as exc:
            raise error(
                f"invalid exclude pattern in the build context's ignore file: {exc}",
                hint="fix the .dockerignore pattern",
            ) from None
        return ContextDir(self.root, ContextFilter(matcher, host_lister(self.root)))

    def _visible(self, path: str, is_dir: bool) -> bool:
        if self.excludes is None:
            return True
        return self.excludes.visible(path.strip("/"), is_dir)

    @staticmethod
    def open(path: str) -> "ContextDir":
        root = os.path.realpath(path)
        if not os.path.isdir(root):
            raise error(
                f"the build context {path!r} is not a directory",
                hint="pass an existing directory with --context",
            )
        return ContextDir(root)

    def host_path(self, path: str) -> str:
        """Host path of an already resolved, absolute context path."""
        parts = split_components(path)
        return os.path.join(self.root, *parts) if parts else self.root

    def _symlink_target(self, path: str) -> Optional[str]:
        st = self.lstat(path)
        if st is None or not stat.S_ISLNK(st.st_mode):
            return None
        return os.readlink(self.host_path(path))

    def resolve(self, path: str, follow_last: bool) -> str:
        return resolve_in_root(path, self._symlink_target, follow_last, "COPY source")

    def lstat(self, path: str) -> Optional[os.stat_result]:
        try:
            st = os.lstat(self.host_path(path))
        except (FileNotFoundError, NotADirectoryError):
            return None
        return st if self._visible(path, stat.S_ISDIR(st.st_mode)) else None

    def node(self, path: str, st: os.stat_result) -> Node:
        """The node BuildKit would see for a context entry: owner 0:0, mode and mtime kept."""
        mode = stat.S_IMODE(st.st_mode)
        mtime = int(st.st_mtime)
        if stat.S_ISDIR(st.st_mode):
            return Node(Kind.DIR, mode, 0, 0, mtime)
        if stat.S_ISREG(st.st_mode):
            return Node(Kind.FILE, mode, 0, 0, mtime, st.st_size, LocalFile(self.host_path(path)))
        if stat.S_ISLNK(st.st_mode):
            target = os.readlink(self.host_path(path))
            return Node(
                Kind.SYMLINK,
                0o777,
                0,
                0,
                mtime,
                len(target.encode("utf-8", "surrogateescape")),
                linkname=target,
            )
        kind = _TYPE_NAMES.get(stat.S_IFMT(st.st_mode), "an unsupported file type")
        raise error(
            f"{path!r} in the build context is {kind}",
            hint="remove it from the context or from the COPY source",
        )

    def walk(self, path: str) -> Iterator[Tuple[str, os.stat_result]]:
        """Entries below directory `path` (not itself), depth first, names in byte order.

        Symlinks are not followed, so a walk cannot loop or leave the context.
        """
        try:
            names = os.listdir(self.host_path(path))
        except OSError as exc:
            raise error(f"cannot read {path!r} in the build context: {exc.strerror}") from None
        for name in sorted(names, key=lambda n: n.encode("utf-8", "surrogateescape")):
            child = path.rstrip("/") + "/" + name
            st = os.lstat(self.host_path(child))
            if not self._visible(child, stat.S_ISDIR(st.st_mode)):
                continue
            yield child, st
            if stat.S_ISDIR(st.st_mode):
                yield from self.walk(child)


def open_local(content: LocalFile, expected_size: int) -> "SizedReader":
    """Open a context file for streaming; refuse a path that became a symlink since the walk."""
    try:
        fd = os.open(content.path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise error(
            f"cannot read {content.path}: {exc.strerror}",
            hint="the build context changed during the build; run it again",
        ) from None
    return SizedReader(os.fdopen(fd, "rb"), expected_size, content.path)


class SizedReader:
    """A file that must yield exactly `size` bytes; a file that grew or shrank is an error."""

    def __init__(self, handle: BinaryIO, size: int, name: str) -> None:
        self._handle = handle
        self._left = size
        self._name = name

    def read(self, n: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        want = self._left if n is None or n < 0 else min(n, self._left)
        data = self._handle.read(want)
        if not data:
            raise error(
                f"{self._name} shrank while it was being read",
                hint="the build context changed during the build; run it again",
            )
        self._left -= len(data)
        return bytes(data)

    def fileno(self) -> int:
        return self._handle.fileno()

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> "SizedReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def resolve_wildcards(context: SourceFiles, src: str, follow_links: bool) -> List[str]:
    """Context paths matching `src` (BuildKit's ResolveWildcards): the literal prefix is resolved,
    the rest matched against every entry below it; a matching directory is not descended."""
    parts = split_components(src)
    split = next((i for i, part in enumerate(parts) if has_wildcards(part)), len(parts))
    prefix = ROOT + "/".join(parts[:split])
    if split == len(parts):
        return [prefix]
    try:
        pattern = compile_pattern("/".join(parts[split:]))
    except BadPattern:
        return []  # fsutil ignores Match's error: a malformed pattern matches nothing
    base = context.resolve(prefix, follow_last=follow_links)
    st = context.lstat(base)
    if st is None or not stat.S_ISDIR(st.st_mode):
        return []
    matches: List[str] = []
    skip: Optional[str] = None
    for path, entry in context.walk(base):
        if skip is not None and path.startswith(skip):
            continue
        relative = path[len(base.rstrip("/")) + 1 :]
        if pattern.matches(relative):
            matches.append(path)
            if stat.S_ISDIR(entry.st_mode):
                skip = path + "/"
    return matches
