"""The buildctl builder: a real BuildKit solves the Definition; pun writes the image around it.

    buildctl [--addr ADDR] build --progress MODE --local context=DIR --output SPEC
             --opt build-arg:SOURCE_DATE_EPOCH=N                        (LLB on stdin)

For image outputs SPEC is `type=oci,dest=<scratch>,rewrite-timestamp=true,oci-mediatypes=true`
(plus the requested compression): BuildKit only makes the layers. pun takes the ones above the
base out of that archive untouched (pun/oci/buildkit_layers.py), puts them over the base image's
own layers and writes the config, manifest and index with the embedded builder's code
(pun.oci.writer.write_image, which also writes the oci/docker archive or pushes). So both builders
give the same config, the same manifest annotations (exact-case keys) and the same index for
every output type. `type=local` is BuildKit's own exporter, written to a temporary directory
first: a failed build leaves nothing behind.

A step BuildKit fails is reported at its Containerfile line: pun's Definition carries a source
map (pun.llb.marshal), BuildKit attaches the failed op's location to its error and buildctl
prints it as `FILE:LINE` over a row of dashes and the lines (cmd/buildctl/main.go `handleErr`,
solver/errdefs/source.go `Source.Print`); pun reads that header back.
"""

from __future__ import annotations

import collections
import os
import re
import shutil
import subprocess
import sys
import threading
from typing import IO, Deque, FrozenSet, List, Optional, Sequence, Tuple

from pun.atomic import atomic_directory
from pun.diagnostics import PunError, error
from pun.imagespec import ImageSpec
from pun.llb.definition import Definition
from pun.oci.buildkit_layers import built_layers
from pun.oci.cache import BlobCache, default_cache_dir
from pun.oci.deliver import check_image_output, oci_media_types, work_directory
from pun.oci.image import PulledImage
from pun.oci.layout import read_archive
from pun.oci.output_spec import OutputSpec
from pun.oci.pull import pull
from pun.oci.writer import write_image
from pun.progress import MODES, Progress
from pun.records import Record
from pun.solve.graph import ImageSource, base_source
from pun.solve.options import BUILDCTL, BuildOptions, BuildResult

DEFAULT_ADDR = "unix:///run/buildkit/buildkitd.sock"
_TAIL_LINES = 20
# errdefs.Source.Print: "<filename>:<first line>", then 20 dashes, the lines, 20 dashes.
_SOURCE_HEADER = re.compile(r"(.+):([0-9]+)")
_SOURCE_RULE = "-" * 20
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


def exporter_spec(output: OutputSpec, dest: str) -> OutputSpec:
    """What buildctl exports: BuildKit's own tree for type=local, else an OCI archive of the
    layers (timestamps clamped to SOURCE_DATE_EPOCH, as the embedded builder clamps them)."""
    if output.type == "local":
        return OutputSpec("local", (("dest", dest),))
    attrs = [("dest", dest), ("rewrite-timestamp", "true"), ("oci-mediatypes", "true")]
    attrs += [(k, output.get(k)) for k in ("compression", "compression-level") if output.get(k)]
    return OutputSpec("oci", tuple(attrs))


def buildctl_argv(options: BuildOptions, context_dir: str, spec: OutputSpec) -> List[str]:
    argv = [options.buildctl]
    if options.buildkit_addr:
        argv += ["--addr", options.buildkit_addr]
    progress = options.progress if options.progress in MODES else "auto"  # buildctl's names too
    argv += [
        "build",
        "--progress",
        progress,
        "--local",
        f"context={context_dir}",
        *[arg for name, d in options.locals for arg in ("--local", f"{name}={os.path.abspath(d)}")],
        "--output",
        spec.render(),
        "--opt",
        f"build-arg:SOURCE_DATE_EPOCH={options.source_date_epoch}",
    ]
    return argv


def solve_buildctl(
    definition: bytes,
    context_dir: str,
    spec: ImageSpec,
    output: OutputSpec,
    options: BuildOptions,
) -> BuildResult:
    address = options.buildkit_addr or os.environ.get("BUILDKIT_HOST") or DEFAULT_ADDR
    if options.image_archives:
        # BuildKit pulls every docker-image:// source itself; it cannot see pun's archives.
        raise error(
            "images from --image-archive (upstream unikernel_images) need the embedded builder: "
            "BuildKit pulls FROM and COPY --from images from their registries itself",
            hint='build with --builder embedded (Pants: `[pun].builder = "embedded"`), '
            "or push the upstream image and name it by its registry reference",
        )
    if shutil.which(options.buildctl) is None:
        raise error(
            f"buildctl ({options.buildctl}) is not installed or not on PATH, so BuildKit at "
            f"{address} cannot be used",
            hint="install BuildKit (see the README: build-support/install-buildkit), "
            "or build without a daemon: --builder embedded",
        )
    context_dir = os.path.abspath(context_dir)
    decoded = Definition.from_bytes(definition)
    run = _Run(definition, address, context_dir, frozenset(decoded.source_filenames))
    if output.type == "local":
        with atomic_directory(output.dest) as directory:
            run(buildctl_argv(options, context_dir, exporter_spec(output, directory)))
        return BuildResult(BUILDCTL, output)
    check_image_output(output)
    progress = Progress(options.progress)
    cache = BlobCache(options.cache_dir or default_cache_dir())
    base = _pull_base(base_source(decoded), spec, cache, progress, options)
    oci = oci_media_types(output)
    with work_directory(cache) as workdir:
        archive = os.path.join(workdir, "buildkit.oci.tar")
        run(buildctl_argv(options, context_dir, exporter_spec(output, archive)))
        os.mkdir(os.path.join(workdir, "blobs"))
        made = read_archive(archive, os.path.join(workdir, "blobs"))
        written = write_image(
            spec,
            output,
            workdir,
            base=base,
            layers=built_layers(made, base, oci),
            epoch=options.source_date_epoch,
            progress=progress,
        )
    image = written.image
    return BuildResult(BUILDCTL, output, image.manifest_digest, image.config_digest, written.pushed)


def _pull_base(
    source: Optional[ImageSource],
    spec: ImageSpec,
    cache: BlobCache,
    progress: Progress,
    options: BuildOptions,
) -> Optional[PulledImage]:
    """The base image (config and layers) by the embedded builder's rule, into pun's cache."""
    if source is None:
        return None
    platform = source.platform or spec.platform
    return pull(source.reference, platform, cache, progress, options.insecure_registry)


class _Run(Record):
    """One buildctl run: the Definition on its stdin, its output passed on to our stderr."""

    definition: bytes
    address: str
    context_dir: str
    # The source map's file names, the only `FILE:LINE` headers taken as BuildKit's.
    source_files: FrozenSet[str]

    def __call__(self, argv: List[str]) -> None:
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
        sources: List[Tuple[str, int]] = []
        pumps = [
            threading.Thread(target=_pump, args=(stream, tail, sources), daemon=True)
            for stream in (process.stdout, process.stderr)
        ]
        for pump in pumps:
            pump.start()
        assert process.stdin is not None
        try:
            process.stdin.write(self.definition)
            process.stdin.close()
        except BrokenPipeError:
            pass  # buildctl exited early; its exit status and stderr say why
        code = process.wait()
        for pump in pumps:
            pump.join()
        if code != 0:
            located = [(f, n) for f, n in sources if f in self.source_files]
            raise _failure(code, list(tail), self.address, self.context_dir, located)


def _pump(stream: Optional[IO[bytes]], tail: Deque[str], sources: List[Tuple[str, int]]) -> None:
    # buildctl's own output (progress, errors) is a diagnostic: it goes to our stderr.
    assert stream is not None
    previous = ""
    for raw in iter(stream.readline, b""):
        text = raw.decode("utf-8", "replace")
        line = text.rstrip("\n")
        tail.append(line)
        header = _SOURCE_HEADER.fullmatch(previous)
        if line == _SOURCE_RULE and header is not None:
            sources.append((header.group(1), int(header.group(2))))
        previous = line
        sys.stderr.write(text)
        sys.stderr.flush()
    stream.close()


def _failure(
    code: int,
    tail: List[str],
    address: str,
    context_dir: str,
    sources: Sequence[Tuple[str, int]],
) -> PunError:
    last = next((line for line in reversed(tail) if line.strip()), "")
    text = "\n".join(tail).lower()
    if any(marker in text for marker in _UNREACHABLE):
        return error(
            f"cannot reach BuildKit at {address}: {last}",
            hint="start buildkitd there, set BUILDKIT_HOST/--buildkit-addr to a running one, "
            "or build without a daemon: --builder embedded",
        )
    if sources:
        # The failed op's instruction (the first location: BuildKit prints them inner first).
        path, line = sources[0]
        reason = last[len("error: ") :] if last.startswith("error: ") else last
        hint = "BuildKit's output is above"
        if reason.endswith(": not found"):
            hint = (
                f"check the path: COPY reads from the build context ({context_dir}), less what "
                "its ignore file excludes, or with --from from that image; " + hint
            )
        return error(f"BuildKit at {address} could not build this step: {reason}", path, line, hint)
    return error(
        f"buildctl failed (exit status {code}) using BuildKit at {address}: {last}",
        hint="see buildctl's output above",
    )
