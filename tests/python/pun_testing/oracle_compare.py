"""What the oracle test compares, and how a difference is shown.

An `Outcome` is what one builder made of one case: the root filesystem as a table (path ->
kind, mode, owner, content digest or link target) and the image config fields `docker image
inspect` and the OCI config share — or the error, when the build failed. Two outcomes are
equal when both failed, or both built the same files and fields. `/urunc.json` is left out:
pun adds it on purpose, docker never does.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import stat
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Dict, List, Mapping, Optional, Tuple

# The image config fields compared (OCI image-spec `config`, as docker inspect also shows
# them; ArgsEscaped too: Docker 20.10 and BuildKit v0.32.2 set it for CMD, never for
# ENTRYPOINT). Not compared: docker's container-only fields (Hostname, Tty, ...).
CONFIG_FIELDS = (
    "ArgsEscaped",
    "User",
    "ExposedPorts",
    "Env",
    "Entrypoint",
    "Cmd",
    "Volumes",
    "WorkingDir",
    "Labels",
    "StopSignal",
    "OnBuild",
    "Shell",
)
PUN_ONLY_PATHS = frozenset({"urunc.json"})

FileRow = Tuple[str, str, int, int, str]  # kind, mode (octal), uid, gid, digest or target


@dataclass(frozen=True)
class Outcome:
    builder: str
    files: Mapping[str, FileRow] = field(default_factory=dict)
    config: Mapping[str, Any] = field(default_factory=dict)
    platform: Tuple[str, str] = ("", "")
    error: Optional[str] = None  # the build's output when it failed
    log: str = ""  # the builder's warnings, for the failure report

    @property
    def failed(self) -> bool:
        return self.error is not None


def snapshot(root: Path, skip: frozenset = frozenset()) -> Dict[str, FileRow]:
    """Every entry below root (not root itself), by path relative to it."""
    rows: Dict[str, FileRow] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            relative = str(path.relative_to(root))
            if relative in skip:
                continue
            info = os.lstat(path)
            mode = format(stat.S_IMODE(info.st_mode), "04o")
            if stat.S_ISDIR(info.st_mode):
                rows[relative] = ("dir", mode, info.st_uid, info.st_gid, "")
            elif stat.S_ISLNK(info.st_mode):
                rows[relative] = ("link", "", info.st_uid, info.st_gid, os.readlink(path))
            elif stat.S_ISREG(info.st_mode):
                rows[relative] = ("file", mode, info.st_uid, info.st_gid, _digest(path))
            else:
                rows[relative] = ("other", mode, info.st_uid, info.st_gid, "")
    return rows


def tar_snapshot(archive: Path, skip: frozenset = frozenset()) -> Dict[str, FileRow]:
    """The same table from a root filesystem tar (`docker build --output type=tar`: unlike
    Docker 20.10's `type=local`, which writes every file as the client's user, it keeps the
    owners), read with the standard library's tarfile."""
    rows: Dict[str, FileRow] = {}
    with tarfile.open(archive) as tar:
        for member in tar:
            relative = os.path.normpath(member.name).strip("/")
            if relative in ("", ".") or relative in skip:
                continue
            mode = format(stat.S_IMODE(member.mode), "04o")
            if member.isdir():
                rows[relative] = ("dir", mode, member.uid, member.gid, "")
            elif member.issym():
                rows[relative] = ("link", "", member.uid, member.gid, member.linkname)
            elif member.isfile():
                handle = tar.extractfile(member)
                assert handle is not None
                rows[relative] = (
                    "file",
                    mode,
                    member.uid,
                    member.gid,
                    _digest_stream(handle, member.size),
                )
            else:
                rows[relative] = ("other", mode, member.uid, member.gid, "")
    return rows


def _digest(path: Path) -> str:
    with open(path, "rb") as handle:
        return _digest_stream(handle, os.path.getsize(path))


def _digest_stream(handle: IO[bytes], size: int) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: handle.read(1 << 20), b""):
        digest.update(chunk)
    return f"{size}b:{digest.hexdigest()[:12]}"


def config_fields(config: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """The compared fields, with absent, null and empty maps treated alike (docker inspect
    writes `"Labels": null`, an OCI config omits the key)."""
    picked: Dict[str, Any] = {}
    for key in CONFIG_FIELDS:
        value = (config or {}).get(key)
        if value is None or value == {} or value == "":
            continue
        picked[key] = value
    return picked


def row_text(path: str, row: FileRow) -> str:
    kind, mode, uid, gid, what = row
    if kind == "link":
        return f"/{path}  link {uid}:{gid} -> {what}"
    return f"/{path}  {kind} {mode} {uid}:{gid} {what}".rstrip()


def listing(files: Mapping[str, FileRow]) -> List[str]:
    return [row_text(path, files[path]) for path in sorted(files)]


# A known difference between two oracles, with the rule that explains it: it says whether a
# pair of rows (expected, actual) at a path is that difference.
Excuse = Callable[[str, Optional[FileRow], Optional[FileRow]], bool]


def differences(expected: Outcome, actual: Outcome, excused: Optional[Excuse] = None) -> List[str]:
    """Human-readable differences; empty when the outcomes agree."""
    if expected.failed or actual.failed:
        if expected.failed and actual.failed:
            return []
        failed = expected if expected.failed else actual
        other = actual if expected.failed else expected
        return [
            f"{failed.builder} failed and {other.builder} built:\n" f"{_indent(failed.error or '')}"
        ]
    found: List[str] = []
    paths = sorted(set(expected.files) | set(actual.files))
    changed = [
        p
        for p in paths
        if expected.files.get(p) != actual.files.get(p)
        and not (excused and excused(p, expected.files.get(p), actual.files.get(p)))
    ]
    if changed:
        lines = [f"files ({expected.builder} -> {actual.builder}):"]
        for path in changed:
            if path in expected.files:
                lines.append(f"  - {row_text(path, expected.files[path])}")
            if path in actual.files:
                lines.append(f"  + {row_text(path, actual.files[path])}")
        found.append("\n".join(lines))
    for key in CONFIG_FIELDS:
        want, got = expected.config.get(key), actual.config.get(key)
        if want != got:
            found.append(
                f"config {key}: {expected.builder} {json.dumps(want)}, "
                f"{actual.builder} {json.dumps(got)}"
            )
    if expected.platform != actual.platform:
        found.append(
            f"platform: {expected.builder} {expected.platform}, "
            f"{actual.builder} {actual.platform}"
        )
    return found


def unified(expected: Outcome, actual: Outcome) -> str:
    """The whole file listing of both, as a unified diff (for the failure report)."""
    return "\n".join(
        difflib.unified_diff(
            listing(expected.files),
            listing(actual.files),
            expected.builder,
            actual.builder,
            lineterm="",
            n=2,
        )
    )


def _indent(text: str, limit: int = 40) -> str:
    lines = text.strip().splitlines()
    if len(lines) > limit:
        lines = ["..."] + lines[-limit:]
    return "\n".join(f"    {line}" for line in lines)
