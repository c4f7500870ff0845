"""The public API: Containerfile text + options -> Definition bytes, image spec, source map.

Like BuildKit's Dockerfile-to-LLB conversion, `generate` returns everything an image needs:
the LLB, the image description every builder writes (`pun.imagespec.ImageSpec`) and which
Containerfile line each op came from. Used by the CLI, the frontend and the Pants plugin.
"""

from __future__ import annotations

from pun.containerfile.parser import ParseOptions, parse_containerfile
from pun.containerfile.plan import PackPlan
from pun.convert import (
    COMPAT_DOCKER,
    COMPAT_MODES,
    COMPAT_PUN,
    ConvertOptions,
    plan_to_state,
    pull_platform,
    resolve_dest,
)
from pun.diagnostics import Diagnostic, PunError, Severity, error
from pun.imagespec import BaseConfig, BaseSpec, ImageSpec
from pun.llb.identity import new_id
from pun.llb.marshal import MarshalOptions, SourceFile, marshal_with_sources
from pun.llb.state import normalize_dest
from pun.platform import DEFAULT_TARGET, Platform
from pun.records import Record
from pun.urunc import LabelSite, urunc_json, validate
from pun.urunc_bridge import bridge

TYPE_CHECKING = False  # typing is imported for mypy only: see pun.records
if TYPE_CHECKING:
    from typing import Any, Callable, List, Mapping, Optional, Tuple


class GenerateOptions(Record):
    path: str = "Containerfile"
    build_args: Mapping[str, str] = {}
    target_platform: Platform = DEFAULT_TARGET
    # Forces the base image's platform, overriding the unikraft/linux rule (not FROM --platform).
    base_platform: Optional[Platform] = None
    # None: a fresh random id per call, as BuildKit's client does. Pin it for reproducible LLB.
    local_unique_id: Optional[str] = None
    # urunc schema findings are errors when strict, warnings otherwise.
    strict: bool = False
    # "docker" (default): docker build's semantics. "pun": the original pun's LLB bytes.
    compat: str = COMPAT_DOCKER
    # The build context's ignore-file patterns (pun.dockerignore.read_patterns); docker only.
    context_excludes: Tuple[str, ...] = ()
    # target_platform was asked for (--platform, a frontend platform, a target's `platform`),
    # not the default: a bunnyfile `architecture` that differs is then an error.
    platform_given: bool = False
    # FROM / COPY --from names -> the references to use (pun.containerfile.parser.ParseOptions).
    image_aliases: Mapping[str, str] = {}
    # Normalized FROM reference -> the base image's resolved config (pun.imagespec.BaseConfig),
    # read as BuildKit reads it while converting: Env for $VAR, WorkingDir for relative
    # paths, User for WORKDIR's owner. generate() never fetches it: see generate_with_base.
    base_configs: Mapping[str, BaseConfig] = {}
    # The rootfs artifact's bytes, inlined into the LLB (the frontend makes it; see
    # ConvertOptions.rootfs_artifact). None: it comes from the `pun-rootfs` local.
    rootfs_artifact: Optional[bytes] = None


class Generated(Record):
    definition: bytes
    plan: PackPlan
    warnings: Tuple[Diagnostic, ...]
    image: ImageSpec
    # (op digest, Containerfile line) for the ops that came from a line.
    source_map: Tuple[Tuple[str, int], ...] = ()


def read_plan(text: str, options: GenerateOptions = GenerateOptions()) -> PackPlan:
    """A Containerfile's plan, or a bunnyfile's: as bunny, a file the Containerfile parser
    refuses is tried as a bunnyfile (pun.bunnyfile.read); if it is none, the Containerfile
    error stands."""
    try:
        return parse_containerfile(
            text,
            ParseOptions(
                path=options.path,
                build_args=options.build_args,
                target_platform=options.target_platform,
                image_aliases=options.image_aliases,
                base_configs=options.base_configs,
            ),
        )
    except PunError:
        from pun.bunnyfile.read import read_bunnyfile  # YAML only for files that need it

        plan = read_bunnyfile(text, options.path, options.target_platform, options.platform_given)
        if plan is None:
            raise
        return plan


def check_urunc(plan: PackPlan, compat: str = COMPAT_DOCKER) -> List[Diagnostic]:
    """urunc schema findings for a plan (all with severity ERROR)."""
    lines = plan.label_lines()
    sites = {key: LabelSite(value, lines.get(key)) for key, value in plan.label_values().items()}
    destinations = tuple(
        normalize_dest(copy.dest if compat == COMPAT_PUN else resolve_dest(copy.workdir, copy.dest))
        for copy in plan.copies
    ) + ((plan.rootfs.path,) if plan.rootfs is not None else ())
    return validate(sites, destinations, plan.base.is_scratch, plan.path, plan.base.line)


def generate(text: str, options: GenerateOptions = GenerateOptions()) -> Generated:
    """Raise PunError for input that cannot be packed (or fails urunc checks when strict)."""
    if options.compat not in COMPAT_MODES:
        raise error(
            f"unknown compat mode {options.compat!r}", hint="use " + " or ".join(COMPAT_MODES)
        )
    plan = read_plan(text, options)
    findings = check_urunc(plan, options.compat)
    if findings and options.strict:
        raise PunError(findings)
    as_warnings = tuple(
        Diagnostic(Severity.WARNING, f.message, f.path, f.line, f.hint) for f in findings
    )
    target = plan.platform or options.target_platform  # a bunnyfile's architecture
    convert = ConvertOptions(
        target_platform=target,
        base_platform=options.base_platform,
        compat=options.compat,
        context_excludes=tuple(options.context_excludes),
        rootfs_artifact=options.rootfs_artifact,
    )
    labels = plan.label_values()
    pulled_for = pull_platform(plan, convert)
    base = None
    if plan.base.reference is not None and pulled_for is not None:
        base = BaseSpec(str(plan.base.reference), pulled_for)
    spec = ImageSpec(platform=target, base=base, steps=plan.config)
    base_entrypoint = _base_entrypoint(plan, options)
    guest_args = spec.guest_args(base_entrypoint or ())
    bridged = bridge(
        labels, plan.label_lines(), plan.config, guest_args, plan.path, base_entrypoint
    )
    if bridged.needs_base_config:
        plan = plan._replace(needs_base_config=True)
    packed = dict(labels)
    if options.compat != COMPAT_PUN:  # the original wrote the labels only
        packed.update(bridged.derived)
    spec = spec._replace(steps=bridged.steps, annotations=tuple(sorted(packed.items())))
    state = plan_to_state(plan, urunc_json(packed), convert)
    unique = options.local_unique_id if options.local_unique_id is not None else new_id()
    marshal = MarshalOptions(local_unique_id=unique)
    if options.compat != COMPAT_PUN:  # the original's bytes have an empty source map
        source = SourceFile(plan.path, text.encode("utf-8"), plan.line_ends)
        marshal = marshal._replace(current_order=True, source=source)
    marshalled = marshal_with_sources(state, marshal)
    return Generated(
        definition=marshalled.definition,
        plan=plan,
        warnings=plan.warnings + as_warnings + bridged.warnings,
        image=spec,
        source_map=marshalled.source_map,
    )


def _base_entrypoint(plan: PackPlan, options: GenerateOptions) -> Optional[Tuple[str, ...]]:
    """The base image's Entrypoint: () for FROM scratch, None when its config is not given."""
    if plan.base.reference is None:
        return ()
    config = options.base_configs.get(str(plan.base.reference))
    return None if config is None else config.entrypoint


def generate_with_base(
    text: str,
    options: GenerateOptions,
    resolve: Callable[[BaseSpec], Optional[Mapping[str, Any]]],
) -> Generated:
    """generate(), with the base image's config where it changes the plan: plan once; only if
    the plan says it needed the config (PackPlan.needs_base_config: FROM scratch and most
    builds do not), ask `resolve` (base -> its image config JSON, or None: keep the first plan
    and its warnings) and plan again with it, as BuildKit resolves the base before converting.
    """
    generated = generate(text, options)
    base = generated.image.base
    if not generated.plan.needs_base_config or base is None:
        return generated
    config = resolve(base)
    if config is None:
        return generated
    configs = {**options.base_configs, base.reference: BaseConfig.from_image_config(config)}
    return generate(text, options._replace(base_configs=configs))
