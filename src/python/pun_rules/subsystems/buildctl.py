"""`[buildctl]`: BuildKit's client, for `[pun].builder = "buildctl"`.

Downloaded from BuildKit's GitHub releases when `known_versions` pins the configured version
for this platform; otherwise looked up on `executable_search_paths` (a directory, or the file).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, List

from pants.core.util_rules.external_tool import (
    DownloadedExternalTool,
    ExternalToolRequest,
    TemplatedExternalTool,
)
from pants.core.util_rules.search_paths import ExecutableSearchPathsOptionMixin
from pants.core.util_rules.system_binaries import BinaryPathRequest, BinaryPaths, BinaryPathTest
from pants.engine.fs import Digest
from pants.engine.internals.native_engine import EMPTY_DIGEST
from pants.engine.platform import Platform
from pants.engine.rules import Get, collect_rules, rule
from pants.option.subsystem import Subsystem
from pants.util.strutil import softwrap


class BuildctlTool(TemplatedExternalTool):
    options_scope = "buildctl"
    name = "buildctl"
    help = softwrap(
        """
        BuildKit's `buildctl`, used when `[pun].builder = "buildctl"`.

        No checksum ships with pun, so by default `buildctl` is looked up on
        `executable_search_paths`. To have Pants download and verify a release instead, add its
        sha256 and size for your platform to `known_versions`, e.g. for v0.16.0 on Linux:
        `curl -L <url> | tee >(wc -c) >(sha256sum) >/dev/null` with the URL from
        `url_template`, then
        `known_versions = ["0.16.0|linux_x86_64|<sha256>|<size>"]`.
        """
    )

    default_version = "0.16.0"
    default_known_versions: List[str] = []
    default_url_template = (
        "https://github.com/moby/buildkit/releases/download/v{version}/"
        "buildkit-v{version}.{platform}.tar.gz"
    )
    default_url_platform_mapping = {
        "linux_arm64": "linux-arm64",
        "linux_x86_64": "linux-amd64",
        "macos_arm64": "darwin-arm64",
        "macos_x86_64": "darwin-amd64",
    }

    class EnvironmentAware(ExecutableSearchPathsOptionMixin, Subsystem.EnvironmentAware):
        executable_search_paths_help = softwrap(
            """
            Where to look for `buildctl` when `known_versions` has no entry for the configured
            version and platform: directories, or the path of the `buildctl` file itself.
            """
        )

    def generate_exe(self, plat: Platform) -> str:
        return "./bin/buildctl"

    def pins(self, plat: Platform) -> bool:
        """Is there a `known_versions` entry (a checksum) for this version and platform?"""
        for known in self.known_versions:
            version, platform, *_ = (part.strip() for part in known.split("|"))
            if version == self.version and platform == plat.value:
                return True
        return False


@dataclass(frozen=True)
class BuildctlBinary:
    """`exe` is a path inside `digest` (downloaded), or an absolute path (found locally)."""

    exe: str
    digest: Digest
    fingerprint: str


@dataclass(frozen=True)
class BuildctlBinaryRequest:
    pass


class BuildctlNotFound(Exception):
    pass


@rule(desc="Find buildctl")
async def find_buildctl(
    _: BuildctlBinaryRequest,
    tool: BuildctlTool,
    env_tool: BuildctlTool.EnvironmentAware,
    platform: Platform,
) -> BuildctlBinary:
    if tool.pins(platform):
        downloaded = await Get(
            DownloadedExternalTool, ExternalToolRequest, tool.get_request(platform)
        )
        return BuildctlBinary(downloaded.exe, downloaded.digest, tool.version)
    request = BinaryPathRequest(
        binary_name="buildctl",
        search_path=env_tool.executable_search_path,
        check_file_entries=True,
        test=BinaryPathTest(["--version"]),
    )
    found = (await Get(BinaryPaths, BinaryPathRequest, request)).first_path
    if found is None:
        raise BuildctlNotFound(
            softwrap(
                f"""
                `[pun].builder = "buildctl"` needs BuildKit's buildctl, and none was found:
                `[buildctl].known_versions` has no checksum for version {tool.version} on
                {platform.value}, and no working `buildctl` is on
                `[buildctl].executable_search_paths`
                ({", ".join(env_tool.executable_search_path) or "empty"}).
                Install buildctl and put it on the PATH, point
                `[buildctl].executable_search_paths` at it, or pin a release in
                `[buildctl].known_versions` (see `pants help-advanced buildctl`). Or build without
                a daemon: `[pun].builder = "embedded"`.
                """
            )
        )
    return BuildctlBinary(found.path, EMPTY_DIGEST, found.fingerprint)


def rules() -> Iterable[Any]:
    return [*collect_rules(), *BuildctlTool.rules()]
