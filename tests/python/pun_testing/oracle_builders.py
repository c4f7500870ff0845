"""The builders the oracle test runs on one materialized case, each giving an `Outcome`.

- `docker_outcome`: Docker Engine's own Dockerfile frontend (`docker build`, BuildKit, no
  `#syntax` line) — or pun's frontend image through the same engine, for a Containerfile
  whose first line names it. Files from `--output type=tar` (its `type=local` loses owners);
  the config from a second build with `-t` (which the engine answers from its cache: same
  LLB) and `docker image inspect`.
- `buildkit_outcome`: a standalone BuildKit's `dockerfile.v0` frontend through `buildctl`
  (opt-in), files and config from one build with two outputs (`tar` and `oci`; buildctl's
  `type=local` loses owners too).
- `pun_outcome`: `pun build --builder embedded`, in-process: `type=local` for the files,
  `type=oci` for the config.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

from pun_testing.building import pun_build
from pun_testing.docker_engine import DockerEngine, unique_tag
from pun_testing.images import archive_json
from pun_testing.oracle_compare import (
    PUN_ONLY_PATHS,
    Outcome,
    config_fields,
    snapshot,
    tar_snapshot,
)

_BUILD_TIMEOUT_S = 300.0


def _build_args(build_args: Sequence[Tuple[str, str]]) -> List[str]:
    return [flag for key, value in build_args for flag in ("--build-arg", f"{key}={value}")]


def docker_outcome(
    engine: DockerEngine,
    containerfile: Path,
    context: Path,
    build_args: Sequence[Tuple[str, str]],
    workdir: Path,
    builder: str = "docker",
    skip: frozenset = frozenset(),
) -> Tuple[Outcome, bool, str]:
    """(outcome, whether the second build was answered from the cache, the image tag to
    remove afterwards — removed in one go, it costs less)."""
    flags = ["--progress=plain", "-f", str(containerfile), *_build_args(build_args)]
    files = workdir / f"{builder}-files.tar"
    first = engine.run(
        "build", *flags, "--output", f"type=tar,dest={files}", str(context), check=False
    )
    if first.code != 0:
        return Outcome(builder, error=first.output), True, ""
    tag = f"pun-oracle/{builder}:{unique_tag()}"
    second = engine.run("build", *flags, "-t", tag, str(context), check=False)
    if second.code != 0:
        return Outcome(builder, error="second build: " + second.output), False, ""
    image = engine.inspect(tag)
    outcome = Outcome(
        builder,
        tar_snapshot(files, skip),
        config_fields(image["Config"]),
        (image["Os"], image["Architecture"]),
    )
    return outcome, answered_from_cache(second.output), tag


def answered_from_cache(progress: str) -> bool:
    """Every COPY/WORKDIR step of a `--progress=plain` log is `CACHED`."""
    steps = set(re.findall(r"^#(\d+) \[[^\]]*\] (?:COPY|WORKDIR)", progress, re.M))
    cached = set(re.findall(r"^#(\d+) CACHED", progress, re.M))
    return steps <= cached


def buildkit_outcome(
    buildctl: str,
    address: str,
    containerfile: Path,
    context: Path,
    build_args: Sequence[Tuple[str, str]],
    workdir: Path,
) -> Outcome:
    files, archive = workdir / "buildkit-files.tar", workdir / "buildkit.oci.tar"
    argv = [
        buildctl,
        "--addr",
        address,
        "build",
        "--progress=plain",
        "--frontend",
        "dockerfile.v0",
        "--local",
        f"context={context}",
        "--local",
        f"dockerfile={containerfile.parent}",
        "--opt",
        f"filename={containerfile.name}",
        *[f for k, v in build_args for f in ("--opt", f"build-arg:{k}={v}")],
        "--output",
        f"type=tar,dest={files}",
        "--output",
        f"type=oci,dest={archive}",
    ]
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=_BUILD_TIMEOUT_S, check=False
    )
    if done.returncode != 0:
        return Outcome("buildkit", error=done.stderr)
    config = oci_config(archive)
    return Outcome(
        "buildkit",
        tar_snapshot(files),
        config_fields(config.get("config")),
        (config.get("os", ""), config.get("architecture", "")),
    )


def pun_outcome(
    containerfile: Path, context: Path, build_args: Sequence[Tuple[str, str]], workdir: Path
) -> Outcome:
    common = [
        "--builder",
        "embedded",
        "-f",
        str(containerfile),
        "--context",
        str(context),
        *_build_args(build_args),
    ]
    files, archive, cache = workdir / "pun-files", workdir / "pun.oci.tar", workdir / "cache"
    run = pun_build([*common, "--output", f"type=local,dest={files}"], cache)
    if run.code != 0:
        return Outcome("pun", error=_errors(run.err))
    run = pun_build([*common, "--output", f"type=oci,dest={archive}"], cache)
    if run.code != 0:
        return Outcome("pun", error="type=oci build: " + _errors(run.err))
    config = oci_config(archive)
    warnings = "\n".join(line for line in run.err.splitlines() if ": warning: " in line)
    return Outcome(
        "pun",
        snapshot(files, skip=PUN_ONLY_PATHS),
        config_fields(config.get("config")),
        (config.get("os", ""), config.get("architecture", "")),
        log=warnings,
    )


def _errors(stderr: str) -> str:
    """pun's error diagnostics and their hints, without the warnings before them."""
    lines, keep = [], False
    for line in stderr.splitlines():
        if ": error: " in line or ": warning: " in line:
            keep = ": error: " in line
        if keep:
            lines.append(line)
    return "\n".join(lines) or stderr


def oci_manifest(archive: Path) -> Dict[str, Any]:
    """The manifest of an OCI layout archive's one image, read with tarfile."""
    index = archive_json(archive, "index.json")
    manifest: Dict[str, Any] = archive_json(archive, _blob(index["manifests"][0]["digest"]))
    return manifest


def oci_config(archive: Path) -> Dict[str, Any]:
    """The image config of an OCI layout archive's one image, read with tarfile."""
    manifest = oci_manifest(archive)
    config: Dict[str, Any] = archive_json(archive, _blob(manifest["config"]["digest"]))
    return config


def _blob(digest: str) -> str:
    algorithm, hexdigest = digest.split(":", 1)
    return f"blobs/{algorithm}/{hexdigest}"


def with_syntax_line(containerfile: Path, frontend: str, dest: Path) -> Path:
    """A copy of the Containerfile whose first line names pun's frontend image."""
    dest.write_text(f"#syntax={frontend}\n" + containerfile.read_text())
    return dest
