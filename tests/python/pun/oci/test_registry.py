"""Against a real registry (Debian's docker-registry on 127.0.0.1): push, pull a base image the
test pushed first, platform selection, config inheritance, the blob cache, credentials, and a
push cut off midway. skopeo is the independent judge of what the registry holds."""

from __future__ import annotations

import base64
import gc
import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from pun.diagnostics import PunError
from pun.oci.registry.client import RegistryClient
from pun_testing.building import pun_build
from pun_testing.images import multiarch_layout
from pun_testing.registry import Registry, auth_registry, registry, start_registry, stop_registry
from pun_testing.rootfs import listing, writable_copy
from pun_testing.shared import CASES, buildroot
from pun_testing.tools import require, run

__all__ = ["registry", "auth_registry"]  # pytest fixtures, used by name below


def skopeo_inspect(ref: str, raw: bool = False) -> Dict[str, Any]:
    argv = [
        require("skopeo"),
        "inspect",
        "--tls-verify=false",
        *(["--raw"] if raw else []),
        f"docker://{ref}",
    ]
    return json.loads(run(argv).stdout)


def push_case(tmp_path: Path, case: str, name: str, cache: Path) -> Dict[str, Any]:
    context = writable_copy(CASES / case, tmp_path / f"ctx-{case}")
    result = pun_build(
        [
            "--context",
            str(context),
            "--output",
            f"type=image,name={name},push=true",
            "--metadata-file",
            "-",
        ],
        cache,
    )
    assert result.code == 0, result.err
    return json.loads(result.out)


def push_multiarch_base(tmp_path: Path, reg: Registry) -> str:
    layout = multiarch_layout(tmp_path / "base-layout")
    name = f"{reg.host}/bases/multi:1.0"
    run(
        [
            require("skopeo"),
            "copy",
            "--all",
            "--dest-tls-verify=false",
            f"oci:{layout}:1.0",
            f"docker://{name}",
        ]
    )
    return name


def context_from(tmp_path: Path, containerfile: str, files: Dict[str, str]) -> Path:
    context = tmp_path / "ctx"
    context.mkdir(exist_ok=True)
    (context / "Containerfile").write_text(containerfile)
    for name, text in files.items():
        (context / name).write_text(text)
        (context / name).chmod(0o644)
    return context


def test_push_is_what_skopeo_sees(tmp_path: Path, registry: Registry) -> None:
    name = f"{registry.host}/unikernels/redis:1.0"
    meta = push_case(tmp_path, "rumprun-redis", name, tmp_path / "cache")
    info = skopeo_inspect(name)
    assert info["Digest"] == meta["containerimage.digest"]
    assert info["Labels"]["com.urunc.unikernel.unikernelType"] == "rumprun"
    raw = skopeo_inspect(name, raw=True)
    assert raw["annotations"]["com.urunc.unikernel.binary"] == "/unikernel/test-redis.hvt"
    # Pushing the same image again changes nothing (blobs exist, same manifest).
    assert push_case(tmp_path / "again", "rumprun-redis", name, tmp_path / "cache2") == meta


def test_from_an_image_the_test_pushed_first(tmp_path: Path, registry: Registry) -> None:
    base = push_case(
        tmp_path, "rumprun-redis", f"{registry.host}/unikernels/base:1.0", tmp_path / "c1"
    )
    context = writable_copy(CASES / "registry-base", tmp_path / "ctx")
    containerfile = (context / "Containerfile").read_text().replace("127.0.0.1:5000", registry.host)
    (context / "Containerfile").write_text(containerfile)
    dest = tmp_path / "rootfs"
    result = pun_build(
        ["--context", str(context), "--output", f"type=local,dest={dest}"], tmp_path / "c2"
    )
    assert result.code == 0, result.err
    names = [line.split(" ")[0] for line in listing(dest)]
    assert names == [
        "./conf/",
        "./conf/redis.conf",
        "./unikernel/",
        "./unikernel/app.hvt",
        "./unikernel/test-redis.hvt",
        "./urunc.json",
    ]
    archive = tmp_path / "image.tar"
    result = pun_build(
        ["--context", str(context), "--output", f"type=oci,dest={archive}"], tmp_path / "c2"
    )
    assert result.code == 0, result.err
    skopeo = require("skopeo")
    mine = json.loads(run([skopeo, "inspect", f"oci-archive:{archive}"]).stdout)["Layers"]
    theirs = skopeo_inspect(f"{registry.host}/unikernels/base:1.0")["Layers"]
    assert mine[: len(theirs)] == theirs and len(mine) == len(theirs) + 2
    assert base["containerimage.digest"]


@pytest.mark.parametrize("platform, arch", [("linux/amd64", "amd64"), ("linux/arm64", "arm64")])
def test_platform_from_an_index_and_inherited_config(
    tmp_path: Path, registry: Registry, platform: str, arch: str
) -> None:
    base = push_multiarch_base(tmp_path, registry)
    context = context_from(
        tmp_path,
        f"FROM {base}\nCOPY --chown=app:staff app /srv/app\n"
        "LABEL com.urunc.unikernel.binary=/srv/app\n",
        {"app": "binary"},
    )
    archive, dest = tmp_path / "image.tar", tmp_path / "rootfs"
    for output in (f"type=oci,dest={archive}", f"type=local,dest={dest}"):
        result = pun_build(
            ["--context", str(context), "--platform", platform, "--output", output],
            tmp_path / "cache",
        )
        assert result.code == 0, result.err
    config = json.loads(
        run([require("skopeo"), "inspect", "--config", f"oci-archive:{archive}"]).stdout
    )
    assert config["architecture"] == arch
    assert config["config"]["Env"] == ["PATH=/usr/bin:/bin", f"BASE_ARCH={arch}"]
    assert (config["config"]["Entrypoint"], config["config"]["Cmd"]) == (["/init"], ["--serve"])
    assert config["config"]["WorkingDir"] == "/srv"
    assert config["config"]["Labels"] == {
        "base.label": "kept",
        "com.urunc.unikernel.binary": "/srv/app",
    }
    assert len(config["rootfs"]["diff_ids"]) == 4 and len(config["history"]) == 4
    assert (dest / "srv" / "base.txt").read_text() == arch
    assert not (dest / "etc" / "old").exists()  # removed by the base's whiteout
    assert "./srv/ 750" in listing(dest)
    if os.geteuid() == 0:
        st = os.lstat(dest / "srv" / "app")
        assert (st.st_uid, st.st_gid) == (1234, 4321)  # app from /etc/passwd, staff from /etc/group


def test_a_platform_missing_from_the_index_lists_the_choices(
    tmp_path: Path, registry: Registry
) -> None:
    base = push_multiarch_base(tmp_path, registry)
    context = context_from(tmp_path, f"FROM {base}\n", {})
    result = pun_build(
        [
            "--context",
            str(context),
            "--platform",
            "linux/s390x",
            "--output",
            f"type=oci,dest={tmp_path / 'x.tar'}",
        ],
        tmp_path / "cache",
    )
    assert result.code == 1
    assert "no manifest for platform linux/s390x (it has: linux/amd64, linux/arm64)" in result.err


def test_unknown_user_names_are_root_with_a_warning(tmp_path: Path, registry: Registry) -> None:
    # BuildKit v0.32.2 readUser (solver/llbsolver/ops/user_linux.go): a name the image's
    # /etc/passwd or /etc/group lacks leaves the ids as they were; measured with Docker 20.10
    # and BuildKit v0.32.2 on 2026-12-01 (`--chown=nobody` gives 0:0, `--chown=app:nogroup`
    # the user's own gid).
    base = push_multiarch_base(tmp_path, registry)
    text = (
        f"FROM {base}\nCOPY --chown=nobody:staff a /a\nCOPY --chown=app:nogroup a /b\n"
        "USER ghost\nWORKDIR /w\n"  # WORKDIR creates /w owned by USER, as docker
    )
    context = context_from(tmp_path, text, {"a": "x"})
    dest = tmp_path / "out"
    result = pun_build(
        ["--context", str(context), "--output", f"type=local,dest={dest}"], tmp_path / "cache"
    )
    assert result.code == 0, result.err
    assert "Containerfile:2: warning: --chown 'nobody': the image has no user 'nobody'" in (
        result.err
    )
    assert "Containerfile:3: warning: --chown 'nogroup': the image has no group 'nogroup'" in (
        result.err
    )
    assert "Containerfile:5: warning: USER (WORKDIR's owner) 'ghost': the image has no user" in (
        result.err
    )
    if os.geteuid() == 0:
        ids = [(os.lstat(dest / n).st_uid, os.lstat(dest / n).st_gid) for n in ("a", "b", "w")]
        assert ids == [(0, 4321), (1234, 5678), (0, 0)]


def test_a_digest_pinned_base_builds_offline_from_the_cache(tmp_path: Path) -> None:
    reg, process = start_registry(tmp_path / "reg")
    try:
        meta = push_case(
            tmp_path, "rumprun-redis", f"{reg.host}/unikernels/base:1.0", tmp_path / "c1"
        )
        pinned = f"{reg.host}/unikernels/base@{meta['containerimage.digest']}"
        context = context_from(tmp_path, f"FROM {pinned}\nCOPY app /app\n", {"app": "x"})
        first = pun_build(
            [
                "--context",
                str(context),
                "--output",
                f"type=oci,dest={tmp_path / 'a.tar'}",
                "--metadata-file",
                "-",
            ],
            tmp_path / "cache",
        )
        assert first.code == 0, first.err
    finally:
        stop_registry(process)
    second = pun_build(
        [
            "--context",
            str(context),
            "--output",
            f"type=oci,dest={tmp_path / 'b.tar'}",
            "--metadata-file",
            "-",
        ],
        tmp_path / "cache",
    )
    assert second.code == 0, second.err
    assert (
        json.loads(second.out)["containerimage.digest"]
        == json.loads(first.out)["containerimage.digest"]
    )
    third = pun_build(
        ["--context", str(context), "--output", f"type=oci,dest={tmp_path / 'c.tar'}"],
        tmp_path / "empty-cache",
    )
    assert third.code == 1 and f"registry {reg.host} failed" in third.err


def test_concurrent_builds_share_one_cache(tmp_path: Path, registry: Registry) -> None:
    base = push_multiarch_base(tmp_path, registry)
    context = context_from(tmp_path, f"FROM {base}\nCOPY app /app\n", {"app": "x"})
    env = {
        **os.environ,
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "PYTHONPATH": os.pathsep.join([str(buildroot() / "src" / "python"), *sys.path]),
    }
    env.pop("BUILDKIT_HOST", None)
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pun.cli.main",
                "build",
                "--context",
                str(context),
                "--output",
                f"type=oci,dest={tmp_path / f'{i}.tar'}",
                "--metadata-file",
                "-",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i in range(3)
    ]
    outputs = [p.communicate(timeout=300) for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], [e.decode() for _, e in outputs]
    digests = {json.loads(out)["containerimage.digest"] for out, _ in outputs}
    assert len(digests) == 1
    assert not os.listdir(tmp_path / "cache" / "pun" / "tmp")  # no half-written blobs left


def write_docker_config(directory: Path, host: str, user: str, password: str) -> Path:
    directory.mkdir()
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    (directory / "config.json").write_text(json.dumps({"auths": {host: {"auth": token}}}))
    return directory


def test_credentials_come_from_the_docker_config(tmp_path: Path, auth_registry: Registry) -> None:
    context = writable_copy(CASES / "scratch-single", tmp_path / "ctx")
    name = f"{auth_registry.host}/private/app:1"
    argv = ["--context", str(context), "--output", f"type=image,name={name},push=true"]
    denied = pun_build(argv, tmp_path / "cache", {"DOCKER_CONFIG": str(tmp_path / "none")})
    assert denied.code == 1 and f"docker login {auth_registry.host}" in denied.err
    config = write_docker_config(tmp_path / "docker", auth_registry.host, "pun", "s3cret")
    allowed = pun_build(argv, tmp_path / "cache", {"DOCKER_CONFIG": str(config)})
    assert allowed.code == 0, allowed.err
    info = json.loads(
        run(
            [
                require("skopeo"),
                "inspect",
                "--tls-verify=false",
                "--creds",
                "pun:s3cret",
                f"docker://{name}",
            ]
        ).stdout
    )
    assert info["Name"] == f"{auth_registry.host}/private/app"


class CuttingProxy:
    """Forwards TCP to the registry, but drops any connection that sends more than `limit` bytes
    (a blob upload), as a dying network would."""

    def __init__(self, target: str, limit: int) -> None:
        self.target = target
        self.limit = limit
        self.cut = threading.Event()
        self._server = socket.socket()
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(16)
        self._server.settimeout(0.2)
        self.host = f"127.0.0.1:{self._server.getsockname()[1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except socket.timeout:
                continue
            host, port = self.target.split(":")
            upstream = socket.create_connection((host, int(port)), timeout=30)
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, counted: bool) -> None:
        sent = 0
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sent += len(data)
                if counted and sent > self.limit:
                    self.cut.set()
                    break
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._server.close()


@pytest.fixture
def cutting_proxy(registry: Registry) -> Iterator[CuttingProxy]:
    proxy = CuttingProxy(registry.host, limit=256 * 1024)
    try:
        yield proxy
    finally:
        proxy.close()


def test_an_interrupted_push_leaves_no_manifest(
    tmp_path: Path, registry: Registry, cutting_proxy: CuttingProxy
) -> None:
    context = context_from(tmp_path, "FROM scratch\nCOPY big /big\n", {})
    (context / "big").write_bytes(os.urandom(2 * 1024 * 1024))  # incompressible: a big upload
    name = f"{cutting_proxy.host}/unikernels/cut:1.0"
    result = pun_build(
        ["--context", str(context), "--output", f"type=image,name={name},push=true"],
        tmp_path / "cache",
    )
    assert result.code == 1
    assert cutting_proxy.cut.is_set()
    assert f"registry {cutting_proxy.host}" in result.err
    for reference in ("1.0",):
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(
                f"{registry.url}/v2/unikernels/cut/manifests/{reference}", timeout=10
            )
        assert caught.value.code == 404
    tags: List[str] = []
    try:
        with urllib.request.urlopen(
            f"{registry.url}/v2/unikernels/cut/tags/list", timeout=10
        ) as answer:
            tags = json.loads(answer.read()).get("tags") or []
    except urllib.error.HTTPError as exc:
        assert exc.code == 404
    assert tags == []


def open_descriptors_of(path: Path) -> List[str]:
    """This process's file descriptors open on `path` (from /proc, not from our own code)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == str(path):
                found.append(fd)
        except OSError:
            pass  # closed while we looked
    return found


def test_an_upload_cut_midway_closes_the_blob_file(
    tmp_path: Path, cutting_proxy: CuttingProxy
) -> None:
    blob = tmp_path / "blob"
    data = os.urandom(2 * 1024 * 1024)
    blob.write_bytes(data)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    client = RegistryClient(cutting_proxy.host, "unikernels/cut", push=True, insecure=True)
    with warnings.catch_warnings(record=True) as caught:
        # A file left to the garbage collector is closed there, with a ResourceWarning.
        warnings.simplefilter("always", ResourceWarning)
        with pytest.raises(PunError):
            client.upload_blob(digest, len(data), str(blob))
        assert open_descriptors_of(blob) == []
        gc.collect()
    assert cutting_proxy.cut.is_set()
    assert [
        str(w.message)
        for w in caught
        if issubclass(w.category, ResourceWarning) and str(blob) in str(w.message)
    ] == []
