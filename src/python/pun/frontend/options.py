"""Frontend options -> what to build, with the Dockerfile frontend's names and defaults.

`docker build` and `buildctl --opt` pass: `filename` (default `Dockerfile`), `build-arg:<NAME>`,
`label:<KEY>`, `platform` (comma-separated), and `dockerfilekey` to rename the local that holds
the Containerfile (default `dockerfile`). Through `#syntax=` also `source` and `cmdline`.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Dict, Mapping, Tuple

from pun.diagnostics import Diagnostic, error, warning
from pun.platform import InvalidPlatform, Platform, parse_platform

DEFAULT_FILENAME = "Dockerfile"
DOCKERFILE_LOCAL = "dockerfile"
# The original pun read the Containerfile from here; still the fallback.
CONTEXT_LOCAL = "context"
BUILD_ARG_PREFIX = "build-arg:"
LABEL_PREFIX = "label:"
# Options pun understands, or knowingly ignores because they only matter for RUN, stages or
# caching (docker build sends several by default); anything else gets a warning.
_KNOWN = frozenset(
    {
        "filename",
        "dockerfilekey",
        "platform",
        "source",
        "cmdline",
        "contextkey",
        "target",
        "no-cache",
        "image-resolve-mode",
        "multi-platform",
        "frontend.caps",
        "add-hosts",
        "cache-from",
        "cache-imports",
        "cgroup-parent",
        "force-network-mode",
        "hostname",
        "shm-size",
        "ulimit",
        "gateway-devel",
    }
)
_IGNORED_PREFIXES = ("context:", "attest:", "local-sessionid:", "input:", "input-metadata:")
# Diagnostics about options have no file; this names their origin instead.
OPTIONS_ORIGIN = "build options"


@dataclass(frozen=True)
class BuildRequest:
    filename: str = DEFAULT_FILENAME
    # Locals to read the Containerfile from, in order of preference.
    containerfile_locals: Tuple[str, ...] = (DOCKERFILE_LOCAL, CONTEXT_LOCAL)
    build_args: Mapping[str, str] = field(default_factory=dict)
    # Empty: the daemon's default (its first worker's platform).
    platforms: Tuple[Platform, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    notes: Tuple[Diagnostic, ...] = ()


def read_request(opts: Mapping[str, str]) -> BuildRequest:
    filename = opts.get("filename") or DEFAULT_FILENAME
    if posixpath.isabs(filename) or ".." in filename.split("/"):
        raise error(
            f"filename {filename!r} must be a path inside the build context",
            hint="pass the Containerfile's path relative to its directory",
        )
    dockerfile_local = opts.get("dockerfilekey") or DOCKERFILE_LOCAL
    build_args: Dict[str, str] = {}
    labels: Dict[str, str] = {}
    notes = []
    for key, value in sorted(opts.items()):
        if key.startswith(BUILD_ARG_PREFIX):
            build_args[key[len(BUILD_ARG_PREFIX) :]] = value
        elif key.startswith(LABEL_PREFIX):
            labels[key[len(LABEL_PREFIX) :]] = value
        elif key not in _KNOWN and not key.startswith(_IGNORED_PREFIXES):
            notes.append(
                warning(f"frontend option {key!r} is not supported and was ignored", OPTIONS_ORIGIN)
            )
    if opts.get("contextkey", CONTEXT_LOCAL) != CONTEXT_LOCAL:
        notes.append(
            warning(
                "frontend option 'contextkey' is not supported: COPY reads the "
                "local named 'context'",
                OPTIONS_ORIGIN,
            )
        )
    return BuildRequest(
        filename=posixpath.normpath(filename),
        containerfile_locals=tuple(dict.fromkeys((dockerfile_local, CONTEXT_LOCAL))),
        build_args=build_args,
        platforms=_platforms(opts.get("platform", "")),
        labels=labels,
        notes=tuple(notes),
    )


def _platforms(text: str) -> Tuple[Platform, ...]:
    found = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            platform = parse_platform(part)
        except InvalidPlatform as exc:
            raise error(f"platform option: {exc}", hint="use e.g. --platform linux/amd64") from None
        if platform not in found:
            found.append(platform)
    return tuple(found)
