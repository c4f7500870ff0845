"""What a rootfs holds: its includes read from the build context, as cpio entries.

An include `SRC:DST` (from the context, or from an image: pun.rootfs.images) follows COPY's
rule (and bunny's `include`, hops/llb.go `FilesLLB`):
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
from typing import List, Optional, Sequence

from pun.containerfile.plan import RootfsInclude, RootfsRequest
from pun.diagnostics import error
from pun.gopath import clean_absolute, has_wildcards
from pun.initrd.cpio import Entry, Kind
from pun.initrd.tree import DIR_MODE, EXEC_MODE, FILE_MODE, LINK_MODE, Layout
from pun.rootfs.images import ImageFiles
from pun.solve.context import ContextDir, resolve_wildcards


def collect_entries(
    request: RootfsRequest,
    context_dir: str,
    excludes: Sequence[str] = (),
    path: str = "",
    images: Optional[ImageFiles] = None,
) -> List[Entry]:
    """Every entry of the rootfs (parents added), or PunError naming the line. With
    `from_image`, that image's files come first; each include goes over what came before."""
    needs_images = request.from_image is not None or any(
        i.image is not None for i in request.includes
    )
    if needs_images and images is None:
        raise error(
            "this rootfs reads files from another image, and no registry client was given",
            path,
            request.line,
            "build it with `pun build` or `pun rootfs`, which pull the image",
        )
    context = ContextDir.open(context_dir).excluding(tuple(excludes))
    base: List[Entry] = []
    if request.from_image is not None:
        assert images is not None
        layout = Layout()
        image_root = ContextDir.open(images.root(request.from_image))
        origin = f"{path}:{request.line}" if path else request.from_image
        for child, st in image_root.walk("/"):
            _add_node(layout, image_root, child, st, child, origin)
        base = layout.entries()
    entries = base
    for include in request.includes:  # in order: a later include wins, as a later COPY does
        source = context
        if include.image is not None:
            assert images is not None
            source = ContextDir.open(images.root(include.image))
        layout = Layout()
        _add_include(layout, source, include, path)
        entries = _over(entries, layout.entries())
    return entries


def _over(base: List[Entry], top: List[Entry]) -> List[Entry]:
    """`top` laid over `base`: a directory merges with a directory; anything else replaces
    what `base` had there, and what lay below it."""
    if not base:
        return top
    merged = {entry.path: entry for entry in base}
    for entry in top:
        old = merged.get(entry.path)
        if old is not None and old.kind is Kind.DIR and entry.kind is not Kind.DIR:
            prefix = entry.path + "/"
            for below in [p for p in merged if p.startswith(prefix)]:
                del merged[below]
        merged[entry.path] = entry
    for entry in top:  # a file in base where top needs a directory: top's wins
        parent = posixpath.dirname(entry.path)
        while parent != "/":
            if merged.get(parent) is not None and merged[parent].kind is not Kind.DIR:
                merged[parent] = Entry(parent, Kind.DIR, DIR_MODE)
            parent = posixpath.dirname(parent)
    return sorted(merged.values(), key=lambda e: e.path)


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
    cleaned = clean_absolute(include.dest)
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
