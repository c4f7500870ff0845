"""External judges (skopeo, umoci, docker, docker-registry): find them, or skip — never in CI.

Locally a missing tool skips the test with the reason. Under CI=true a missing tool fails the
test instead, because .ci/run installs and starts all of them: a skip there would hide a hole.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any, Dict, List, Optional

import pytest

# Debian's docker 20.10 client; a newer CLI earlier on PATH refuses BuildKit builds.
DOCKER = "/usr/bin/docker"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(reason: str) -> None:
    if in_ci():
        pytest.fail(f"{reason} (CI must provide it: see .ci/run)")
    pytest.skip(reason)


def require(program: str) -> str:
    found = (
        shutil.which(program)
        if not os.path.isabs(program)
        else (program if os.path.exists(program) else None)
    )
    if found is None:
        unavailable(f"{program} is not installed (apt-get install {debian_package(program)})")
    assert found is not None
    return found


def debian_package(program: str) -> str:
    return {"docker-registry": "docker-registry", DOCKER: "docker.io"}.get(program, program)


def run(
    argv: List[str], env: Optional[Dict[str, str]] = None, timeout: float = 300, check: bool = True
) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, capture_output=True, env=env, timeout=timeout, check=False)
    if check and done.returncode != 0:
        raise AssertionError(
            f"{argv} failed ({done.returncode}):\n{done.stdout.decode()}\n{done.stderr.decode()}"
        )
    return done


def skopeo_inspect(ref: str, *flags: str) -> Dict[str, Any]:
    """`skopeo inspect FLAGS REF` (an independent reader of images and registries) as JSON:
    `--config` for the image config, `--raw` for the manifest or index."""
    value: Dict[str, Any] = json.loads(run([require("skopeo"), "inspect", *flags, ref]).stdout)
    return value


def docker_env() -> Dict[str, str]:
    return {**os.environ, "DOCKER_BUILDKIT": "1"}


def require_docker() -> str:
    docker = require(DOCKER)
    done = run(
        [docker, "info", "--format", "{{.ServerVersion}}"],
        env=docker_env(),
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        unavailable(
            "the Docker daemon is not running (start it: dockerd --iptables=false "
            "--storage-driver=vfs &)"
        )
    return docker
