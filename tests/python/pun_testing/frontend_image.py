"""The packaged frontend image (`//:pun-frontend`) for tests: where the archive is, and its root
filesystem unpacked.

Tests that need it list `runtime_package_dependencies=["//:pun-frontend"]` in their BUILD, so
Pants builds it (cached) and puts it in the test's sandbox at the target's `output_path`.
Outside Pants, `$PUN_FRONTEND_IMAGE_ARCHIVE` names an archive.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import tarfile
from pathlib import Path
from typing import Dict, List

from pun_testing.buildkit import require_buildkit
from pun_testing.images import archive_json
from pun_testing.tools import skopeo_inspect, unavailable

ARCHIVE_ENV = "PUN_FRONTEND_IMAGE_ARCHIVE"
# The `output_path` of //:pun-frontend (root BUILD), relative to the sandbox / dist/.
PACKAGED_ARCHIVE = "frontend-image/pun-frontend.oci.tar"
ENTRYPOINT = "usr/lib/pun/pun"


def frontend_archive() -> Path:
    candidates = [os.environ.get(ARCHIVE_ENV, ""), PACKAGED_ARCHIVE]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate):
            return Path(candidate).resolve()
    unavailable(
        f"no frontend image archive: depend on //:pun-frontend "
        f"(runtime_package_dependencies) or set ${ARCHIVE_ENV}"
    )
    raise AssertionError("unreachable")


def unpack_rootfs(archive: Path, destination: Path) -> Path:
    """The image's layers extracted in order (the frontend image has one, no whiteouts)."""
    destination.mkdir(parents=True, exist_ok=True)
    index = archive_json(archive, "index.json")
    digest = index["manifests"][0]["digest"].split(":", 1)[1]
    manifest = archive_json(archive, f"blobs/sha256/{digest}")
    with tarfile.open(archive) as outer:
        for layer in manifest["layers"]:
            handle = outer.extractfile(f"blobs/sha256/{layer['digest'].split(':', 1)[1]}")
            assert handle is not None
            with gzip.open(handle) as plain, tarfile.open(fileobj=plain, mode="r|") as inner:
                inner.extractall(destination)
    return destination


def gateway_build(
    frontend: str, context: Path, *extra: str, filename: str = "Containerfile"
) -> subprocess.CompletedProcess:
    """`buildctl build --frontend gateway.v0` with the frontend image `frontend` (a registry
    reference) over `context` (also the `dockerfile` local), on the test's BuildKit; `extra`:
    more `--opt`s and the `--output`."""
    argv: List[str] = [
        *require_buildkit().argv("build"),
        "--progress=plain",
        "--frontend",
        "gateway.v0",
        "--opt",
        f"source={frontend}",
        "--opt",
        f"filename={filename}",
        "--local",
        f"context={context}",
        "--local",
        f"dockerfile={context}",
        *extra,
    ]
    return subprocess.run(argv, capture_output=True, text=True, timeout=600)


def image_description(archive: Path) -> Dict[str, object]:
    """What two builders of one image must agree on, as skopeo reads an OCI archive: the
    config's `config`, its platform and the manifest's annotations."""
    ref = f"oci-archive:{archive}"
    config = skopeo_inspect(ref, "--config")
    return {
        "config": config["config"],
        "platform": (config["os"], config["architecture"]),
        "annotations": skopeo_inspect(ref, "--raw").get("annotations"),
    }
