"""A plan's initrd rootfs, made inside the frontend, with the writer `pun build` uses.

`pun build` makes the artifact on the client and hands it to the solver as the `pun-rootfs`
local (pun.rootfs.make, pun.convert). A frontend has no such local, and no client files, so it
asks BuildKit for the files instead: it solves the context local (filtered to the includes, as
the Dockerfile frontend filters its context: `local.followpaths` and the ignore file's
`local.excludepatterns`) and each image the rootfs reads (`from=IMAGE`, bunnyfile includes
`from:`; of an image only includes read, a FileOp copy of just the included paths), copies
those refs' files into a private directory over the gateway's ReadDir and ReadFile, and runs
pun.rootfs.make.make_artifact on that directory: the same code, the same rules, the same bytes.
The artifact then travels inside the LLB (a FileOp mkfile the copy to `path` reads,
pun.convert `rootfs_artifact`), so it is bounded by the gateway's message size.
"""

from __future__ import annotations

import os
import posixpath
import tempfile
from typing import Callable, List, Mapping, NamedTuple, Optional, Tuple

from pun.containerfile.plan import ROOTFS_INITRD, PackPlan, RootfsRequest
from pun.convert import CONTEXT_LOCAL_NAME, follow_paths
from pun.diagnostics import PunError, error
from pun.epoch import SOURCE_DATE_EPOCH, parse_epoch
from pun.frontend.bridge import MAX_MESSAGE_BYTES, Bridge, BridgeError, DirEntry
from pun.frontend.caps import PROTO_REFARRAY, READ_DIR, Capabilities
from pun.gopath import has_wildcards
from pun.llb.identity import new_id
from pun.llb.marshal import MarshalOptions, marshal
from pun.llb.state import Copy, State, image, local, scratch
from pun.platform import Platform
from pun.reference import InvalidReference, normalize
from pun.rootfs.images import ImageFiles
from pun.rootfs.make import GZIP, make_artifact

# The gateway's message limit (BuildKit v0.32.2 frontend/gateway/gateway.go: containerd's
# 16 MiB), less a quarter for the rest of the LLB that the Solve carrying the artifact
# carries: artifacts above this are refused, with `pun build` as the way out.
MAX_ARTIFACT_BYTES = MAX_MESSAGE_BYTES // 4 * 3
# ReadFile answers in pieces this big, well under the limit in both directions.
READ_CHUNK_BYTES = 4 * 1024 * 1024
# Go's os.FileMode type bits, as fsutil's Stat carries them.
_GO_DIR = 1 << 31
_GO_SYMLINK = 1 << 27
_GO_TYPE_BITS = _GO_DIR | _GO_SYMLINK | (1 << 26) | (1 << 25) | (1 << 24) | (1 << 21) | (1 << 19)

Log = Callable[[str], None]


class _Fetcher:
    """Solves sources and copies their files into directories below the caller's work dir.

    With `limit` (an uncompressed initrd, whose artifact is at least as big as the files in
    it), the bytes of the sources that reach the rootfs whole (`counted`: the context, filtered
    to the includes, and a `from=` image) may not pass it: the build fails before it reads
    the file that would pass it, not after it has copied them all."""

    def __init__(
        self, bridge: Bridge, array_ref: bool, path: str, line: int, limit: Optional[int]
    ) -> None:
        self.bridge = bridge
        self.array_ref = array_ref
        self.path = path
        self.line = line
        self.limit = limit
        self.total = 0
        self.counted = 0

    def copy_state(
        self, state: State, what: str, root: str, *, skip_special: bool, counted: bool
    ) -> None:
        # Marshalled as the build's own LLB is (BuildKit v0.32's field order, pun.api).
        definition = marshal(state, MarshalOptions(local_unique_id=new_id(), current_order=True))
        ref = self.bridge.solve(definition, array_ref=self.array_ref)
        self._copy_dir(ref, "", root, _Source(what, skip_special, counted))

    def _copy_dir(self, ref: str, rel: str, host: str, source: "_Source") -> None:
        for entry in sorted(self.bridge.read_dir(ref, "/" + rel), key=lambda e: e.name):
            child = f"{rel}/{entry.name}" if rel else entry.name
            target = os.path.join(host, entry.name)
            if entry.mode & _GO_DIR:
                os.mkdir(target, 0o755)
                self._copy_dir(ref, child, target, source)
            elif entry.mode & _GO_SYMLINK:
                os.symlink(entry.linkname, target)
            elif not entry.mode & _GO_TYPE_BITS:
                self._copy_file(ref, child, entry, target, source)
            elif not source.skip_special:
                # A fifo, socket or device in the context: the embedded builder refuses it too.
                raise error(
                    f"{source.what}: /{child} is not a regular file, directory or symlink",
                    self.path,
                    self.line,
                    "a rootfs holds files, directories and symlinks only",
                )
            # else: an image's device node; left out, as pun.rootfs.images leaves it out

    def _copy_file(
        self, ref: str, path: str, entry: DirEntry, target: str, source: "_Source"
    ) -> None:
        if source.counted and self.limit is not None and self.counted + entry.size > self.limit:
            raise error(
                f"the initrd rootfs's files pass {self.limit} bytes ({source.what}: /{path} "
                f"makes {self.counted + entry.size}); the pun frontend passes the rootfs to "
                f"BuildKit inside the build's LLB, which takes at most {self.limit} bytes",
                self.path,
                self.line,
                "compress it (compression=gzip), or build with `pun build`, which has no limit",
            )
        with open(target, "wb") as out:
            offset = 0
            while offset < entry.size:
                length = min(READ_CHUNK_BYTES, entry.size - offset)
                piece = self.bridge.read_file_range(ref, path, offset, length)
                if len(piece) != length:
                    # A solved ref never changes: any other answer is the daemon's fault, and a
                    # rootfs made of it would hold a cut (or padded) file.
                    raise error(
                        f"{source.what}: /{path}: BuildKit sent {len(piece)} bytes at offset "
                        f"{offset} where {length} were asked for (its listing says the file "
                        f"has {entry.size})",
                        self.path,
                        self.line,
                        "run the build again; if it recurs, report it with the BuildKit version",
                    )
                out.write(piece)
                offset += length
        # Only the execute bits reach the rootfs (pun.initrd.tree normalizes the rest); the
        # owner keeps read and write so the writer can read it.
        os.chmod(target, (entry.mode & 0o777) | 0o600)
        self.total += entry.size
        if source.counted:
            self.counted += entry.size


class _Source(NamedTuple):
    what: str  # for messages: "the build context", "rootfs image alpine"
    skip_special: bool  # an image's device nodes are left out; the context may not have any
    counted: bool  # all its files reach the rootfs (the limit applies to them)


class _BridgeImages(ImageFiles):
    """ImageFiles whose images BuildKit pulls (the frontend has no registry client)."""

    def __init__(
        self, fetcher: _Fetcher, work_dir: str, platform: Platform, request: RootfsRequest
    ) -> None:
        super().__init__(work_dir, platform)
        self.fetcher = fetcher
        self.request = request

    def _flatten(self, reference: str, root: str) -> None:
        try:
            normalized = str(normalize(reference))
        except InvalidReference as exc:
            raise error(
                f"rootfs image {reference!r}: {exc}",
                self.fetcher.path,
                self.fetcher.line,
                "name an image",
            ) from None
        whole = reference == self.request.from_image  # all its files reach the rootfs
        state = image(normalized, self.platform)
        if not whole:
            state = _picked(
                state, [i.source for i in self.request.includes if i.image == reference]
            )
        self.fetcher.copy_state(
            state, f"rootfs image {reference}", root, skip_special=True, counted=whole
        )


def _picked(state: State, sources: List[str]) -> State:
    """Only the included paths of an image, at the same paths (a FileOp copy on scratch), so
    that only their bytes travel over ReadFile; the whole image when an include names its
    root or a wildcard stands before the last part of a path."""
    picked: List[str] = []
    for path in follow_paths(sources):  # cleaned, sorted: a directory before what is in it
        if has_wildcards(posixpath.dirname(path)):
            return state
        if not any(path.startswith(p + "/") for p in picked):
            picked.append(path)
    if not picked:  # an include of "/": everything
        return state
    copies = [
        Copy(
            state,
            "/" + path,
            _picked_dest(path),
            allow_wildcard=True,
            # As pun.rootfs.content resolves an include's last symlink; a symlink inside a
            # copied directory stays one.
            follow_symlinks=True,
        )
        for path in picked
    ]
    return scratch().file(*copies, custom_name="[internal] pick the rootfs's files of an image")


def _picked_dest(path: str) -> str:
    """Where a picked path goes: itself, or for a wildcard its directory, which COPY puts
    the matches inside."""
    if not has_wildcards(path):
        return "/" + path
    parent = posixpath.dirname(path)
    return f"/{parent}/" if parent else "/"


def make_initrd(
    bridge: Bridge,
    plan: PackPlan,
    caps: Capabilities,
    platform: Platform,
    excludes: Tuple[str, ...],
    build_args: Mapping[str, str],
    log: Log,
) -> bytes:
    """The artifact's bytes, or PunError naming the rootfs line."""
    request = plan.rootfs
    assert request is not None
    if request.kind != ROOTFS_INITRD:
        raise error(
            f"the pun frontend cannot make a {request.kind} rootfs: it needs e2fsprogs, "
            "which the frontend image does not carry",
            plan.path,
            request.line,
            "build it with `pun build`, or run `pun rootfs -f FILE -o DIR` and then "
            "`pun --LLB -f FILE | buildctl build --local context=. --local pun-rootfs=DIR ...`",
        )
    if not caps.supports(READ_DIR):
        raise error(
            "this BuildKit cannot list a build's files (no readdir capability), which the "
            "pun frontend needs to make an initrd",
            plan.path,
            request.line,
            "use a newer BuildKit, or build with `pun build`",
        )
    epoch = parse_epoch(
        build_args.get(SOURCE_DATE_EPOCH, ""),
        f"build-arg {SOURCE_DATE_EPOCH}",
        f"pass e.g. --build-arg {SOURCE_DATE_EPOCH}=0",
        plan.path,
    )
    # An uncompressed initrd holds every byte of its files: past the limit, stop reading.
    limit = None if request.compression == GZIP else MAX_ARTIFACT_BYTES
    fetcher = _Fetcher(bridge, caps.supports(PROTO_REFARRAY), plan.path, request.line, limit)
    with tempfile.TemporaryDirectory(prefix="pun-frontend-rootfs-") as work:
        context_dir = os.path.join(work, "context")
        os.mkdir(context_dir)
        sources = [i.source for i in request.includes if i.image is None]
        try:
            if sources:
                state = local(
                    CONTEXT_LOCAL_NAME,
                    exclude_patterns=tuple(excludes),
                    follow_paths=follow_paths(sources),
                    custom_name="[internal] load the rootfs's files from the build context",
                )
                fetcher.copy_state(
                    state, "the build context", context_dir, skip_special=False, counted=True
                )
            images = _BridgeImages(fetcher, work, platform, request)
            out_dir = os.path.join(work, "out")
            os.mkdir(out_dir)
            made = make_artifact(
                request,
                context_dir,
                out_dir,
                epoch,
                excludes,
                plan.path,
                platform,
                images=images,
            )
        except BridgeError as exc:
            raise error(
                f"cannot read the {request.kind} rootfs's files from the build: "
                f"{exc.details or exc.code}",
                plan.path,
                request.line,
                "check that the included paths and images exist",
            ) from None
        size = os.path.getsize(made)
        log(f"made the {request.kind} rootfs: {size} bytes from {fetcher.total} bytes of files")
        if size > MAX_ARTIFACT_BYTES:
            raise error(
                f"the {request.kind} rootfs is {size} bytes; the pun frontend passes it to "
                f"BuildKit inside the build's LLB, which takes at most {MAX_ARTIFACT_BYTES} "
                "bytes",
                plan.path,
                request.line,
                "compress it (compression=gzip), or build with `pun build`, which has no limit",
            )
        with open(made, "rb") as artifact:
            return artifact.read()


def too_large_for_daemon(exc: BridgeError, plan: PackPlan, size: int) -> Optional[PunError]:
    """The daemon's refusal of a Solve too big for its gRPC limit (Docker Engine 20.10's
    BuildKit takes 4 MiB messages: "grpc: received message larger than max"), as an error
    naming the rootfs line; None for any other failure."""
    if "larger than max" not in exc.details:
        return None
    assert plan.rootfs is not None
    return error(
        f"this BuildKit takes smaller messages than the build's LLB with its {plan.rootfs.kind} "
        f"rootfs ({size} bytes): {exc.details}",
        plan.path,
        plan.rootfs.line,
        "compress it (compression=gzip), use a newer BuildKit (v0.32.2 takes 16 MiB), "
        "or build with `pun build`",
    )
