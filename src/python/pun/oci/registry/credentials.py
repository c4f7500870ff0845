"""Registry credentials from Docker's client config (`~/.docker/config.json`, or $DOCKER_CONFIG).

Looks in `auths` (base64 `auth`, or `username`/`password`), then `credHelpers[host]`, then
`credsStore`, running `docker-credential-<helper> get` like the docker CLI does.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from dataclasses import dataclass
from typing import Any, Dict, Optional

from pun.diagnostics import error

DOCKER_HUB_KEYS = (
    "https://index.docker.io/v1/",
    "index.docker.io",
    "docker.io",
    "registry-1.docker.io",
)
HELPER_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str


def config_path() -> str:
    directory = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    return os.path.join(directory, "config.json")


def _load_config(path: str) -> Dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            value = json.loads(handle.read().decode("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise error(
            f"cannot read registry credentials from {path}: {exc}",
            hint="fix the JSON or point DOCKER_CONFIG at another directory",
        ) from None
    return value if isinstance(value, dict) else {}


def _keys(domain: str) -> tuple:
    if domain == "docker.io":
        return DOCKER_HUB_KEYS
    return (domain, f"https://{domain}", f"http://{domain}", f"https://{domain}/v1/")


def lookup(domain: str, path: Optional[str] = None) -> Optional[Credentials]:
    """Credentials for registry `domain` (as in an image reference), or None for anonymous."""
    path = path or config_path()
    config = _load_config(path)
    auths = config.get("auths") or {}
    for key in _keys(domain):
        entry = auths.get(key)
        if not isinstance(entry, dict):
            continue
        if entry.get("auth"):
            try:
                user, _, password = base64.b64decode(entry["auth"]).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                raise error(
                    f"{path}: the `auth` entry for {key} is not base64 user:password",
                    hint="run `docker login` again",
                ) from None
            return Credentials(user, password)
        if entry.get("username"):
            return Credentials(entry["username"], entry.get("password", ""))
    helpers = config.get("credHelpers") or {}
    for key in _keys(domain):
        if key in helpers:
            return _from_helper(helpers[key], key, path)
    if config.get("credsStore"):
        return _from_helper(config["credsStore"], _keys(domain)[0], path)
    return None


def _from_helper(helper: str, server: str, config: str) -> Optional[Credentials]:
    program = f"docker-credential-{helper}"
    try:
        done = subprocess.run(
            [program, "get"],
            input=server.encode("utf-8"),
            capture_output=True,
            timeout=HELPER_TIMEOUT_SECONDS,
            check=False,
        )
    except FileNotFoundError:
        raise error(
            f"credential helper {program} (from {config}) is not installed",
            hint=f"install {program} or remove it from the docker config",
        ) from None
    except subprocess.TimeoutExpired:
        raise error(
            f"credential helper {program} did not answer in {HELPER_TIMEOUT_SECONDS}s"
        ) from None
    if done.returncode != 0:
        # Helpers exit non-zero with "credentials not found" for unknown servers: anonymous.
        return None
    try:
        payload = json.loads(done.stdout.decode("utf-8"))
        return Credentials(payload["Username"], payload["Secret"])
    except (ValueError, KeyError, UnicodeDecodeError):
        raise error(
            f"credential helper {program} printed something that is not credentials"
        ) from None
