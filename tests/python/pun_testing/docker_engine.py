"""A real Docker Engine (Debian `docker.io`, 20.10, BuildKit inside) for end-to-end tests.

The engine is the one at $DOCKER_HOST (default unix:///var/run/docker.sock); .ci/run starts
one. The client is Debian's /usr/bin/docker with DOCKER_BUILDKIT=1 (a newer CLI earlier on
PATH refuses BuildKit builds without buildx). Missing pieces skip locally and fail under CI
(`pun_testing.tools.unavailable`). Images are judged with skopeo + umoci, not our own code.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

from pun_testing.images import archive_json
from pun_testing.tools import DOCKER, require, unavailable

DEFAULT_HOST = "unix:///var/run/docker.sock"
_PING_TIMEOUT_S = 15.0
_BUILD_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Result:
    code: int
    output: str  # stdout and stderr together, as a user sees `docker build`


@dataclass(frozen=True)
class DockerEngine:
    client: str
    host: str
    server_version: str

    def env(self) -> Dict[str, str]:
        return {**os.environ, "DOCKER_HOST": self.host, "DOCKER_BUILDKIT": "1"}

    def run(
        self,
        *args: str,
        cwd: Optional[Path] = None,
        check: bool = True,
        timeout: float = _BUILD_TIMEOUT_S,
    ) -> Result:
        done = subprocess.run(
            [self.client, *args],
            cwd=cwd,
            env=self.env(),
            timeout=timeout,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        result = Result(done.returncode, done.stdout.decode("utf-8", errors="replace"))
        if check and result.code != 0:
            command = " ".join(args)
            raise AssertionError(f"docker {command} failed ({result.code}):\n{result.output}")
        return result

    def build(self, context: Path, containerfile: str, tag: str, *extra: str) -> Result:
        """`docker build` with plain progress; check `code` and `output` yourself."""
        return self.run(
            "build",
            "--progress=plain",
            "-f",
            containerfile,
            "-t",
            tag,
            *extra,
            str(context),
            cwd=context,
            check=False,
        )

    def inspect(self, image: str) -> Dict[str, Any]:
        data: List[Dict[str, Any]] = json.loads(self.run("image", "inspect", image).output)
        return data[0]

    def remove_image(self, image: str) -> None:
        self.run("image", "rm", "--force", image, check=False)

    def rootfs(self, image: str, workdir: Path) -> Path:
        """The image's root filesystem as its layers make it (skopeo + umoci unpack it)."""
        workdir.mkdir(parents=True, exist_ok=True)
        layout, rootfs = workdir / "layout", workdir / "rootfs"
        skopeo, umoci = require("skopeo"), require("umoci")
        _check(
            [
                skopeo,
                "copy",
                "--quiet",
                "--src-daemon-host",
                self.host,
                f"docker-daemon:{image}",
                f"oci:{layout}:image",
            ]
        )
        _check([umoci, "raw", "unpack", "--image", f"{layout}:image", str(rootfs)])
        return rootfs


def _check(argv: List[str]) -> None:
    done = subprocess.run(argv, capture_output=True, timeout=_BUILD_TIMEOUT_S, check=False)
    if done.returncode != 0:
        raise AssertionError(f"{argv} failed: {done.stderr.decode(errors='replace')}")


def docker_engine() -> DockerEngine:
    """The engine at $DOCKER_HOST, which must be Docker 20.10 or newer, reachable now."""
    client = require(DOCKER)
    host = os.environ.get("DOCKER_HOST") or DEFAULT_HOST
    try:
        done = subprocess.run(
            [client, "version", "--format", "{{.Server.Version}}"],
            env={**os.environ, "DOCKER_HOST": host},
            capture_output=True,
            timeout=_PING_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        unavailable(f"the Docker Engine at {host} does not answer")
        raise
    version = done.stdout.decode().strip()
    if done.returncode != 0 or not version:
        unavailable(
            f"no Docker Engine at {host} (start one: dockerd --iptables=false "
            f"--storage-driver=vfs): {done.stderr.decode(errors='replace').strip()}"
        )
    return DockerEngine(client, host, version)


def push_archive(archive: Path, reference: str) -> None:
    """Copy an OCI archive into a registry on 127.0.0.1 (plain HTTP). An archive whose index
    names the image several times (one entry per tag) is read by its first tag."""
    entries = archive_json(archive, "index.json")["manifests"]
    source = f"oci-archive:{archive}"
    if len(entries) > 1:
        source += ":" + entries[0]["annotations"]["org.opencontainers.image.ref.name"]
    _check(
        [
            require("skopeo"),
            "copy",
            "--quiet",
            "--dest-tls-verify=false",
            source,
            f"docker://{reference}",
        ]
    )


def unique_tag(prefix: str = "t") -> str:
    """A tag never used before: the engine caches what a frontend tag resolved to."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"
