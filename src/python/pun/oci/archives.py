"""Image archives: an OCI image layout tar, and the same plus Docker's `docker save` files.

Both are deterministic: entries in byte order, owner 0:0 without names, mtime SOURCE_DATE_EPOCH.
The docker tarball holds `manifest.json` and `repositories` (what `docker load` reads, Docker
20.10 included) next to `oci-layout`/`index.json`, so OCI tools read the same file.
"""

from __future__ import annotations

import io
import os
import tarfile
from typing import BinaryIO, Dict, Sequence, Tuple, Union

from pun.oci.image import BuiltImage, canonical_json, index_json
from pun.oci.layers import COPY_BUFFER
from pun.progress import Progress

OCI_LAYOUT = b'{"imageLayoutVersion":"1.0.0"}'

# An archive entry: bytes in memory (JSON) or a blob file on disk (name, size).
Entry = Union[bytes, Tuple[str, int]]


def blob_name(digest: str) -> str:
    algorithm, hexa = digest.split(":", 1)
    return f"blobs/{algorithm}/{hexa}"


def layout_entries(image: BuiltImage, names: Sequence[str]) -> Dict[str, Entry]:
    entries: Dict[str, Entry] = {
        "oci-layout": OCI_LAYOUT,
        "index.json": index_json(image, names),
        blob_name(image.manifest_digest): image.manifest,
        blob_name(image.config_digest): image.config,
    }
    for blob in image.layers:
        entries[blob_name(blob.digest)] = (blob.path, blob.size)
    return entries


def docker_entries(image: BuiltImage, names: Sequence[str]) -> Dict[str, Entry]:
    entries = layout_entries(image, names)
    # docker load insists on name:tag, so an untagged name gets :latest, as docker save writes it.
    tags = ["%s:%s" % _split_tag(n) for n in names if "@" not in n]
    manifest = [
        {
            "Config": blob_name(image.config_digest),
            "RepoTags": tags or None,
            "Layers": [blob_name(b.digest) for b in image.layers],
        }
    ]
    entries["manifest.json"] = canonical_json(manifest)
    repositories: Dict[str, Dict[str, str]] = {}
    for name in tags:
        repository, tag = _split_tag(name)
        # docker save maps repository -> tag -> an id; docker load reads manifest.json instead
        # when it is present, so the image id serves.
        repositories.setdefault(repository, {})[tag] = image.config_digest.split(":", 1)[1]
    if repositories:
        entries["repositories"] = canonical_json(repositories)
    return entries


def _split_tag(name: str) -> Tuple[str, str]:
    head, _, last = name.rpartition("/")
    if ":" in last:
        repo_last, tag = last.rsplit(":", 1)
        return (f"{head}/{repo_last}" if head else repo_last), tag
    return name, "latest"


def write_archive(
    entries: Dict[str, Entry], sink: BinaryIO, epoch: int, progress: Progress
) -> None:
    """A ustar/PAX tar as Python's tarfile writes it (512-byte blocks, two zero blocks at the
    end, padded to a 10 KiB record), framed here so blob files are copied by the kernel
    (`os.sendfile`) instead of through Python in 10 KiB pieces."""
    directories = sorted(
        {"/".join(p.split("/")[:i]) for p in entries for i in range(1, p.count("/") + 1)}
    )
    total = sum(e[1] for e in entries.values() if isinstance(e, tuple))
    progress.start("writing image archive", total)
    written = 0
    for name in sorted(list(entries) + [d + "/" for d in directories]):
        info = tarfile.TarInfo(name)
        info.mtime, info.uid, info.gid, info.uname, info.gname = epoch, 0, 0, "", ""
        if name.endswith("/"):
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            written += _write(sink, info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))
            continue
        info.mode = 0o644
        entry = entries[name]
        if isinstance(entry, bytes):
            info.size = len(entry)
            written += _write(sink, info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))
            written += _write(sink, entry)
        else:
            path, info.size = entry
            written += _write(sink, info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))
            written += _copy_file(path, info.size, sink, progress)
        written += _write(sink, bytes(-info.size % tarfile.BLOCKSIZE))
    written += _write(sink, bytes(2 * tarfile.BLOCKSIZE))
    _write(sink, bytes(-written % tarfile.RECORDSIZE))
    progress.finish()


def _write(sink: BinaryIO, data: bytes) -> int:
    sink.write(data)
    return len(data)


def _copy_file(path: str, size: int, sink: BinaryIO, progress: Progress) -> int:
    """Copy `size` bytes of `path` to `sink`; fails if the file is shorter (it was replaced)."""
    with open(path, "rb") as handle:
        try:
            out_fd = sink.fileno()
        except (AttributeError, OSError, io.UnsupportedOperation):
            out_fd = -1
        offset = 0
        if out_fd >= 0:
            sink.flush()
            while offset < size:
                sent = os.sendfile(out_fd, handle.fileno(), offset, min(size - offset, 1 << 30))
                if sent == 0:
                    break
                offset += sent
                progress.advance(sent)
        else:
            while offset < size:
                chunk = handle.read(min(size - offset, COPY_BUFFER))
                if not chunk:
                    break
                sink.write(chunk)
                offset += len(chunk)
                progress.advance(len(chunk))
    if offset != size:
        raise OSError(f"{path}: {offset} bytes where {size} were expected (changed while written)")
    return size
