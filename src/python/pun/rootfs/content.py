"""What a rootfs holds: its includes read from the build context, as cpio entries.

An include `SRC:DST` follows COPY's rule (and bunny's `include`, hops/llb.go `FilesLLB`):
a file goes to DST (inside DST when DST ends in `/`), a directory's contents go to DST, a
wildcard's matches go inside DST. Sources resolve with the context as the root and lose what
the context's ignore file excludes (pun.solve.context.ContextDir, the one confinement rule);
symlinks inside a directory stay symlinks. Modes, owners and times are normalized by
pun.initrd.tree (the same rule for initrd and block images), so only names and contents
reach the artifact.
"""

from __future__ import annotations

import os
import posixpath
import stat
from typing import List, Sequence

from pun.containerfile.plan import RootfsInclude, RootfsRequest
from pun.diagnostics import error
from pun.gopath import has_wildcards
from pun.initrd.cpio import Entry, Kind
from pun.initrd.tree import DIR_MODE, EXEC_MODE, FILE_MODE, LINK_MODE, Layout
from pun.solve.context import ContextDir, resolve_wildcards


def collect_entries(
    request: RootfsRequest, context_dir: str, excludes: Sequence[str] = (), path: str = ""
) -> List[Entry]:
    """Every entry of the rootfs (parents added), or PunError naming the line."""
    if request.from_image is not None or any(i.image is not None for i in request.includes):
        line = request.line if request.from_image else next(
            i.line for i in request.includes if i.image is not None
        )
        raise error(
            "a rootfs made from another image's files is not supported yet",
            path,
            line,
            "COPY the files into the build context (e.g. with a Pants target) and include "
            "them from there",
        )
    context = ContextDir.open(context_dir).excluding(tuple(excludes))
    layout = Layout()
    for include in request.includes:
        _add_include(layout, context, include, path)
    return layout.entries()


def _add_include(layout: Layout, context: ContextDir, include: RootfsInclude, path: str) -> None:
    dest = _clean_dest(include, path)
    into_dir = include.dest.endswith("/")
    if has_wildcards(include.source):
        matches = resolve_wildcards(context, include.source, follow_links=True)
        for match in matches:
            _add_source(layout, context, match, dest, True, include, path)
        return
    source = "/" + include.source.lstrip("/")
    _add_source(layout, context, source, dest, into_dir, include, path)


def _clean_dest(include: RootfsInclude, path: str) -> str:
    cleaned = posixpath.normpath("/" + include.dest.lstrip("/"))
    cleaned = "/" + cleaned.lstrip("/")
    if ".." in include.dest.split("/"):
        raise error(
            f"rootfs destination {include.dest!r} climbs out of the rootfs with '..'",
            path,
            include.line,
            "use a path inside the rootfs, such as /bin/app",
        )
    return cleaned


def _add_source(
    layout: Layout,
    context: ContextDir,
    source: str,
    dest: str,
    into_dir: bool,
    include: RootfsInclude,
    path: str,
) -> None:
    resolved = context.resolve(source, follow_last=True)
    st = context.lstat(resolved)
    if st is None:
        raise error(
            f"rootfs source {include.source!r}: no such file in the build context",
            path,
            include.line,
            "the path is relative to the build context (and not excluded by its ignore file)",
        )
    origin = f"{path}:{include.line}" if path else include.source
    if stat.S_ISDIR(st.st_mode):
        if dest != "/":
            layout.add(Entry(dest, Kind.DIR, DIR_MODE), origin)
        for child, child_st in context.walk(resolved):
            target = posixpath.join(dest, child[len(resolved.rstrip("/")) + 1 :])
            _add_node(layout, context, child, child_st, target, origin)
        return
    if into_dir or dest == "/":
        dest = posixpath.join(dest, posixpath.basename(source.rstrip("/")))
    _add_node(layout, context, resolved, st, dest, origin)


def _add_node(
    layout: Layout, context: ContextDir, source: str, st: os.stat_result, dest: str, origin: str
) -> None:
    mode = st.st_mode
    host = context.host_path(source)
    if stat.S_ISDIR(mode):
        layout.add(Entry(dest, Kind.DIR, DIR_MODE), origin)
    elif stat.S_ISLNK(mode):
        layout.add(Entry(dest, Kind.SYMLINK, LINK_MODE, linkname=os.readlink(host)), origin)
    elif stat.S_ISREG(mode):
        file_mode = EXEC_MODE if mode & 0o111 else FILE_MODE
        layout.add(Entry(dest, Kind.FILE, file_mode, source=host), origin)
    else:
        context.node(source, st)  # raises: fifo, socket, device
