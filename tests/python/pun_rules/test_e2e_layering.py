"""End to end, real `./pants` runs: monorepo layering of `unikernel_image`s.

A scratch repository holds a base image, an image `FROM //base:img` (by address), one that
does `COPY --from=layers/base:latest` (by the name the base is built with), one through an
`ARG` holding the base's address, and an unrelated image. No registry runs and the names point
at Docker Hub, so any pull would fail: the upstream archive is the only way the files get in.

- the upstream is an inferred dependency (`pants dependencies`);
- the base's files and config (Labels, Env) are in the images above it (read back with umoci,
  an independent tool), with the base's layers reused byte for byte;
- changing the base's source rebuilds exactly the images above it (Pants' own log of spawned
  build processes), and the unrelated image keeps its digest.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

from pun_testing.scratch_repo import ScratchRepo, make_scratch_repo
from pun_testing.tools import require, run

LABELS = (
    'LABEL com.urunc.unikernel.unikernelType="rumprun" com.urunc.unikernel.hypervisor="hvt"\n'
    'LABEL com.urunc.unikernel.binary="/unikernel/kernel" com.urunc.unikernel.mountRootfs="false"'
    ' com.urunc.unikernel.useDMBlock="false"\n'
)
FILES: Dict[str, str] = {
    "base/BUILD": 'files(name="files", sources=["kernel.bin"])\n'
    'unikernel_image(name="img", repository="layers/base")\n',
    "base/kernel.bin": "base kernel v1\n",
    "base/Containerfile": "FROM scratch\nCOPY kernel.bin /unikernel/kernel\nENV FROM_BASE=1\n"
    + LABELS
    + 'LABEL base.only="yes"\n',
    "app/BUILD": 'files(name="files", sources=["app.conf"])\nunikernel_image(name="img")\n',
    "app/app.conf": "app settings\n",
    "app/Containerfile": "FROM //base:img\nCOPY app.conf /etc/app.conf\n" + LABELS,
    "copier/BUILD": 'unikernel_image(name="img")\n',
    "copier/Containerfile": "FROM scratch\nCOPY --from=layers/base:latest /unikernel /unikernel\n"
    + LABELS,
    "viaarg/BUILD": 'unikernel_image(name="img")\n',
    "viaarg/Containerfile": "ARG BASE=base:img\nFROM $BASE\n" + LABELS,
    "other/BUILD": 'files(name="files", sources=["kernel.bin"])\nunikernel_image(name="img")\n',
    "other/kernel.bin": "unrelated\n",
    "other/Containerfile": "FROM scratch\nCOPY kernel.bin /unikernel/kernel\n" + LABELS,
}
ABOVE_BASE = ["app:img", "copier:img", "viaarg:img"]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScratchRepo]:
    yield make_scratch_repo(tmp_path_factory.mktemp("layering") / "repo", FILES)


def described(repo: ScratchRepo, directory: str) -> Dict[str, Any]:
    return dict(json.loads(repo.read_bytes(f"dist/{directory}/img.image.json")))


def rootfs(repo: ScratchRepo, directory: str, work: Path) -> Path:
    """The image's root filesystem as skopeo + umoci see it."""
    work.mkdir(parents=True)
    archive = repo.root / f"dist/{directory}/img.oci.tar"
    layout = work / "layout"
    run([require("skopeo"), "copy", "--quiet", f"oci-archive:{archive}", f"oci:{layout}:x"])
    rootless = [] if os.geteuid() == 0 else ["--rootless"]
    run([require("umoci"), "unpack", *rootless, "--image", f"{layout}:x", str(work / "b")])
    return work / "b" / "rootfs"


def config(repo: ScratchRepo, directory: str) -> Dict[str, Any]:
    archive = repo.root / f"dist/{directory}/img.oci.tar"
    out = run([require("skopeo"), "inspect", "--config", f"oci-archive:{archive}"]).stdout
    return dict(json.loads(out))


def layers(repo: ScratchRepo, directory: str) -> Any:
    archive = repo.root / f"dist/{directory}/img.oci.tar"
    out = run([require("skopeo"), "inspect", "--raw", f"oci-archive:{archive}"]).stdout
    return [layer["digest"] for layer in json.loads(out)["layers"]]


def test_the_upstream_image_is_an_inferred_dependency(repo: ScratchRepo) -> None:
    for address in ABOVE_BASE:
        deps = repo.pants("dependencies", address).check().stdout.split()
        assert "base:img" in deps, (address, deps)
    assert "base:img" not in repo.pants("dependencies", "other:img").check().stdout.split()


def test_images_above_the_base_hold_its_files_and_config(repo: ScratchRepo, tmp_path: Path) -> None:
    repo.pants("package", "::").check()

    kernel = (repo.root / "base/kernel.bin").read_bytes()
    app = rootfs(repo, "app", tmp_path / "app")
    assert (app / "unikernel/kernel").read_bytes() == kernel
    assert (app / "etc/app.conf").read_text() == "app settings\n"
    assert (rootfs(repo, "copier", tmp_path / "copier") / "unikernel/kernel").read_bytes() == kernel
    assert (rootfs(repo, "viaarg", tmp_path / "viaarg") / "unikernel/kernel").read_bytes() == kernel
    # The config inherits from the base, as FROM does (Labels merged, Env kept).
    app_config = config(repo, "app")["config"]
    assert app_config["Labels"]["base.only"] == "yes"
    assert "FROM_BASE=1" in app_config["Env"]
    assert "base.only" not in (config(repo, "copier")["config"].get("Labels") or {})
    # The base's layers are the bottom of the app's, byte for byte.
    base_layers = layers(repo, "base")
    assert layers(repo, "app")[: len(base_layers)] == base_layers


def test_changing_the_base_rebuilds_exactly_the_images_above_it(
    repo: ScratchRepo, tmp_path: Path
) -> None:
    repo.pants("package", "::").check()
    before = {d: described(repo, d)["digest"] for d in ("base", "app", "copier", "viaarg", "other")}
    # A change never made before: Pants' cache outlives this test.
    (repo.root / "base/kernel.bin").write_text(f"base kernel {uuid.uuid4()}\n")

    changed = repo.pants("package", "::").check()

    assert changed.builds() == sorted(["base:img", *ABOVE_BASE])
    after = {d: described(repo, d)["digest"] for d in before}
    for directory in ("base", "app", "copier", "viaarg"):
        assert after[directory] != before[directory], directory
    assert after["other"] == before["other"]
    # And the derived images carry the new base bytes.
    new_kernel = (repo.root / "base/kernel.bin").read_bytes()
    for directory in ("app", "copier"):
        unpacked = rootfs(repo, directory, tmp_path / directory)
        assert (unpacked / "unikernel/kernel").read_bytes() == new_kernel, directory
    again = repo.pants("package", "::").check()
    assert again.builds() == []
