"""Write an initrd file atomically, plain or gzip-compressed."""

from __future__ import annotations

from typing import Sequence

from pun.atomic import atomic_file
from pun.initrd.cpio import Entry, gzip_writer, write_newc


def write_initrd(entries: Sequence[Entry], dest: str, mtime: int, compress: bool) -> None:
    with atomic_file(dest) as handle:
        if compress:
            with gzip_writer(handle) as zipped:
                write_newc(entries, zipped, mtime)  # type: ignore[arg-type]
        else:
            write_newc(entries, handle, mtime)
