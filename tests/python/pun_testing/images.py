"""Hand-made base images for tests, written without pun's own image code (so they can judge it).

`multiarch_layout()` writes an OCI layout holding an index with a linux/amd64 and a
linux/arm64 image: /etc/passwd and /etc/group with an `app` user, a file removed again by a
whiteout in the second layer, and a config with Env/Cmd/Entrypoint/WorkingDir/Labels.
`config_layout()` writes a one-platform image with the config you give it.
Push them with `skopeo copy --all`.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

PASSWD = b"root:x:0:0:root:/root:/bin/sh\napp:x:1234:5678::/home/app:/bin/sh\n"
GROUP = b"root:x:0:\nstaff:x:4321:app\n"


def _tar(entries: List[Tuple[str, bytes, int]]) -> bytes:
    """entries: (name, data, mode); a name ending in / is a directory."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data, mode in entries:
            info = tarfile.TarInfo(name)
            info.mode = mode
            if name.endswith("/"):
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def blob(layout: Path, data: bytes) -> Dict[str, Any]:
    """Write `data` as a blob of the layout; its descriptor's digest and size."""
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def image_manifest(
    layout: Path,
    arch: str,
    layer_tars: Sequence[bytes],
    config_body: Dict[str, Any],
    history: Sequence[str],
) -> Dict[str, Any]:
    """One linux/ARCH image in the layout (gzip layers, config, manifest); its descriptor for an
    index."""
    layers, diff_ids = [], []
    for plain in layer_tars:
        diff_ids.append("sha256:" + hashlib.sha256(plain).hexdigest())
        zipped = gzip.compress(plain, mtime=0)
        layers.append(
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **blob(layout, zipped)}
        )
    config = {
        "architecture": arch,
        "os": "linux",
        "config": config_body,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": step} for step in history],
    }
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            **blob(layout, json.dumps(config).encode()),
        },
        "layers": layers,
    }
    return {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        **blob(layout, json.dumps(manifest).encode()),
        "platform": {"architecture": arch, "os": "linux"},
    }


def index_layout(layout: Path, manifests: Sequence[Dict[str, Any]], tag: str) -> str:
    """Finish an OCI layout whose blobs are written: an image index over `manifests`, tagged
    `tag`. Returns the index's digest (what `name@sha256:...` pins)."""
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": list(manifests),
    }
    entry = {
        "mediaType": "application/vnd.oci.image.index.v1+json",
        **blob(layout, json.dumps(index).encode()),
        "annotations": {"org.opencontainers.image.ref.name": tag},
    }
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    return str(entry["digest"])


def new_layout(layout: Path) -> Path:
    (layout / "blobs" / "sha256").mkdir(parents=True)
    return layout


def _image(layout: Path, arch: str) -> Dict[str, Any]:
    first = _tar(
        [
            ("etc/", b"", 0o755),
            ("etc/passwd", PASSWD, 0o644),
            ("etc/group", GROUP, 0o644),
            ("etc/old", b"old", 0o644),
            ("srv/", b"", 0o750),
            ("srv/base.txt", arch.encode(), 0o640),
        ]
    )
    second = _tar([("etc/", b"", 0o755), ("etc/.wh.old", b"", 0o644)])
    body = {
        "Env": ["PATH=/usr/bin:/bin", f"BASE_ARCH={arch}"],
        "Cmd": ["--serve"],
        "Entrypoint": ["/init"],
        "WorkingDir": "/srv",
        "Labels": {"base.label": "kept"},
    }
    return image_manifest(layout, arch, (first, second), body, ("base layer 1", "base layer 2"))


def multiarch_layout(layout: Path, tag: str = "1.0") -> Path:
    new_layout(layout)
    index_layout(layout, [_image(layout, "arm64"), _image(layout, "amd64")], tag)
    return layout


def config_layout(layout: Path, body: Dict[str, Any], tag: str = "1.0") -> Path:
    """A one-platform (linux/amd64) image whose config is `body` (Env, WorkingDir, User, ...)
    over /etc/passwd and /etc/group with the `app` user (1234:5678) and /srv."""
    new_layout(layout)
    layer = _tar(
        [
            ("etc/", b"", 0o755),
            ("etc/passwd", PASSWD, 0o644),
            ("etc/group", GROUP, 0o644),
            ("srv/", b"", 0o755),
            ("srv/base.txt", b"base", 0o644),
        ]
    )
    index_layout(layout, [image_manifest(layout, "amd64", (layer,), body, ("base",))], tag)
    return layout


def archive_json(archive: Path, member: str) -> Any:
    """One JSON member (`index.json`, `manifest.json`, a blob) of an image archive, read with
    the standard library's tarfile."""
    with tarfile.open(archive) as tar:
        handle = tar.extractfile(member)
        assert handle is not None, f"{member} is not a file in {archive}"
        return json.load(handle)
