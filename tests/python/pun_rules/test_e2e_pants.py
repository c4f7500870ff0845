"""End to end: real `./pants` runs (no pantsd) on a scratch repository holding examples/.

- `package examples::` writes valid OCI archives (skopeo inspects, umoci unpacks them);
- a second run spawns no build process; changing one unikernel's source rebuilds that one;
- `publish` pushes what `package` built (no build process) to a local registry, and skopeo
  pulls it back by digest with its annotations;
- two runs without the local cache give byte-identical archives (unikernels and the frontend
  image);
- `[pun].builder = "buildctl"` with a real BuildKit gives the embedded builder's image.

Slow (each run starts Pants cold): tagged `pants_e2e` so CI can run them as their own step.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

import pun
from pun_testing.buildkit import BuildKit, buildkit
from pun_testing.registry import Registry, registry
from pun_testing.rootfs import listing
from pun_testing.scratch_repo import ScratchRepo, copy_examples, make_scratch_repo
from pun_testing.tools import require, run

__all__ = ["buildkit", "registry"]  # pytest fixtures, used by name below

IMAGES = {
    "examples/hello-shell:hello": "dist/examples.hello-shell/hello",
    "examples/rumprun-redis:redis": "dist/examples.rumprun-redis/redis",
}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScratchRepo]:
    scratch = make_scratch_repo(tmp_path_factory.mktemp("scratch") / "repo")
    copy_examples(scratch)
    yield scratch


def description(repo: ScratchRepo, address: str, dist: str = "dist") -> Dict[str, Any]:
    path = IMAGES[address].replace("dist/", f"{dist}/", 1) + ".image.json"
    return dict(json.loads(repo.read_bytes(path)))


def test_package_examples_writes_valid_oci_archives(repo: ScratchRepo, tmp_path: Path) -> None:
    repo.pants("package", "examples::").check()

    for address, stem in IMAGES.items():
        archive = repo.root / f"{stem}.oci.tar"
        described = description(repo, address)
        ref = f"oci-archive:{archive}:{described['tags'][0]}"
        inspected = json.loads(run([require("skopeo"), "inspect", ref]).stdout)
        assert inspected["Digest"] == described["digest"]
        assert inspected["Labels"]["com.urunc.unikernel.unikernelType"] == "rumprun"
        layout = tmp_path / address.replace("/", "_").replace(":", "_")
        run([require("skopeo"), "copy", ref, f"oci:{layout}:img"])
        bundle = tmp_path / f"{layout.name}-bundle"
        run([require("umoci"), "unpack", "--rootless", "--image", f"{layout}:img", str(bundle)])
        assert json.loads((bundle / "rootfs" / "urunc.json").read_text())
    hello = tmp_path / "examples_hello-shell_hello-bundle" / "rootfs" / "unikernel" / "hello.hvt"
    assert b"int main(void)" in hello.read_bytes()  # built by the shell_command
    # The example that needs the network is skipped by default (`needs-network` tag).
    assert not (repo.root / "dist/examples.unikraft-nginx").exists()


def test_second_run_spawns_no_build_process(repo: ScratchRepo) -> None:
    repo.pants("package", "examples::").check()

    again = repo.pants("--stats-log", "package", "examples::").check()

    assert again.builds() == []
    # Only Pants' own per-run lookups (bash, the interpreter, ...) may spawn; the builds and the
    # shell_command come from the cache.
    assert not any("unikernel" in d or "shell_command" in d for d in again.spawned())
    assert again.counters()["local_cache_requests_cached"] >= len(IMAGES) + 1


def test_changing_one_unikernel_rebuilds_only_that_image(repo: ScratchRepo) -> None:
    repo.pants("package", "examples::").check()
    before = {a: description(repo, a)["digest"] for a in IMAGES}
    source = repo.root / "examples/hello-shell/hello.c"
    # A change never made before: Pants' cache is shared with earlier runs of this test.
    source.write_text(source.read_text() + f"/* changed {uuid.uuid4()} */\n")

    changed = repo.pants("package", "examples::").check()

    assert changed.builds() == ["examples/hello-shell:hello"]
    assert "Running the `shell_command` at `examples/hello-shell:kernel`" in changed.spawned()
    after = {a: description(repo, a)["digest"] for a in IMAGES}
    assert after["examples/hello-shell:hello"] != before["examples/hello-shell:hello"]
    assert after["examples/rumprun-redis:redis"] == before["examples/rumprun-redis:redis"]


def test_publish_pushes_the_packaged_image(repo: ScratchRepo, registry: Registry) -> None:
    option = f"--pun-registries={{'local': {{'address': '{registry.host}', 'default': True}}}}"
    target = "examples/rumprun-redis:redis"
    repo.pants(option, "package", target).check()

    published = repo.pants(option, "publish", target).check()

    assert published.builds() == []  # the archive `package` built, not a second build
    described = description(repo, target)
    digest = described["digest"]
    assert f"{registry.host}/unikernels/redis:0.1 published" in published.stderr
    skopeo = [require("skopeo"), "inspect", "--raw", "--tls-verify=false"]
    repository = f"docker://{registry.host}/unikernels/redis"
    by_digest = json.loads(run([*skopeo, f"{repository}@{digest}"]).stdout)
    assert by_digest["annotations"] == described["annotations"]
    assert by_digest["annotations"]["com.urunc.unikernel.hypervisor"] == "hvt"
    by_tag = json.loads(run([*skopeo, f"{repository}:0.1"]).stdout)
    assert by_tag == by_digest


def test_two_runs_without_cache_are_byte_identical(repo: ScratchRepo) -> None:
    for dist in ("dist-a", "dist-b"):
        repo.pants("--no-local-cache", f"--pants-distdir={dist}", "package", "examples::").check()

    for stem in IMAGES.values():
        for suffix in (".oci.tar", ".image.json"):
            first = repo.read_bytes(stem.replace("dist/", "dist-a/", 1) + suffix)
            second = repo.read_bytes(stem.replace("dist/", "dist-b/", 1) + suffix)
            assert first == second, stem + suffix


def test_frontend_image_twice_without_cache_is_byte_identical(repo: ScratchRepo) -> None:
    """`pun_frontend_image`: PyInstaller, the system libraries and pun's image writer, all in
    one sandboxed process, give the same bytes again when nothing is reused."""
    repo.write("tools/BUILD", 'pun_frontend_image(name="frontend", image_tags=["{pun.version}"])\n')
    for dist in ("dist-fa", "dist-fb"):
        repo.pants(
            "--no-local-cache", f"--pants-distdir={dist}", "package", "tools:frontend"
        ).check()
    for suffix in (".oci.tar", ".image.json"):
        first = repo.read_bytes(f"dist-fa/tools/frontend{suffix}")
        assert first == repo.read_bytes(f"dist-fb/tools/frontend{suffix}"), suffix
    described = json.loads(repo.read_bytes("dist-fa/tools/frontend.image.json"))
    archive = repo.root / "dist-fa" / "tools" / "frontend.oci.tar"
    inspected = json.loads(run([require("skopeo"), "inspect", f"oci-archive:{archive}"]).stdout)
    assert inspected["Digest"] == described["digest"]


def test_frontend_image_new_names_do_not_freeze_again(repo: ScratchRepo) -> None:
    """Tags and registries only name the archive: with the freeze cached, new names run the
    cheap naming process alone (Pants' own log of the processes it spawned)."""
    repo.write("tools/BUILD", 'pun_frontend_image(name="frontend", image_tags=["{pun.version}"])\n')
    repo.pants("package", "tools:frontend").check()
    # A name no earlier run used: Pants' process cache outlives the scratch repo, so a name
    # from an earlier run of this test would have its naming process answered from the cache.
    address = f"127.0.0.1:{10000 + uuid.uuid4().int % 50000}"
    registries = f"--pun-registries={{'lan': {{'address': '{address}', 'default': True}}}}"
    renamed = repo.pants(registries, "package", "tools:frontend").check()

    freeze = [d for d in renamed.spawned() if d.startswith("Freeze pun ")]
    naming = [d for d in renamed.spawned() if d.startswith("Name the frontend image ")]
    assert (freeze, naming) == ([], ["Name the frontend image tools:frontend"]), renamed.spawned()
    described = json.loads(repo.read_bytes("dist/tools/frontend.image.json"))
    assert described["names"] == [f"{address}/pun:{pun.__version__}"]


def test_package_with_buildctl_gives_the_embedded_builders_image(
    repo: ScratchRepo, buildkit: BuildKit, tmp_path: Path
) -> None:
    """`[pun].builder = "buildctl"` against a real BuildKit (CI starts one): the same manifest
    annotations (exact-case keys), the same config and the same files as the embedded builder."""
    target = "examples/rumprun-redis:redis"
    buildctl_dir = str(Path(buildkit.buildctl).parent)
    env = {"BUILDKIT_HOST": buildkit.host}
    seen = {}
    for builder, dist in (("embedded", "dist-emb"), ("buildctl", "dist-bk")):
        repo.pants(
            f"--pun-builder={builder}",
            f"--buildctl-executable-search-paths=['{buildctl_dir}']",
            f"--pants-distdir={dist}",
            "package",
            target,
            env=env,
        ).check()
        archive = repo.root / (IMAGES[target].replace("dist/", f"{dist}/", 1) + ".oci.tar")
        described = description(repo, target, dist)
        ref = f"oci-archive:{archive}:{described['tags'][0]}"
        skopeo = [require("skopeo"), "inspect"]
        manifest = json.loads(run([*skopeo, "--raw", ref]).stdout)
        config = json.loads(run([*skopeo, "--config", ref]).stdout)
        assert described["digest"] == json.loads(run([*skopeo, ref]).stdout)["Digest"]
        layout = tmp_path / builder
        run([require("skopeo"), "copy", ref, f"oci:{layout}:img"])
        bundle = tmp_path / f"{builder}-bundle"
        run([require("umoci"), "unpack", "--rootless", "--image", f"{layout}:img", str(bundle)])
        seen[builder] = (manifest, config, listing(bundle / "rootfs"))
    (m_e, c_e, f_e), (m_b, c_b, f_b) = seen["embedded"], seen["buildctl"]
    # BuildKit wrote the layers (its tar writer is not pun's, so their digests differ): the
    # option reached the build, and the comparisons below are not of two embedded builds.
    assert [x["digest"] for x in m_b["layers"]] != [x["digest"] for x in m_e["layers"]]
    assert m_b["annotations"] == m_e["annotations"]
    assert m_b["annotations"]["com.urunc.unikernel.unikernelType"] == "rumprun"
    assert {**c_b, "rootfs": None} == {**c_e, "rootfs": None}
    assert len(c_b["rootfs"]["diff_ids"]) == len(c_e["rootfs"]["diff_ids"])
    assert f_b == f_e
