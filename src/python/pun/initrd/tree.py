"""What goes into an initrd: host files and directories placed at paths, plus symlinks,
directories and device nodes declared by name. The result is a list of cpio entries with
normalized metadata, so that the archive depends on file contents and names only.

Modes are normalized the way Pants' digests see files: a regular file is 0755 if any execute
bit is set on the host and 0644 otherwise; directories are 0755, symlinks 0777, device nodes
0600. Host owners and mtimes are never read.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
import stat
from typing import Dict, Iterable, List, NamedTuple, Optional, Tuple

from pun.diagnostics import error
from pun.gopath import clean_absolute
from pun.initrd.cpio import Entry, Kind

FILE_MODE, EXEC_MODE, DIR_MODE, LINK_MODE, DEVICE_MODE = 0o644, 0o755, 0o755, 0o777, 0o600


class Placement(NamedTuple):
    """`SRC:DST`: a host file or directory and where it goes in the initrd."""

    source: str
    dest: str


def parse_placement(text: str) -> Placement:
    """`SRC:DST` (DST absolute), or a directory alone (its contents go to `/`)."""
    head, colon, tail = text.rpartition(":")
    if colon and tail.startswith("/") and head:
        return Placement(head, clean_dest(tail, text))
    if os.path.isdir(text):
        return Placement(text, "/")
    raise error(
        f"{text!r} is not SRC:DST",
        hint="write e.g. busybox:/bin/busybox (DST is absolute), or name a directory to put "
        "its contents at /",
    )


def clean_dest(path: str, given: str) -> str:
    cleaned = clean_absolute(path)
    if not path.startswith("/") or cleaned != path.rstrip("/") and path != "/":
        raise error(
            f"initrd path {given!r} is not a clean absolute path",
            hint="use a path such as /bin/busybox (no '..', no '//', no trailing '.')",
        )
    return "/" + cleaned.lstrip("/")


def parse_pair(text: str, flag: str, example: str) -> Tuple[str, str]:
    dest, equals, value = text.partition("=")
    if not equals or not dest or not value:
        raise error(f"invalid {flag} {text!r}", hint=f"use {flag} {example}")
    return clean_dest(dest, text), value


class Layout:
    """Collects entries by initrd path; refuses two different things at one path."""

    def __init__(self, uid: int = 0, gid: int = 0) -> None:
        self.uid, self.gid = uid, gid
        self._entries: Dict[str, Entry] = {}
        self._origin: Dict[str, str] = {}

    def add(self, entry: Entry, origin: str) -> None:
        entry = dataclasses.replace(entry, uid=self.uid, gid=self.gid)
        old = self._entries.get(entry.path)
        if old is not None and not (old.kind is Kind.DIR and entry.kind is Kind.DIR):
            raise error(
                f"two things want initrd path {entry.path}: "
                f"{self._origin[entry.path]} and {origin}",
                hint="give each SRC:DST, --symlink, --dir and --device its own path",
            )
        self._entries[entry.path] = entry
        self._origin[entry.path] = origin

    def entries(self) -> List[Entry]:
        """Every entry, with the parent directories nobody named added as 0755."""
        for path in list(self._entries):
            parent = posixpath.dirname(path)
            while parent != "/" and parent not in self._entries:
                self.add(Entry(parent, Kind.DIR, DIR_MODE), f"parent of {path}")
                parent = posixpath.dirname(parent)
            if parent in self._entries and self._entries[parent].kind is not Kind.DIR:
                raise error(
                    f"initrd path {parent} is not a directory, but {path} lies under it",
                    hint=f"({self._origin[parent]}) move one of them",
                )
        return [e for p, e in self._entries.items() if p != "/"]


def _file_mode(st: os.stat_result) -> int:
    return EXEC_MODE if st.st_mode & 0o111 else FILE_MODE


def add_placement(layout: Layout, placement: Placement) -> None:
    source, dest = placement
    try:
        st = os.lstat(source)
    except OSError as exc:
        raise error(
            f"cannot read {source}: {exc.strerror or exc}", hint="check the SRC of SRC:DST"
        ) from None
    if stat.S_ISDIR(st.st_mode):
        layout.add(Entry(dest, Kind.DIR, DIR_MODE), source)
        _add_tree(layout, source, dest)
    elif stat.S_ISREG(st.st_mode):
        if dest == "/":
            raise error(f"{source} is a file; it cannot be the initrd's root", hint="use SRC:/name")
        layout.add(Entry(dest, Kind.FILE, _file_mode(st), source=source), source)
    elif stat.S_ISLNK(st.st_mode):
        layout.add(Entry(dest, Kind.SYMLINK, LINK_MODE, linkname=os.readlink(source)), source)
    else:
        raise _special(source)


def _special(source: str) -> Exception:
    return error(
        f"{source} is neither a file, a directory nor a symlink",
        hint="declare device nodes with --device PATH=c:MAJOR:MINOR instead of copying them",
    )


def _add_tree(layout: Layout, root: str, dest: str) -> None:
    for directory, subdirs, files in os.walk(root):
        subdirs.sort()
        rel = os.path.relpath(directory, root)
        base = dest if rel == "." else posixpath.join(dest, *rel.split(os.sep))
        for name in sorted(subdirs + files):
            host = os.path.join(directory, name)
            st = os.lstat(host)
            path = posixpath.join(base, name)
            if stat.S_ISLNK(st.st_mode):
                layout.add(Entry(path, Kind.SYMLINK, LINK_MODE, linkname=os.readlink(host)), host)
            elif stat.S_ISDIR(st.st_mode):
                layout.add(Entry(path, Kind.DIR, DIR_MODE), host)
            elif stat.S_ISREG(st.st_mode):
                layout.add(Entry(path, Kind.FILE, _file_mode(st), source=host), host)
            else:
                raise _special(host)


def add_device(layout: Layout, text: str) -> None:
    dest, spec = parse_pair(text, "--device", "/dev/console=c:5:1")
    parts = spec.split(":")
    if len(parts) != 3 or parts[0] not in ("c", "b") or not all(p.isdigit() for p in parts[1:]):
        raise error(f"invalid --device {text!r}", hint="use --device /dev/console=c:5:1 (c or b)")
    kind = Kind.CHAR if parts[0] == "c" else Kind.BLOCK_DEVICE
    entry = Entry(dest, kind, DEVICE_MODE, rdev_major=int(parts[1]), rdev_minor=int(parts[2]))
    layout.add(entry, f"--device {text}")


def collect(
    placements: Iterable[Placement],
    symlinks: Iterable[str] = (),
    directories: Iterable[str] = (),
    devices: Iterable[str] = (),
    owner: Optional[Tuple[int, int]] = None,
) -> List[Entry]:
    layout = Layout(*(owner or (0, 0)))
    for placement in placements:
        add_placement(layout, placement)
    for text in symlinks:
        dest, target = parse_pair(text, "--symlink", "/bin/sh=busybox")
        layout.add(Entry(dest, Kind.SYMLINK, LINK_MODE, linkname=target), f"--symlink {text}")
    for text in directories:
        layout.add(Entry(clean_dest(text, text), Kind.DIR, DIR_MODE), f"--dir {text}")
    for text in devices:
        add_device(layout, text)
    return layout.entries()
