"""The Containerfile way to ask for a rootfs artifact: the `pun.rootfs` label.

    COPY init    /rootfs/init
    COPY busybox /rootfs/bin/busybox
    LABEL pun.rootfs="type=initrd,src=/rootfs,path=/boot/initrd.cpio"

The COPYs whose destination is `src` or lies below it are the rootfs's files, at their path
below `src` (`/rootfs/bin/busybox` -> `/bin/busybox`). pun does not copy them into the image:
it packs them into one artifact at `path`. `docker build` knows no such label, so it copies
them under `src` as plain files and keeps the label as an inert string: the same Containerfile
builds everywhere. Keys (comma-separated, buildctl's `--output` style):

  type=initrd|block   required
  src=DIR             required: the image directory the rootfs COPYs write below
  path=FILE           where the artifact goes; default /.boot/rootfs (bunny's DefaultRootfsPath)
  from=IMAGE          start from this image's files (bunny's `rootfs.from`), the COPYs over them
  compression=gzip    initrd only (default: none)
  fs=ext4|ext2        block only (default ext4)
  mount=DIR           block only: the guest's mount point, `blkMntPoint` (default /)

The urunc labels follow, as bunny derives them from a bunnyfile's rootfs (hops/package.go
`SetAnnotations`): initrd sets `initrd=path`; block sets `block=path` and `blkMntPoint`; both
set `mountRootfs=false` unless written. A label written with another value is an error.
"""

from __future__ import annotations

from pun.containerfile.plan import (
    ROOTFS_BLOCK,
    ROOTFS_INITRD,
    CopyInstruction,
    Label,
    RootfsInclude,
    RootfsRequest,
)
from pun.diagnostics import error
from pun.gopath import clean
from pun.urunc import BLOCK, BLOCK_MOUNT_POINT, INITRD, MOUNT_ROOTFS

TYPE_CHECKING = False  # typing is imported for mypy only: see pun.records
if TYPE_CHECKING:
    from typing import Dict, List, Optional, Sequence, Tuple

ROOTFS_LABEL = "pun.rootfs"
DEFAULT_ROOTFS_PATH = "/.boot/rootfs"  # bunny hops/package.go DefaultRootfsPath
_KEYS = ("type", "src", "path", "from", "compression", "fs", "mount")


def split_rootfs(
    labels: Sequence[Label], copies: Sequence[CopyInstruction], path: str
) -> Tuple[Tuple[CopyInstruction, ...], Optional[RootfsRequest], Tuple[Label, ...]]:
    """(the copies left for the image, the rootfs request, the labels it derives)."""
    asked = [label for label in labels if label.key == ROOTFS_LABEL]
    if not asked:
        return tuple(copies), None, ()
    label = asked[-1]  # the last duplicate wins, as for every label
    fields = _fields(label, path)
    kind = fields.get("type", "")
    if kind not in (ROOTFS_INITRD, ROOTFS_BLOCK):
        what = f"type={kind!r}" if kind else "no type"
        raise _bad(label, path, what, "type=initrd or type=block")
    src = _absolute(fields.get("src", ""), "src", label, path)
    target = _absolute(fields.get("path", DEFAULT_ROOTFS_PATH), "path", label, path)
    if target == src or target.startswith(src.rstrip("/") + "/"):
        inside = f"path={target} lies inside src={src}"
        raise _bad(label, path, inside, "a path outside src")
    compression = fields.get("compression")
    if compression is not None and (kind != ROOTFS_INITRD or compression not in ("gzip", "none")):
        raise _bad(label, path, f"compression={compression}", "compression=gzip, for type=initrd")
    filesystem = fields.get("fs", "ext4")
    if ("fs" in fields and kind != ROOTFS_BLOCK) or filesystem not in ("ext4", "ext2"):
        raise _bad(label, path, f"fs={filesystem}", "fs=ext4 or fs=ext2, for type=block")
    mount = fields.get("mount", "/")
    if "mount" in fields and kind != ROOTFS_BLOCK:
        raise _bad(label, path, "mount= with type=initrd", "mount= is blkMntPoint, for type=block")
    kept, includes = _split_copies(copies, src, path)
    from_image = fields.get("from")
    if not includes and from_image is None:
        raise error(
            f"{ROOTFS_LABEL}: no COPY writes below src={src}, so the rootfs would be empty",
            path,
            label.line,
            f"COPY the rootfs's files to {src.rstrip('/')}/...",
        )
    request = RootfsRequest(
        kind,
        target,
        tuple(includes),
        label.line,
        from_image=from_image,
        compression="gzip" if compression == "gzip" else None,
        filesystem=filesystem,
    )
    wanted: Dict[str, str] = {MOUNT_ROOTFS: "false"}
    if kind == ROOTFS_INITRD:
        wanted[INITRD] = target
    else:
        wanted.update({BLOCK: target, BLOCK_MOUNT_POINT: mount})
    return kept, request, _derived(labels, wanted, label, path)


def _fields(label: Label, path: str) -> Dict[str, str]:
    fields: Dict[str, str] = {}
    for part in label.value.split(","):
        key, equals, value = part.strip().partition("=")
        if not equals or key not in _KEYS or not value:
            raise _bad(label, path, repr(part.strip()), "key=value pairs of " + ", ".join(_KEYS))
        fields[key] = value
    return fields


def _absolute(value: str, key: str, label: Label, path: str) -> str:
    if not value:
        raise _bad(label, path, f"{key}=", f"an absolute {key}=/...", problem="is missing")
    cleaned = clean(value)
    root_file = key == "path" and cleaned == "/"
    if not value.startswith("/") or root_file or ".." in value.split("/"):
        raise _bad(label, path, f"{key}={value!r}", f"an absolute {key}=/...")
    return cleaned


def _bad(label: Label, path: str, what: str, want: str, problem: str = "is not valid") -> Exception:
    return error(
        f"{ROOTFS_LABEL}: {what} {problem}",
        path,
        label.line,
        f'write {want}, e.g. {ROOTFS_LABEL}="type=initrd,src=/rootfs,path=/boot/initrd"',
    )


def _split_copies(
    copies: Sequence[CopyInstruction], src: str, path: str
) -> Tuple[Tuple[CopyInstruction, ...], List[RootfsInclude]]:
    from pun.convert import resolve_dest

    kept: List[CopyInstruction] = []
    includes: List[RootfsInclude] = []
    prefix = src.rstrip("/") + "/"
    for copy in copies:
        dest = resolve_dest(copy.workdir, copy.dest)
        as_dir = dest.endswith("/") or dest.endswith("/.")
        cleaned = clean(dest)
        if cleaned != src and not cleaned.startswith(prefix):
            kept.append(copy)
            continue
        if copy.mode is not None or copy.owner is not None or copy.unpack:
            raise error(
                "a COPY into the rootfs cannot take --chmod, --chown or be an ADD: the rootfs "
                "normalizes modes (0755 executables, else 0644) and owners (0:0)",
                path,
                copy.line,
                "drop the flag, or COPY the file outside src",
            )
        inner = "/" + cleaned[len(src) :].lstrip("/")
        if (as_dir or len(copy.sources) > 1) and not inner.endswith("/"):
            inner = inner.rstrip("/") + "/"
        includes.extend(RootfsInclude(source, inner, copy.line) for source in copy.sources)
    return tuple(kept), includes


def _derived(
    labels: Sequence[Label], wanted: Dict[str, str], asked: Label, path: str
) -> Tuple[Label, ...]:
    written = {label.key: label for label in labels}
    derived: List[Label] = []
    for key, value in wanted.items():
        have = written.get(key)
        if have is None:
            derived.append(Label(key, value, asked.line))
        elif have.value != value and key != MOUNT_ROOTFS:
            raise error(
                f"{key}={have.value} contradicts {ROOTFS_LABEL} (line {asked.line}), which puts "
                f"{value} there",
                path,
                have.line,
                f"drop this label (pun derives it) or set it to {value}",
            )
    return tuple(derived)
