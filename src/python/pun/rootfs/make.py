"""Make a plan's rootfs artifact into the directory the builders read as the `pun-rootfs`
local source: `DIR/rootfs`, which the LLB copies to `RootfsRequest.path` (pun.convert)."""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING, List, Optional, Sequence

from pun.atomic import atomic_path
from pun.containerfile.plan import ROOTFS_BLOCK, ROOTFS_INITRD, RootfsRequest
from pun.diagnostics import error
from pun.initrd.cpio import Entry
from pun.platform import DEFAULT_TARGET, Platform

if TYPE_CHECKING:
    from pun.rootfs.images import ImageFiles

# The artifact's name inside the `pun-rootfs` directory (pun.convert copies it from there).
ARTIFACT_NAME = "rootfs"
GZIP = "gzip"


def make_artifact(
    request: RootfsRequest,
    context_dir: str,
    out_dir: str,
    epoch: int,
    excludes: Sequence[str] = (),
    path: str = "",
    platform: Platform = DEFAULT_TARGET,
    cache_dir: Optional[str] = None,
    insecure_registry: bool = False,
    images: "Optional[ImageFiles]" = None,
) -> str:
    """Write the artifact into `out_dir` (an existing directory); return its path. Images the
    rootfs reads files from are pulled for `platform` into the blob cache at `cache_dir`, or,
    with `images`, come from there (the frontend has BuildKit fetch them)."""
    from pun.rootfs.content import collect_entries
    from pun.rootfs.images import ImageFiles

    try:
        with tempfile.TemporaryDirectory(prefix="pun-rootfs-images-") as pulled:
            if images is None:
                images = ImageFiles(pulled, platform, cache_dir, insecure_registry)
            entries = collect_entries(request, context_dir, excludes, path, images)
            return _write(request, entries, os.path.join(out_dir, ARTIFACT_NAME), epoch, path)
    except OSError as exc:  # an unreadable context file, a full disk: one error, no traceback
        raise error(
            f"cannot make the {request.kind} rootfs: {exc.strerror or exc}"
            + (f": {exc.filename}" if exc.filename else ""),
            path,
            request.line,
            "check that the rootfs's files are readable and the disk has room",
        ) from None


def _write(request: RootfsRequest, entries: List[Entry], dest: str, epoch: int, path: str) -> str:
    if request.kind == ROOTFS_INITRD:
        from pun.initrd.build import write_initrd

        write_initrd(entries, dest, epoch, request.compression == GZIP)
    elif request.kind == ROOTFS_BLOCK:
        from pun.rootfs.ext4 import write_block_image

        with atomic_path(dest) as tmp:
            write_block_image(entries, tmp, epoch, request.filesystem)
    else:
        raise error(
            f"pun makes no rootfs artifact of type {request.kind!r}",
            path,
            request.line,
            "use initrd or block (a raw rootfs is plain COPYs)",
        )
    os.chmod(dest, 0o644)
    return dest
