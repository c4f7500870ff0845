"""A content-addressed blob cache under the user's cache directory ($XDG_CACHE_HOME/pun).

Blobs are written to a private temporary file, verified against their digest and size, then
renamed into `blobs/sha256/<hex>`. A rename is atomic and both racers write identical bytes, so
concurrent builds can fill the cache at once without locks, and no reader ever sees a partial
or unverified blob.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass
from typing import BinaryIO, Callable, Optional

from pun.diagnostics import error


def default_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "pun")


class _VerifyingWriter:
    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.size += len(data)
        return self._handle.write(data)


@dataclass(frozen=True)
class BlobCache:
    root: str

    def path(self, digest: str) -> str:
        algorithm, _, hexa = digest.partition(":")
        if (
            algorithm != "sha256"
            or len(hexa) != 64
            or not all(c in "0123456789abcdef" for c in hexa)
        ):
            raise error(
                f"unsupported or malformed digest {digest!r}",
                hint="only sha256 digests are supported",
            )
        return os.path.join(self.root, "blobs", "sha256", hexa)

    def get(self, digest: str) -> Optional[str]:
        path = self.path(digest)
        return path if os.path.isfile(path) else None

    def ingest(self, digest: str, size: Optional[int], fill: Callable[[BinaryIO], object]) -> str:
        """Store the blob `fill` writes if it matches `digest` (and `size`); return its path."""
        final = self.path(digest)
        directory = os.path.dirname(final)
        try:
            os.makedirs(directory, exist_ok=True)
            os.makedirs(os.path.join(self.root, "tmp"), exist_ok=True)
        except OSError as exc:
            raise error(
                f"cannot create the cache directory {self.root}: {exc.strerror}",
                hint="set XDG_CACHE_HOME or --cache-dir to a writable directory",
            ) from None
        fd, tmp = tempfile.mkstemp(dir=os.path.join(self.root, "tmp"), prefix="ingest-")
        try:
            with os.fdopen(fd, "wb") as handle:
                writer = _VerifyingWriter(handle)
                fill(writer)  # type: ignore[arg-type]
                handle.flush()
                os.fsync(handle.fileno())
            actual = "sha256:" + writer.sha256.hexdigest()
            if actual != digest or (size is not None and writer.size != size):
                raise error(
                    f"downloaded blob {digest} does not match (got {actual}, {writer.size} bytes)",
                    hint="the registry or the network corrupted it; try again",
                )
            os.chmod(tmp, 0o444)
            os.replace(tmp, final)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        return final

    def put_bytes(self, digest: str, data: bytes) -> str:
        existing = self.get(digest)
        return (
            existing if existing else self.ingest(digest, len(data), lambda sink: sink.write(data))
        )
