"""The pieces of a pull: picking a platform from an index, the verifying cache, credentials."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
import threading
from pathlib import Path

import pytest

from pun.diagnostics import PunError
from pun.oci.cache import BlobCache
from pun.oci.pull import select_platform
from pun.oci.registry.credentials import Credentials, lookup
from pun.platform import Platform, base_image_platform
from pun_testing.building import environment

INDEX = {
    "manifests": [
        {"digest": "sha256:qemu", "platform": {"os": "qemu", "architecture": "amd64"}},
        {"digest": "sha256:fc", "platform": {"os": "firecracker", "architecture": "amd64"}},
        {
            "digest": "sha256:arm",
            "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"},
        },
        {
            "digest": "sha256:armv7",
            "platform": {"os": "linux", "architecture": "arm", "variant": "v7"},
        },
    ]
}


def test_unikraft_images_are_picked_by_hypervisor() -> None:
    amd64 = Platform("linux", "amd64")
    assert (
        select_platform(INDEX, base_image_platform("unikraft.org", amd64, None), "u")
        == "sha256:qemu"
    )
    chosen = base_image_platform("unikraft.org", amd64, "firecracker")
    assert select_platform(INDEX, chosen, "u") == "sha256:fc"


def test_variants_match_like_containerd() -> None:
    assert select_platform(INDEX, Platform("linux", "arm64"), "x") == "sha256:arm"
    assert select_platform(INDEX, Platform("linux", "arm", "v7"), "x") == "sha256:armv7"
    with pytest.raises(PunError, match="no manifest for platform linux/arm/v6"):
        select_platform(INDEX, Platform("linux", "arm", "v6"), "x")


def test_the_cache_keeps_only_verified_blobs(tmp_path: Path) -> None:
    cache = BlobCache(str(tmp_path))
    data = b"layer bytes"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with pytest.raises(PunError, match="does not match"):
        cache.ingest(digest, len(data), lambda sink: sink.write(b"tampered"))
    assert cache.get(digest) is None and os.listdir(tmp_path / "tmp") == []
    path = cache.ingest(digest, len(data), lambda sink: sink.write(data))
    assert Path(path).read_bytes() == data and cache.get(digest) == path


def test_racing_writers_of_one_blob_both_succeed(tmp_path: Path) -> None:
    cache = BlobCache(str(tmp_path))
    data = os.urandom(1 << 20)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    errors = []

    def fill() -> None:
        try:
            cache.ingest(
                digest,
                len(data),
                lambda sink: [sink.write(data[i : i + 4096]) for i in range(0, len(data), 4096)],
            )
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=fill) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Path(cache.path(digest)).read_bytes() == data


def test_malformed_digests_are_refused(tmp_path: Path) -> None:
    with pytest.raises(PunError, match="malformed digest"):
        BlobCache(str(tmp_path)).path("sha256:../../etc/passwd")


def write_config(tmp_path: Path, config: dict) -> str:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return str(path)


def test_credentials_from_auths(tmp_path: Path) -> None:
    auth = base64.b64encode(b"me:pw:with:colons").decode()
    path = write_config(
        tmp_path,
        {
            "auths": {
                "reg.test": {"auth": auth},
                "https://index.docker.io/v1/": {"username": "hub", "password": "h"},
            }
        },
    )
    assert lookup("reg.test", path) == Credentials("me", "pw:with:colons")
    assert lookup("docker.io", path) == Credentials("hub", "h")
    assert lookup("other.test", path) is None
    assert lookup("reg.test", str(tmp_path / "missing.json")) is None


def test_credentials_from_a_helper(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helper = bin_dir / "docker-credential-fake"
    helper.write_text(
        f"#!{sys.executable}\nimport json, sys\nserver = sys.stdin.read()\n"
        "if server != 'reg.test': sys.exit(1)\n"
        "print(json.dumps({'Username': 'helped', 'Secret': 'x'}))\n"
    )
    helper.chmod(0o755)
    path = write_config(tmp_path, {"credHelpers": {"reg.test": "fake"}, "credsStore": "fake"})
    with environment({"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}):
        assert lookup("reg.test", path) == Credentials("helped", "x")
        assert lookup("elsewhere.test", path) is None  # the store has nothing for it


def test_a_missing_helper_is_a_clear_error(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"credsStore": "not-installed-anywhere"})
    with pytest.raises(PunError, match="docker-credential-not-installed-anywhere"):
        lookup("reg.test", path)
