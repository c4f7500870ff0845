"""The embedded builder and the buildctl builder make the same image from the same Containerfile:
the same config, the same manifest annotations (keys in their exact case), the same index and
the same files (paths, types, modes, owners, contents, link targets). Only the bytes of the
layers the build made may differ (two tar writers), so only their digests and diff_ids do.

Each case runs against a real BuildKit (required in CI: .ci/run starts one) and against the
fake buildctl that answers as BuildKit does (lower-cased `--output` keys, a raw-LLB config
without Labels). skopeo reads the archives and the registry, umoci unpacks the file trees.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from pun_testing import fake_buildctl as fake
from pun_testing.building import pun_build
from pun_testing.buildkit import BuildKit, buildkit
from pun_testing.images import multiarch_layout
from pun_testing.registry import Registry, push_layout, start_registry, stop_registry
from pun_testing.rootfs import writable_copy
from pun_testing.shared import CASES
from pun_testing.tools import require, run

__all__ = ["buildkit"]  # pytest fixture, used by name below

EPOCH = "1700000000"
MIXED_CASE_LABELS = (
    "LABEL com.urunc.unikernel.unikernelType=unikraft com.urunc.unikernel.hypervisor=qemu\n"
    "LABEL com.urunc.unikernel.binary=/srv/app com.urunc.unikernel.useDMBlock=false\n"
    'LABEL "Org.Example.MixedCase"="a, b and \\"c\\""\n'
)


@pytest.fixture(scope="module")
def base_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A registry holding `base:1.0`: a two-arch index whose images have Env, Cmd,
    Entrypoint, WorkingDir, Labels, history, a whiteout, and files owned by 0:0."""
    work = tmp_path_factory.mktemp("base")
    registry: Registry
    registry, process = start_registry(work / "registry")
    try:
        layout = multiarch_layout(work / "layout")
        push_layout(layout, f"{registry.host}/base:1.0")
        yield registry.host
    finally:
        stop_registry(process)


def fixture_case(name: str, dest: Path) -> Path:
    context = writable_copy(CASES / name, dest)
    for extra in ("expected", "reference-pun.dump.jsonl"):
        path = context / extra
        if path.is_dir():
            for root, dirs, files in os.walk(path, topdown=False):
                for entry in files:
                    os.unlink(os.path.join(root, entry))
                for entry in dirs:
                    os.rmdir(os.path.join(root, entry))
            path.rmdir()
    return context


def tree_case(dest: Path, base: str) -> Path:
    """A context with nested folders, an executable, a symlink inside a copied folder, and a
    Containerfile over a registry base with --chmod/--chown and mixed-case label keys."""
    (dest / "app" / "conf" / "deep").mkdir(parents=True)
    (dest / "app" / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (dest / "app" / "run.sh").chmod(0o755)
    (dest / "app" / "conf" / "a.conf").write_text("a=1\n")
    (dest / "app" / "conf" / "deep" / "b.conf").write_text("b=2\n")
    os.symlink("conf/a.conf", dest / "app" / "current.conf")
    (dest / "kernel").write_bytes(bytes(range(256)) * 64)
    (dest / "Containerfile").write_text(
        f"FROM {base}\n"
        "COPY app /srv/\n"
        "COPY --chmod=700 --chown=1234:5678 kernel /srv/app\n"
        "COPY app/conf /etc/app/\n" + MIXED_CASE_LABELS
    )
    return dest


CASE_NAMES = ("rumprun-redis", "copy-into-dir", "label-forms", "over-a-registry-base")


def make_case(name: str, tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    if name == "over-a-registry-base":
        host = request.getfixturevalue("base_registry")
        return tree_case(tmp_path / "ctx", f"{host}/base:1.0")
    return fixture_case(name, tmp_path / "ctx")


@pytest.fixture(params=["real-buildkit", "fake-buildctl"])
def buildctl_env(request: pytest.FixtureRequest, tmp_path: Path) -> Dict[str, str]:
    """The environment and flags that make `pun build --builder buildctl` use one of them."""
    if getattr(request, "param") == "real-buildkit":
        real: BuildKit = request.getfixturevalue("buildkit")
        return {"BUILDKIT_HOST": real.host, "buildctl": real.buildctl}
    script = fake.install(tmp_path / "fake-bin")
    return {"BUILDKIT_HOST": "tcp://127.0.0.1:1", "buildctl": str(script)}


def build_with(
    builder: str, context: Path, output: str, cache: Path, buildctl_env: Dict[str, str]
) -> Dict[str, Any]:
    argv = [
        "--context",
        str(context),
        "--output",
        output,
        "--builder",
        builder,
        "--source-date-epoch",
        EPOCH,
        "--progress",
        "quiet",
        "--metadata-file",
        "-",
    ]
    env = {}
    if builder == "buildctl":
        argv += ["--buildctl", buildctl_env["buildctl"]]
        env["BUILDKIT_HOST"] = buildctl_env["BUILDKIT_HOST"]
    result = pun_build(argv, cache, {**env})
    assert result.code == 0, f"{builder}: {result.err}"
    return dict(json.loads(result.out))


def skopeo_json(*args: str) -> Dict[str, Any]:
    return dict(json.loads(run([require("skopeo"), *args]).stdout))


def archive_index(archive: Path) -> Dict[str, Any]:
    import tarfile

    with tarfile.open(archive) as tar:
        handle = tar.extractfile("index.json")
        assert handle is not None
        return dict(json.load(handle))


def own_layers(config: Dict[str, Any], base_layers: int) -> Tuple[Dict[str, Any], List[str]]:
    """The config with this build's diff_ids taken out (and returned apart)."""
    diff_ids = config["rootfs"]["diff_ids"]
    rest = {**config, "rootfs": {**config["rootfs"], "diff_ids": diff_ids[:base_layers]}}
    return rest, diff_ids[base_layers:]


def files_of(transport: str, tmp: Path) -> List[Tuple[Any, ...]]:
    """Every entry of the unpacked image: path, type, mode, owner, content hash, link target."""
    layout = tmp / "layout"
    tmp.mkdir(parents=True, exist_ok=True)
    run(
        [
            require("skopeo"),
            "copy",
            "--quiet",
            "--src-tls-verify=false",
            transport,
            f"oci:{layout}:x",
        ]
    )
    rootless = [] if os.geteuid() == 0 else ["--rootless"]
    run([require("umoci"), "unpack", *rootless, "--image", f"{layout}:x", str(tmp / "bundle")])
    root = tmp / "bundle" / "rootfs"
    entries = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            path = Path(dirpath) / name
            st = os.lstat(path)
            content = link = ""
            if stat.S_ISREG(st.st_mode):
                content = hashlib.sha256(path.read_bytes()).hexdigest()
            elif stat.S_ISLNK(st.st_mode):
                link = os.readlink(path)
            owner = (st.st_uid, st.st_gid) if not rootless else ()
            entries.append(
                (
                    str(path.relative_to(root)),
                    stat.S_IFMT(st.st_mode),
                    stat.S_IMODE(st.st_mode),
                    owner,
                    content,
                    link,
                )
            )
    return sorted(entries)


def base_layer_count(name: str) -> int:
    return 2 if name == "over-a-registry-base" else 0


@pytest.mark.parametrize("case", CASE_NAMES)
def test_oci_archives_agree(
    case: str, buildctl_env: Dict[str, str], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    context = make_case(case, tmp_path, request)
    archives = {b: tmp_path / f"{b}.oci.tar" for b in ("embedded", "buildctl")}
    reported = {
        b: build_with(
            b,
            context,
            f"type=oci,dest={archives[b]},name=unikernels/x:1",
            tmp_path / "cache",
            buildctl_env,
        )
        for b in archives
    }
    manifests, configs, indexes, files = {}, {}, {}, {}
    for builder, archive in archives.items():
        transport = f"oci-archive:{archive}"
        manifests[builder] = skopeo_json("inspect", "--raw", transport)
        configs[builder] = skopeo_json("inspect", "--config", transport)
        indexes[builder] = archive_index(archive)
        files[builder] = files_of(transport, tmp_path / builder)
        listed = indexes[builder]["manifests"][0]["digest"]
        assert reported[builder]["containerimage.digest"] == listed
    below = base_layer_count(case)
    embedded, buildctl = manifests["embedded"], manifests["buildctl"]
    assert buildctl["annotations"] == embedded["annotations"]
    assert any(k != k.lower() for k in buildctl["annotations"])  # the case survived
    assert buildctl["annotations"] == configs["buildctl"]["config"]["Labels"] or case == (
        "over-a-registry-base"
    )  # the base's label is inherited into Labels, not annotations
    assert buildctl["config"]["mediaType"] == embedded["config"]["mediaType"]
    assert buildctl["layers"][:below] == embedded["layers"][:below]  # the base's own blobs
    media_types = [[x["mediaType"] for x in m["layers"]] for m in (buildctl, embedded)]
    assert media_types[0] == media_types[1]
    config_e, layers_e = own_layers(configs["embedded"], below)
    config_b, layers_b = own_layers(configs["buildctl"], below)
    assert config_b == config_e
    assert len(layers_b) == len(layers_e) > 0

    def strip(index: Dict[str, Any]) -> List[Dict[str, Any]]:
        return [
            {k: v for k, v in m.items() if k not in ("digest", "size")} for m in index["manifests"]
        ]

    assert strip(indexes["buildctl"]) == strip(indexes["embedded"])
    assert indexes["buildctl"]["manifests"][0]["annotations"]["io.containerd.image.name"] == (
        "docker.io/unikernels/x:1"
    )
    assert files["buildctl"] == files["embedded"]
    assert any(entry[0] == "urunc.json" for entry in files["buildctl"])


def test_pushed_images_agree(
    buildctl_env: Dict[str, str], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    context = make_case("over-a-registry-base", tmp_path, request)
    host = request.getfixturevalue("base_registry")
    seen = {}
    for builder in ("embedded", "buildctl"):
        name = f"{host}/pushed/{builder}:1"
        reported = build_with(
            builder, context, f"type=image,name={name},push=true", tmp_path / "cache", buildctl_env
        )
        transport = f"docker://{name}"
        manifest = skopeo_json("inspect", "--raw", "--tls-verify=false", transport)
        config = skopeo_json("inspect", "--config", "--tls-verify=false", transport)
        digest = skopeo_json("inspect", "--tls-verify=false", transport)["Digest"]
        assert reported["containerimage.digest"] == digest
        seen[builder] = (
            manifest,
            own_layers(config, 2)[0],
            files_of(transport, tmp_path / builder),
        )
    (m_e, c_e, f_e), (m_b, c_b, f_b) = seen["embedded"], seen["buildctl"]
    assert m_b["annotations"] == m_e["annotations"]
    assert "Org.Example.MixedCase" in m_b["annotations"]
    assert m_b["layers"][:2] == m_e["layers"][:2]
    assert c_b == c_e
    assert c_b["config"]["Entrypoint"] == ["/init"]  # inherited from the base, by one rule
    assert f_b == f_e


def test_docker_archives_agree(
    buildctl_env: Dict[str, str], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    context = make_case("over-a-registry-base", tmp_path, request)
    seen = {}
    for builder in ("embedded", "buildctl"):
        archive = tmp_path / f"{builder}.docker.tar"
        build_with(
            builder,
            context,
            f"type=docker,dest={archive},name=unikernels/d:1",
            tmp_path / "cache",
            buildctl_env,
        )
        transport = f"docker-archive:{archive}"
        manifest = skopeo_json("inspect", "--raw", transport)
        config = skopeo_json("inspect", "--config", transport)
        seen[builder] = (manifest, own_layers(config, 2)[0])
        assert {x["mediaType"] for x in manifest["layers"]} == {
            "application/vnd.docker.image.rootfs.diff.tar.gzip"
        }
    assert seen["buildctl"][1] == seen["embedded"][1]
    assert seen["buildctl"][0]["layers"][:2] == seen["embedded"][0]["layers"][:2]


def local_tree(root: Path) -> List[Tuple[Any, ...]]:
    """Every entry of a type=local output, the destination itself included (as `.`)."""
    paths = [root]
    for dirpath, dirnames, filenames in os.walk(root):
        paths += [Path(dirpath) / name for name in dirnames + filenames]
    entries = []
    for path in paths:
        st = os.lstat(path)
        content = link = ""
        if stat.S_ISREG(st.st_mode):
            content = hashlib.sha256(path.read_bytes()).hexdigest()
        elif stat.S_ISLNK(st.st_mode):
            link = os.readlink(path)
        entries.append(
            (
                str(path.relative_to(root)),
                stat.S_IFMT(st.st_mode),
                stat.S_IMODE(st.st_mode),
                (st.st_uid, st.st_gid) if os.geteuid() == 0 else (),
                content,
                link,
            )
        )
    return sorted(entries)


@pytest.mark.parametrize("case", CASE_NAMES)
def test_local_trees_agree(
    case: str, buildctl_env: Dict[str, str], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    context = make_case(case, tmp_path, request)
    trees = {}
    for builder in ("embedded", "buildctl"):
        dest = tmp_path / f"{builder}.rootfs"
        build_with(builder, context, f"type=local,dest={dest}", tmp_path / "cache", buildctl_env)
        trees[builder] = local_tree(dest)
    # BuildKit's client writes every entry as the caller's user (session/filesync/diffcopy.go
    # syncTargetDiffCopy); the embedded builder keeps the image's owners when run as root.
    caller = (os.getuid(), os.getgid()) if os.geteuid() == 0 else ()
    assert {entry[3] for entry in trees["buildctl"]} == {caller}

    def without_owners(tree: List[Tuple[Any, ...]]) -> List[Tuple[Any, ...]]:
        return [entry[:3] + entry[4:] for entry in tree]

    assert without_owners(trees["buildctl"]) == without_owners(trees["embedded"])
    # The destination itself is a directory as `buildctl --output type=local` makes it
    # (client/solve.go: os.MkdirAll(dest, 0755)), not a private temporary directory.
    assert trees["buildctl"][0][:3] == (".", stat.S_IFDIR, 0o755)
    assert any(entry[0] == "urunc.json" for entry in trees["buildctl"])
