"""Files from other images, for a rootfs (bunny's `rootfs.from: <image>` and `include` entries
that name an image): each image is pulled once by pun's own registry client (digest-pinned when
the reference is, blobs through the same cache as base images) and flattened into a directory
by the embedded builder's own layer reader and `type=local` writer (whiteouts applied), which
the rootfs then reads like a build context."""

from __future__ import annotations

import os
from typing import Dict, Optional

from pun.platform import Platform


class ImageFiles:
    """Flattened root filesystems of images, below `work_dir`, one per reference."""

    def __init__(
        self,
        work_dir: str,
        platform: Platform,
        cache_dir: Optional[str] = None,
        insecure: bool = False,
        progress: str = "quiet",
    ) -> None:
        self.work_dir = work_dir
        self.platform = platform
        self.cache_dir = cache_dir
        self.insecure = insecure
        self.progress = progress
        self._roots: Dict[str, str] = {}

    def root(self, reference: str) -> str:
        """The directory holding `reference`'s files (fetched and flattened on first use)."""
        found = self._roots.get(reference)
        if found is not None:
            return found
        root = os.path.join(self.work_dir, f"image-{len(self._roots)}")
        os.mkdir(root)
        self._flatten(reference, root)
        self._roots[reference] = root
        return root

    def _flatten(self, reference: str, root: str) -> None:
        """Write `reference`'s files into the empty directory `root`: pulled here by pun's
        registry client; the frontend overrides this to have BuildKit fetch them."""
        from pun.oci.baselayers import scan_layers
        from pun.oci.cache import BlobCache, default_cache_dir
        from pun.oci.pull import pull
        from pun.progress import Progress
        from pun.solve.tree_files import write_tree

        progress = Progress(self.progress)
        cache = BlobCache(self.cache_dir or default_cache_dir())
        image = pull(reference, self.platform, cache, progress, self.insecure)
        layers = [blob.path for blob in image.layers]
        write_tree(scan_layers(layers), root, layers, 0, progress, lambda _: None)
