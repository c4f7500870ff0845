"""One frontend build: read the Containerfile, make the LLB with the core, Solve, describe it.

The daemon has already been Ping'd; this module decides what to ask it and what to return.
Every user-facing failure is a PunError naming the file and line, so `main` can hand its text
to Return and `docker build` shows it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from pun.api import BasePlanner, GenerateOptions, generate, read_plan
from pun.containerfile.plan import BaseUnknownError
from pun.diagnostics import Diagnostic, PunError, error
from pun.dockerignore import read_patterns
from pun.frontend.bridge import Bridge, BridgeError, BridgeWarning, Pong
from pun.frontend.caps import PROTO_REFARRAY, RESOLVE_IMAGE, WARNINGS, Capabilities
from pun.frontend.environment import FrontendEnvironment
from pun.frontend.imageconfig import (
    ANNOTATION_MANIFEST_PREFIX,
    CONFIG_KEY,
    PLATFORMS_KEY,
    exporter_config,
    manifest_annotations,
    parse_base_config,
)
from pun.frontend.options import CONTEXT_LOCAL, BuildRequest, read_request
from pun.frontend.steps import show_as_steps
from pun.ignorefiles import CONTAINERIGNORE, DOCKERIGNORE
from pun.imagespec import BaseSpec
from pun.llb.daemon_digest import daemon_digests
from pun.llb.definition import Definition
from pun.llb.identity import new_id
from pun.llb.marshal import MarshalOptions, marshal
from pun.llb.state import local
from pun.platform import DEFAULT_TARGET, Platform

Log = Callable[[str], None]


@dataclass(frozen=True)
class FrontendResult:
    """One image (`ref`), or, for several platforms, one ref per platform id (`platform_refs`):
    BuildKit's multi-platform result, which its exporters turn into an image index."""

    ref: str
    metadata: Mapping[str, bytes]
    platform_refs: Tuple[Tuple[str, str], ...] = ()


@dataclass(frozen=True)
class PlatformImage:
    ref: str
    config: bytes
    annotations: Mapping[str, str]


@dataclass(frozen=True)
class ContainerfileSource:
    """The Containerfile as read from the build, and which op read it (for warnings)."""

    filename: str
    data: bytes
    local_name: str
    digest: str
    ref: str = ""  # the result it was read from (ignore files beside it are read from it too)

    @property
    def text(self) -> str:
        try:
            return self.data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise error(
                f"not UTF-8 text (byte {exc.start})",
                self.filename,
                self.data.count(b"\n", 0, exc.start) + 1,
                "save the Containerfile as UTF-8",
            ) from None


@dataclass(frozen=True)
class Reporter:
    """Warnings go to stderr (the daemon's log) and, when the daemon can, to the build output."""

    bridge: Bridge
    caps: Capabilities
    log: Log

    def report(self, diagnostic: Diagnostic, source: Optional[ContainerfileSource] = None) -> None:
        self.log(diagnostic.render())
        if not self.caps.supports(WARNINGS):
            return  # shown as build steps at the end instead (see pun.frontend.steps)
        about_file = source is not None and diagnostic.path == source.filename
        warning = BridgeWarning(
            short=diagnostic.render().split("\n", 1)[0],
            detail=(diagnostic.hint,) if diagnostic.hint else (),
            digest=source.digest if source is not None else "",
            filename=source.filename if source is not None and about_file else "",
            data=source.data if source is not None and about_file else b"",
            line=diagnostic.line if about_file else None,
        )
        try:
            self.bridge.warn(warning)
        except BridgeError as exc:
            self.log(f"could not pass a warning to the build output: {exc}")


def run_build(
    bridge: Bridge, environment: FrontendEnvironment, pong: Pong, log: Log
) -> FrontendResult:
    reporter = Reporter(bridge, pong.caps, log)
    # Option names only: values (build args) may hold secrets, and this goes to the daemon's log.
    log("options: " + (", ".join(sorted(environment.opts)) or "none"))
    request = read_request(environment.opts)
    warnings = list(request.notes)
    for note in request.notes:
        reporter.report(note)
    platforms = target_platforms(request, environment, pong)
    source = fetch_containerfile(bridge, request, pong.caps)
    log(f"read {source.filename} from the local {source.local_name!r}")
    options = GenerateOptions(
        path=source.filename,
        build_args=request.build_args,
        target_platform=platforms[0],
        platform_given=bool(request.platforms),
    )
    # Like the Dockerfile frontend, look for the ignore file only once the file parses, and
    # only when a COPY reads the context (or may, once the base's config is known).
    try:
        plan = read_plan(source.text, options)
    except BaseUnknownError as exc:  # planned again once the base is resolved: read on
        plan = exc.plan
    if plan.copy_sources() or plan.needs_base_config:
        options = options._replace(
            context_excludes=read_ignore_patterns(bridge, source, pong.caps, log)
        )
    images = [
        build_platform(
            bridge,
            request,
            source,
            options._replace(target_platform=platform),
            pong,
            reporter,
            warnings if index == 0 else None,
            log,
        )
        for index, platform in enumerate(platforms)
    ]
    if len(platforms) == 1:
        (image,) = images
        metadata: Dict[str, bytes] = {
            CONFIG_KEY: image.config,
            **manifest_annotations(image.annotations),
        }
        return FrontendResult(ref=image.ref, metadata=metadata)
    return multi_platform_result(platforms, images)


def build_platform(
    bridge: Bridge,
    request: BuildRequest,
    source: ContainerfileSource,
    options: GenerateOptions,
    pong: Pong,
    reporter: Reporter,
    warnings: Optional[List[Diagnostic]],
    log: Log,
) -> PlatformImage:
    """Generate, Solve and describe one platform's image. Warnings are shown once, for the
    platform given the `warnings` list (the first): the other platforms repeat them."""
    # local_unique_id stays None: a fresh random id per build, as BuildKit's client does.
    # The base's config is resolved once: for the plan when its meaning depends on it (as the
    # Dockerfile frontend's MetaResolver), and for the config the image inherits.
    resolved: Dict[BaseSpec, Optional[Mapping[str, Any]]] = {}
    planner = BasePlanner(source.text, options)

    def resolve(base: BaseSpec) -> Optional[Mapping[str, Any]]:
        if base not in resolved:
            resolved[base] = resolve_base(bridge, base, pong.caps, log, source, planner.from_line)
        return resolved[base]

    generated = planner.run(resolve)
    plan = generated.plan
    if plan.rootfs is not None:
        # Made here, from the files BuildKit sends (pun.frontend.rootfs), for this platform,
        # from the plan made with the base's config (its WorkingDir places a relative src).
        from pun.frontend.rootfs import make_initrd

        artifact = make_initrd(
            bridge,
            plan,
            pong.caps,
            plan.platform or options.target_platform,
            options.context_excludes,
            request.build_args,
            log,
        )
        generated = generate(source.text, planner.options._replace(rootfs_artifact=artifact))
    check_llb_caps(generated.definition, pong.caps)
    array_ref = pong.caps.supports(PROTO_REFARRAY)
    if warnings is not None:
        for warning in generated.warnings:
            reporter.report(warning, source)
        warnings.extend(generated.warnings)
        if not pong.caps.supports(WARNINGS):
            show_as_steps(bridge, warnings, array_ref=array_ref, log=log)
    try:
        ref = bridge.solve(generated.definition, array_ref=array_ref)
    except BridgeError as exc:
        if plan.rootfs is None:
            raise
        from pun.frontend.rootfs import too_large_for_daemon

        raise too_large_for_daemon(exc, plan, len(generated.definition)) or exc
    base = resolve(generated.image.base) if generated.image.base is not None else None
    spec = generated.image.with_labels(request.labels)
    return PlatformImage(ref, exporter_config(spec, base), spec.manifest_annotations)


def multi_platform_result(
    platforms: Sequence[Platform], images: Sequence[PlatformImage]
) -> FrontendResult:
    """What BuildKit's Dockerfile frontend returns for several platforms (exporter/
    containerimage/exptypes: `refs.platforms`, `containerimage.config/<id>`,
    `annotation-manifest[<id>].<key>`): one ref per platform id, which BuildKit's image
    exporters write as an index with one manifest per platform."""
    import json

    metadata: Dict[str, bytes] = {}
    listed = []
    for platform, image in zip(platforms, images):
        platform_id = str(platform)
        metadata[f"{CONFIG_KEY}/{platform_id}"] = image.config
        for key, value in manifest_annotations(image.annotations).items():
            key = key[len(ANNOTATION_MANIFEST_PREFIX) :]
            metadata[f"annotation-manifest[{platform_id}].{key}"] = value
        described = {"architecture": platform.architecture, "os": platform.os}
        if platform.variant:
            described["variant"] = platform.variant
        # Go's encoding of exptypes.Platforms: its fields carry no json tags.
        listed.append({"ID": platform_id, "Platform": described})
    metadata[PLATFORMS_KEY] = json.dumps({"Platforms": listed}).encode("utf-8")
    return FrontendResult(
        ref="",
        metadata=metadata,
        platform_refs=tuple((str(p), image.ref) for p, image in zip(platforms, images)),
    )


def target_platforms(
    request: BuildRequest, environment: FrontendEnvironment, pong: Pong
) -> Tuple[Platform, ...]:
    if request.platforms:
        return tuple(request.platforms)
    # Like the Dockerfile frontend: the daemon's first worker platform is the default.
    for platforms in (environment.worker_platforms, pong.worker_platforms):
        if platforms:
            return (platforms[0],)
    return (DEFAULT_TARGET,)


def fetch_containerfile(
    bridge: Bridge, request: BuildRequest, caps: Capabilities
) -> ContainerfileSource:
    """Read `filename` from the `dockerfile` local, falling back to `context` (as pun did)."""
    failures = []
    for local_name in request.containerfile_locals:
        # The ignore files beside it travel with it, as in BuildKit's ReadEntrypoint.
        state = local(
            local_name,
            include_patterns=(
                request.filename,
                request.filename + DOCKERIGNORE,
                request.filename + CONTAINERIGNORE,
            ),
            custom_name=f"[internal] load build definition from {request.filename}",
        )
        definition = marshal(state, MarshalOptions(local_unique_id=new_id()))
        try:
            ref = bridge.solve(definition, array_ref=caps.supports(PROTO_REFARRAY))
            data = bridge.read_file(ref, request.filename)
        except BridgeError as exc:
            failures.append(f"local {local_name!r}: {exc.details or exc.code}")
            continue
        return ContainerfileSource(
            request.filename, data, local_name, _first_op_digest(definition), ref
        )
    raise error(
        f"cannot read {request.filename} from the build: " + "; ".join(failures),
        request.filename,
        hint="pass the Containerfile with -f (docker build) or --opt filename=... and "
        "--local dockerfile=DIR (buildctl)",
    )


def read_ignore_patterns(
    bridge: Bridge, source: "ContainerfileSource", caps: Capabilities, log: Log
) -> Tuple[str, ...]:
    """The context's exclude patterns, found as `docker build` finds them (pun.dockerignore):
    `<Containerfile>.dockerignore` beside it, else `.dockerignore` at the context root."""
    beside = [source.filename + DOCKERIGNORE, source.filename + CONTAINERIGNORE]
    found = _first_file(bridge, source.ref, beside)
    if found is None:
        state = local(
            CONTEXT_LOCAL,
            include_patterns=(DOCKERIGNORE, CONTAINERIGNORE),
            custom_name=f"[internal] load {DOCKERIGNORE}",
        )
        definition = marshal(state, MarshalOptions(local_unique_id=new_id()))
        try:
            ref = bridge.solve(definition, array_ref=caps.supports(PROTO_REFARRAY))
        except BridgeError as exc:
            log(f"cannot look for {DOCKERIGNORE} in the context: {exc}")
            return ()
        found = _first_file(bridge, ref, [DOCKERIGNORE, CONTAINERIGNORE])
    if found is None:
        return ()
    name, data = found
    log(f"excluding what {name} lists from the context")
    return read_patterns(data, name)


def _first_file(bridge: Bridge, ref: str, names: List[str]) -> Optional[Tuple[str, bytes]]:
    for name in names:
        try:
            return name, bridge.read_file(ref, name)
        except BridgeError:
            continue  # not there (the daemon answers NotFound)
    return None


def _first_op_digest(definition: bytes) -> str:
    """The read op's vertex digest as the daemon names it (warnings point at it): current
    BuildKit marshals every op again before digesting it (pun.llb.daemon_digest)."""
    digests = Definition.from_bytes(definition).digests
    return daemon_digests(definition).get(digests[0], "") if digests else ""


def check_llb_caps(definition: bytes, caps: Capabilities) -> None:
    """Fail clearly, before the daemon does, when the LLB needs something it lacks."""
    missing = caps.missing_llb(Definition.from_bytes(definition).caps())
    if missing:
        raise error(
            f"this BuildKit lacks LLB capabilities pun needs: {', '.join(sorted(missing))}",
            hint="use a newer BuildKit (Docker Engine 20.10 or later)",
        )


def resolve_base(
    bridge: Bridge,
    base: BaseSpec,
    caps: Capabilities,
    log: Log,
    source: ContainerfileSource,
    line: Optional[int],
) -> Optional[Mapping[str, Any]]:
    """The base image's config, resolved for the platform the LLB pulls it for (None: the
    daemon cannot resolve; the plan then keeps its warnings and the image inherits nothing)."""
    reference, pull_platform = base
    if not caps.supports(RESOLVE_IMAGE):
        log(f"the daemon cannot resolve image configs; {reference}'s config is not inherited")
        return None
    try:
        answer = bridge.resolve_image_config(
            reference, pull_platform, log_name=f"[internal] load metadata for {reference}"
        )
    except BridgeError as exc:
        raise error(
            f"cannot resolve base image {reference} for {pull_platform}: {exc.details}",
            source.filename,
            line,
            "check the image name and that the registry is reachable from the daemon",
        ) from None
    return parse_base_config(answer.config, reference)


def render_error(exc: PunError) -> Tuple[str, ...]:
    return tuple(diagnostic.render() for diagnostic in exc.diagnostics)


def stderr_log(message: str) -> None:
    sys.stderr.write(f"pun frontend: {message}\n")
    sys.stderr.flush()
