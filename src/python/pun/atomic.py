"""Outputs appear whole or not at all: write beside the destination, then rename over it."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from typing import BinaryIO, Iterator, Tuple

from pun.diagnostics import error


def check_file_destination(dest: str, flag: str = "", example: str = "") -> None:
    """A PunError unless `dest` can become a file: its directory exists and it is no directory
    itself. Callers also run it before the work, so a bad destination costs no build. `flag`
    names the option that gave `dest` (e.g. `dest=`), for the hint."""
    directory = os.path.dirname(os.path.abspath(dest))
    where = f" with {flag}" if flag else ""
    if not os.path.isdir(directory):
        raise error(
            f"cannot write {dest}: directory {directory} does not exist",
            hint=f"create the directory first or name another file{where}",
        )
    if os.path.isdir(dest):
        raise error(
            f"cannot write {dest}: it is a directory",
            hint=f"name a file in it{where}"
            + (f", e.g. {os.path.join(dest, example)}" if example else ""),
        )


def _temp_beside(dest: str) -> Tuple[int, str]:
    """A new private file in `dest`'s directory (same filesystem, so a rename is atomic)."""
    check_file_destination(dest)
    directory = os.path.dirname(os.path.abspath(dest))
    return tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(dest)}.", suffix=".tmp")


@contextlib.contextmanager
def _replaced_on_success(tmp: str, dest: str) -> Iterator[None]:
    try:
        yield
        os.chmod(tmp, 0o644)
        try:
            os.replace(tmp, dest)
        except OSError as exc:  # e.g. dest became a directory meanwhile
            raise error(f"cannot write {dest}: {exc.strerror}") from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_file(dest: str) -> Iterator[BinaryIO]:
    """Yield a file to write; on success it replaces `dest` (`-` streams to stdout instead)."""
    if dest == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    fd, tmp = _temp_beside(dest)
    with _replaced_on_success(tmp, dest), os.fdopen(fd, "wb") as handle:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())


@contextlib.contextmanager
def atomic_path(dest: str) -> Iterator[str]:
    """Yield a temporary path for another program to create; on success it replaces `dest`."""
    fd, tmp = _temp_beside(dest)
    os.close(fd)
    with _replaced_on_success(tmp, dest):
        yield tmp


@contextlib.contextmanager
def atomic_directory(dest: str) -> Iterator[str]:
    """Yield a fresh directory to fill; on success it becomes `dest`.

    `dest` may be missing or an empty directory. A non-empty one is refused rather than
    replaced: deleting a directory the user named by mistake is not worth the convenience.
    """
    dest = os.path.abspath(dest)
    parent = os.path.dirname(dest)
    if os.path.lexists(dest) and not (os.path.isdir(dest) and not os.listdir(dest)):
        raise error(
            f"cannot write the root filesystem to {dest}: it exists and is not an empty directory",
            hint="remove it first or choose another dest=",
        )
    if not os.path.isdir(parent):
        raise error(
            f"cannot write {dest}: directory {parent} does not exist",
            hint="create the parent directory first",
        )
    tmp = tempfile.mkdtemp(dir=parent, prefix=f".{os.path.basename(dest)}.", suffix=".tmp")
    try:
        # mkdtemp's directory is private (0700); the output is what `buildctl --output
        # type=local` makes (BuildKit client/solve.go: os.MkdirAll(dest, 0755)). Writers
        # that know the image's own root mode (pun/solve/tree_files.py) set it over this.
        os.chmod(tmp, 0o755)
        yield tmp
        if os.path.isdir(dest):
            os.rmdir(dest)
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
