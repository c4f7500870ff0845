"""Write one image layer: a deterministic tar, optionally gzipped, hashed while it streams.

Determinism: entries in component-wise byte order, numeric owners only (no user/group names),
mtimes clamped to SOURCE_DATE_EPOCH, gzip header with mtime 0 and no file name. The same
entries always give the same bytes (for a given deflate library, see pun.oci.deflate), so
the same diffID and digest.

Each byte is read once: the tar is hashed as it is written (the diffID) on the caller's thread,
and gzipped and hashed again (the blob digest) on a second one.
"""

from __future__ import annotations

import hashlib
import io
import os
import queue
import tarfile
import tempfile
import threading
from dataclasses import dataclass
from typing import BinaryIO, Callable, ContextManager, Optional, Sequence, Tuple, cast

from pun.oci.deflate import GzipMember
from pun.oci.fstree import Kind, Node
from pun.progress import Progress

COPY_BUFFER = 1024 * 1024
# Chunks queued between the tar writer and the gzip thread (each about COPY_BUFFER bytes).
PIPELINE_DEPTH = 4
MEDIA_TYPE_OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
MEDIA_TYPE_DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
MEDIA_TYPE_DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"

# Opens a node's bytes for streaming (a context manager yielding something with read(n)).
ContentOpener = Callable[[Node], ContextManager[BinaryIO]]


@dataclass(frozen=True)
class Compression:
    kind: str = "gzip"  # or "uncompressed"
    level: int = 6


@dataclass(frozen=True)
class Blob:
    digest: str
    size: int
    media_type: str
    path: str  # the bytes, on disk


@dataclass(frozen=True)
class Layer:
    blob: Blob
    diff_id: str
    created_by: str


class _HashingWriter:
    """Counts and hashes everything written through it to an underlying file."""

    def __init__(self, sink: Optional[BinaryIO]) -> None:
        self._sink = sink
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.sha256.update(data)
        self.size += len(data)
        if self._sink is not None:
            self._sink.write(data)


class _Gzipper(threading.Thread):
    """Gzips chunks into a `_HashingWriter` on a second thread: the tar's own hashing and
    reading stay on the caller's (hashlib, ISA-L and zlib release the GIL on large buffers, so
    the two threads use two cores). A bounded queue keeps memory flat."""

    def __init__(self, level: int, out: _HashingWriter) -> None:
        super().__init__(name="pun-gzip", daemon=True)
        self._member = GzipMember(level)
        self._out = out
        self._chunks: "queue.Queue[Optional[bytes]]" = queue.Queue(maxsize=PIPELINE_DEPTH)
        self.failure: Optional[BaseException] = None

    def run(self) -> None:
        try:
            self._out.write(self._member.header())
            while True:
                chunk = self._chunks.get()
                if chunk is None:
                    break
                self._out.write(self._member.compress(chunk))
            self._out.write(self._member.finish())
        except BaseException as exc:  # handed to the caller in put()/close()
            self.failure = exc
            while self._chunks.get() is not None:  # drain so the caller never blocks
                pass

    def put(self, chunk: bytes) -> None:
        if self.failure is not None:
            raise self.failure
        self._chunks.put(chunk)

    def close(self) -> None:
        self._chunks.put(None)
        self.join()
        if self.failure is not None:
            raise self.failure


class _TarSink(io.RawIOBase):
    """What the tar is written into: hashes it (the diffID), then passes it on in chunks of at
    least COPY_BUFFER bytes, cut only by the sequence of writes (so the same tar always reaches
    the compressor in the same pieces, and deflate gives the same bytes)."""

    def __init__(self, emit: Callable[[bytes], None]) -> None:
        super().__init__()
        self._emit = emit
        self._pending = bytearray()
        self.sha256 = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: "bytes | bytearray | memoryview") -> int:  # type: ignore[override]
        chunk = data if isinstance(data, bytes) else bytes(data)
        self.sha256.update(chunk)
        self.size += len(chunk)
        if not self._pending and len(chunk) >= COPY_BUFFER:
            self._emit(chunk)
        else:
            self._pending += chunk
            if len(self._pending) >= COPY_BUFFER:
                self._emit(bytes(self._pending))
                self._pending.clear()
        return len(chunk)

    def drain(self) -> None:
        if self._pending:
            self._emit(bytes(self._pending))
            self._pending.clear()

    def tell(self) -> int:
        return self.size


def _tar_info(path: str, node: Node, epoch: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(path.lstrip("/") + ("/" if node.is_dir else ""))
    info.mode = node.mode & 0o7777
    info.uid, info.gid = node.uid, node.gid
    info.uname = info.gname = ""
    info.mtime = min(node.mtime, epoch)
    if node.kind is Kind.DIR:
        info.type = tarfile.DIRTYPE
    elif node.kind is Kind.SYMLINK:
        info.type = tarfile.SYMTYPE
        info.linkname = node.linkname
    elif node.kind is Kind.FILE:
        info.type = tarfile.REGTYPE
        info.size = node.size
    else:
        raise ValueError(f"cannot write {node.kind} nodes into a new layer")
    return info


def write_tar(
    entries: Sequence[Tuple[str, Node]],
    sink: BinaryIO,
    open_content: ContentOpener,
    epoch: int,
    progress: Optional[Progress] = None,
) -> None:
    """Stream `entries` (already in order) as a tar into `sink`."""
    with tarfile.open(fileobj=sink, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.copybufsize = COPY_BUFFER  # type: ignore[attr-defined]
        for path, node in entries:
            info = _tar_info(path, node, epoch)
            if node.kind is Kind.FILE:
                with open_content(node) as handle:
                    source = progress.wrap(handle) if progress is not None else handle
                    tar.addfile(info, source)
            else:
                tar.addfile(info)


def write_layer(
    entries: Sequence[Tuple[str, Node]],
    workdir: str,
    open_content: ContentOpener,
    epoch: int,
    compression: Compression,
    oci: bool,
    created_by: str,
    progress: Optional[Progress] = None,
) -> Layer:
    """Write a layer blob into `workdir`; its name is its digest."""
    fd, tmp = tempfile.mkstemp(dir=workdir, prefix=".layer-")
    try:
        with os.fdopen(fd, "wb") as raw:
            blob = _HashingWriter(cast(BinaryIO, raw))
            gzipper = _Gzipper(compression.level, blob) if compression.kind == "gzip" else None
            plain = _TarSink(gzipper.put if gzipper is not None else blob.write)
            if gzipper is not None:
                gzipper.start()
            try:
                write_tar(entries, cast(BinaryIO, plain), open_content, epoch, progress)
                plain.drain()
            finally:
                if gzipper is not None:
                    gzipper.close()
        digest = "sha256:" + blob.sha256.hexdigest()
        final = os.path.join(workdir, digest.split(":", 1)[1])
        os.replace(tmp, final)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    media = layer_media_type(oci, compression.kind == "gzip")
    return Layer(
        Blob(digest, blob.size, media, final),
        "sha256:" + plain.sha256.hexdigest(),
        created_by,
    )


def layer_media_type(oci: bool, gzipped: bool) -> str:
    if oci:
        return MEDIA_TYPE_OCI_LAYER + ("+gzip" if gzipped else "")
    return MEDIA_TYPE_DOCKER_LAYER_GZIP if gzipped else MEDIA_TYPE_DOCKER_LAYER
