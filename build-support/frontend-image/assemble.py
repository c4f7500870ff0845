"""Write a root filesystem as a one-layer OCI image archive (`oci-archive`, a tar of an OCI
image layout) with the frontend's image config: Entrypoint, labels, platform.

Deterministic: entries sorted, owner 0:0 without names, mtimes SOURCE_DATE_EPOCH (default 0),
gzip without a name or a time, so the same root filesystem gives the same digests.
Only the standard library: this runs before anything is installed.

usage: assemble.py ROOTFS OUTPUT.tar --entrypoint /usr/lib/pun/pun [--label K=V ...]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import platform
import stat
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from typing import Dict, List, Sequence

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}


@dataclass(frozen=True)
class Blob:
    digest: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


def blob(data: bytes) -> Blob:
    return Blob("sha256:" + hashlib.sha256(data).hexdigest(), data)


def canonical(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode("utf-8")


def layer_tar(rootfs: str, epoch: int) -> bytes:
    """The root filesystem as an uncompressed tar, in a stable order, owned by root."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for relative in _walk(rootfs):
            path = os.path.join(rootfs, relative)
            info = tar.gettarinfo(path, arcname=relative)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = epoch
            if info.isreg():
                with open(path, "rb") as handle:
                    tar.addfile(info, handle)
            else:
                tar.addfile(info)
    return out.getvalue()


def _walk(root: str) -> List[str]:
    found: List[str] = []
    for directory, dirs, files in os.walk(root):
        dirs.sort()
        relative_dir = os.path.relpath(directory, root)
        for name in sorted(dirs + files):
            relative = os.path.normpath(os.path.join(relative_dir, name))
            mode = os.lstat(os.path.join(root, relative)).st_mode
            if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
                raise SystemExit(f"assemble: unsupported file type: {relative}")
            found.append(relative)
    return sorted(found)


def gzipped(data: bytes) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
        gz.write(data)
    return out.getvalue()


def image_blobs(rootfs: str, entrypoint: Sequence[str], labels: Dict[str, str],
                epoch: int) -> Dict[str, Blob]:
    tar = layer_tar(rootfs, epoch)
    layer = blob(gzipped(tar))
    created = _rfc3339(epoch)
    config = blob(canonical({
        "architecture": _ARCH.get(platform.machine(), platform.machine()),
        "os": "linux",
        "created": created,
        "config": {"Entrypoint": list(entrypoint), "WorkingDir": "/", "Labels": labels},
        "rootfs": {"type": "layers", "diff_ids": [blob(tar).digest]},
        "history": [{"created": created, "created_by": "build-support/frontend-image"}],
    }))
    manifest = blob(canonical({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config.digest, "size": config.size},
        "layers": [{"mediaType": OCI_LAYER, "digest": layer.digest, "size": layer.size}],
    }))
    return {"manifest": manifest, "config": config, "layer": layer}


def _rfc3339(epoch: int) -> str:
    import datetime

    moment = datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def write_archive(output: str, blobs: Dict[str, Blob], epoch: int) -> None:
    manifest = blobs["manifest"]
    index = canonical({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": manifest.digest,
                       "size": manifest.size}],
    })
    entries = {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}', "index.json": index}
    for item in blobs.values():
        entries["blobs/sha256/" + item.digest.split(":", 1)[1]] = item.data
    directory = os.path.dirname(os.path.abspath(output))
    with tempfile.NamedTemporaryFile(dir=directory, delete=False) as handle:
        with tarfile.open(fileobj=handle, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name in ("blobs/", "blobs/sha256/"):
                info = tarfile.TarInfo(name)
                info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, epoch
                tar.addfile(info)
            for name in sorted(entries):
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.mtime = len(entries[name]), 0o644, epoch
                tar.addfile(info, io.BytesIO(entries[name]))
    os.chmod(handle.name, 0o644)
    os.replace(handle.name, output)  # never leave a half-written archive behind


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="assemble.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("rootfs")
    parser.add_argument("output")
    parser.add_argument("--entrypoint", required=True, action="append")
    parser.add_argument("--label", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    labels = dict(label.split("=", 1) for label in args.label)
    blobs = image_blobs(args.rootfs, args.entrypoint, labels, epoch)
    write_archive(args.output, blobs, epoch)
    layer = blobs["layer"]
    print(json.dumps({"manifest": blobs["manifest"].digest, "config": blobs["config"].digest,
                      "layer_bytes": layer.size}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
