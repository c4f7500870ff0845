"""Another image's files as a COPY source (`COPY --from=<image>`), read like a build context.

fileops' copy rules take their sources from an object with ContextDir's reading methods
(`resolve`, `lstat`, `node`, `walk`); this is that object for an image: its layers' tar
headers (pun.oci.baselayers, whiteouts applied), with the owners, modes and times the
image holds (BuildKit copies those from an image, while a context arrives as 0:0). File bytes
stay in the cached layer blobs and are streamed from there (`ArchiveMember`) when the new
layer or a local output is written.
"""

from __future__ import annotations

import os
import stat
from typing import Iterator, Optional, Sequence, Tuple

from pun.diagnostics import error
from pun.oci.baselayers import scan_layers
from pun.oci.fstree import (
    ArchiveMember,
    Kind,
    LayerMember,
    Node,
    Tree,
    path_sort_key,
    resolve_in_root,
)

_KIND_BITS = {
    Kind.DIR: stat.S_IFDIR,
    Kind.FILE: stat.S_IFREG,
    Kind.SYMLINK: stat.S_IFLNK,
    Kind.SPECIAL: stat.S_IFCHR,
}


class ImageFiles:
    def __init__(self, reference: str, layer_paths: Sequence[str]) -> None:
        self.reference = reference
        self.root = f"image {reference}"  # how messages name where a source was looked for
        self._layers = list(layer_paths)
        self._tree: Tree = scan_layers(self._layers) if self._layers else Tree()

    def _symlink_target(self, path: str) -> Optional[str]:
        node = self._tree.get(path)
        return node.linkname if node is not None and node.kind is Kind.SYMLINK else None

    def resolve(self, path: str, follow_last: bool) -> str:
        # Symlinks resolve inside the image, never on the host (containerd's fs.RootPath).
        return resolve_in_root(path, self._symlink_target, follow_last, "COPY --from source")

    def lstat(self, path: str) -> Optional[os.stat_result]:
        node = self._tree.get(path)
        if node is None:
            return None
        mode = _KIND_BITS[node.kind] | node.mode
        return os.stat_result((mode, 0, 0, 1, node.uid, node.gid, node.size, 0, node.mtime, 0))

    def node(self, path: str, st: os.stat_result) -> Node:
        node = self._tree.get(path)
        assert node is not None
        if node.kind is Kind.SPECIAL:
            raise error(
                f"{path} in {self.root} is a device or fifo, which pun cannot copy",
                hint="copy the files around it, or use --builder buildctl",
            )
        content = node.content
        if isinstance(content, LayerMember):
            content = ArchiveMember(self._layers[content.layer], content.name)
            return Node(node.kind, node.mode, node.uid, node.gid, node.mtime, node.size, content)
        return node

    def walk(self, path: str) -> Iterator[Tuple[str, os.stat_result]]:
        """Entries below directory `path`, parents first, names in byte order (as ContextDir)."""
        prefix = path.rstrip("/") + "/"
        for child in sorted(self._tree.below(path), key=path_sort_key):
            assert child.startswith(prefix)
            st = self.lstat(child)
            assert st is not None
            yield child, st
