"""The bytes of a file a build adds to a layer, for the image writer (pun.oci.writer).

A new layer's files come from the build context (checked against the size they had when
scanned, never through a symlink), from an ADD archive, or inline (`/urunc.json`, mkfile).
"""

from __future__ import annotations

import contextlib
import io
from typing import BinaryIO, Iterator

from pun.diagnostics import error
from pun.oci.fstree import ArchiveMember, Inline, LocalFile, Node
from pun.solve.context import open_local
from pun.solve.unpack import open_member


@contextlib.contextmanager
def open_new_content(node: Node) -> Iterator[BinaryIO]:
    content = node.content
    if isinstance(content, LocalFile):
        with open_local(content, node.size) as handle:
            yield handle  # type: ignore[misc]
    elif isinstance(content, Inline):
        yield io.BytesIO(content.data)
    elif isinstance(content, ArchiveMember):
        with open_member(content, node.size) as handle:
            yield handle
    else:
        raise error(f"internal error: a new layer would copy {content!r} from a base layer")
