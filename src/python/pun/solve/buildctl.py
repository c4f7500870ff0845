"""The buildctl builder: hand the same Definition to a real BuildKit through `buildctl build`.

    buildctl [--addr ADDR] build --progress MODE --local context=DIR --output SPEC
             --opt build-arg:SOURCE_DATE_EPOCH=N --metadata-file FILE      (LLB on stdin)

For image outputs SPEC gains `rewrite-timestamp=true` (reproducible layers) and one
`annotation-manifest.<key>=<value>` per label, so the manifest keeps the urunc annotations.
File and directory outputs go to a temporary name first: a failed build leaves nothing behind.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from typing import IO, Deque, Dict, Iterator, List, Optional

from pun.diagnostics import PunError, error
from pun.solve.atomic import atomic_directory, atomic_path
from pun.imagespec import ImageSpec
from pun.solve.options import BUILDCTL, BuildOptions, BuildResult
from pun.solve.output_spec import OutputSpec

DEFAULT_ADDR = "unix:///run/buildkit/buildkitd.sock"
IMAGE_TYPES = ("oci", "docker", "image")
_TAIL_LINES = 20
# What buildctl/gRPC print when the daemon is not there (or not answering).
_UNREACHABLE = (
    "connection refused",
    "no such file or directory",
    "failed to dial",
    "error while dialing",
    "connection error",
    "code = unavailable",
    "context deadline exceeded",
    "dial unix",
    "dial tcp",
    "connect: permission denied",
    "transport: ",
)


def exporter_spec(output: OutputSpec, image: ImageSpec, dest: Optional[str]) -> OutputSpec:
    """The output spec buildctl gets: reproducibility and annotation attrs, and our dest."""
    extra: Dict[str, str] = {}
    if dest is not None:
        extra["dest"] = dest
    if output.type in IMAGE_TYPES:
        extra["rewrite-timestamp"] = "true"
        for key, value in sorted(image.manifest_annotations.items()):
            extra[f"annotation-manifest.{key}"] = value
    return output.with_attrs(extra)


def buildctl_argv(
    options: BuildOptions, context_dir: str, spec: OutputSpec, metadata_file: str
) -> List[str]:
    argv = [options.buildctl]
    if options.buildkit_addr:
        argv += ["--addr", options.buildkit_addr]
    progress = {"auto": "auto", "plain": "plain", "quiet": "quiet"}.get(options.progress, "auto")
    argv += [
        "build",
        "--progress",
        progress,
        "--local",
        f"context={context_dir}",
        "--output",
        spec.render(),
        "--opt",
        f"build-arg:SOURCE_DATE_EPOCH={options.source_date_epoch}",
        "--metadata-file",
        metadata_file,
    ]
    return argv


def solve_buildctl(
    definition: bytes,
    context_dir: str,
    image: ImageSpec,
    output: OutputSpec,
    options: BuildOptions,
) -> BuildResult:
    address = options.buildkit_addr or os.environ.get("BUILDKIT_HOST") or DEFAULT_ADDR
    if shutil.which(options.buildctl) is None:
        raise error(
            f"buildctl ({options.buildctl}) is not installed or not on PATH, so BuildKit at "
            f"{address} cannot be used",
            hint="install BuildKit's buildctl, or build without a daemon: --builder embedded",
        )
    context_dir = os.path.abspath(context_dir)
    with tempfile.TemporaryDirectory(prefix="pun-buildctl-") as scratch:
        metadata_file = os.path.join(scratch, "metadata.json")
        with _destination(output) as dest:
            spec = exporter_spec(output, image, dest)
            argv = buildctl_argv(options, context_dir, spec, metadata_file)
            _run(argv, definition, address)
        result = _read_metadata(metadata_file)
    return BuildResult(
        BUILDCTL,
        output,
        result.get("containerimage.digest"),
        result.get("containerimage.config.digest"),
    )


@contextlib.contextmanager
def _destination(output: OutputSpec) -> Iterator[Optional[str]]:
    """A temporary dest for buildctl, moved into place only when it succeeds."""
    if output.type == "image":
        yield None
    elif output.type == "local":
        with atomic_directory(output.dest) as directory:
            yield directory
    elif output.dest == "-":
        with tempfile.TemporaryDirectory(prefix="pun-buildctl-") as scratch:
            produced = os.path.join(scratch, "output")
            yield produced
            with open(produced, "rb") as handle:
                shutil.copyfileobj(handle, sys.stdout.buffer)
            sys.stdout.buffer.flush()
    else:
        with atomic_path(output.dest) as path:
            yield path


def _run(argv: List[str], definition: bytes, address: str) -> None:
    try:
        process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    except OSError as exc:
        raise error(
            f"cannot run {argv[0]}: {exc.strerror}",
            hint="install BuildKit's buildctl, or use --builder embedded",
        ) from None
    tail: Deque[str] = collections.deque(maxlen=_TAIL_LINES)
    pumps = [
        threading.Thread(target=_pump, args=(stream, tail), daemon=True)
        for stream in (process.stdout, process.stderr)
    ]
    for pump in pumps:
        pump.start()
    assert process.stdin is not None
    try:
        process.stdin.write(definition)
        process.stdin.close()
    except BrokenPipeError:
        pass  # buildctl exited early; its exit status and stderr say why
    code = process.wait()
    for pump in pumps:
        pump.join()
    if code != 0:
        raise _failure(code, list(tail), address)


def _pump(stream: Optional[IO[bytes]], tail: Deque[str]) -> None:
    # buildctl's own output (progress, errors) is a diagnostic: it goes to our stderr.
    assert stream is not None
    for raw in iter(stream.readline, b""):
        text = raw.decode("utf-8", "replace")
        tail.append(text.rstrip("\n"))
        sys.stderr.write(text)
        sys.stderr.flush()
    stream.close()


def _failure(code: int, tail: List[str], address: str) -> PunError:
    last = next((line for line in reversed(tail) if line.strip()), "")
    text = "\n".join(tail).lower()
    if any(marker in text for marker in _UNREACHABLE):
        return error(
            f"cannot reach BuildKit at {address}: {last}",
            hint="start buildkitd there, set BUILDKIT_HOST/--buildkit-addr to a running one, "
            "or build without a daemon: --builder embedded",
        )
    return error(
        f"buildctl failed (exit status {code}) using BuildKit at {address}: {last}",
        hint="see buildctl's output above",
    )


def _read_metadata(path: str) -> Dict[str, str]:
    try:
        with open(path, "rb") as handle:
            value = json.loads(handle.read().decode("utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in value.items() if isinstance(v, str)} if isinstance(value, dict) else {}
