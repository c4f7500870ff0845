"""The public API: Containerfile text + options -> Definition bytes, image spec, source map.

Like BuildKit's Dockerfile-to-LLB conversion, `generate` returns everything an image needs:
the LLB, the image description every builder writes (`pun.imagespec.ImageSpec`) and which
Containerfile line each op came from. Used by the CLI, the frontend and the Pants plugin.
"""

from __future__ import annotations

from pun.containerfile.parser import ParseOptions, parse_containerfile
from pun.containerfile.plan import BaseUnknownError, PackPlan
from pun.convert import (
    COMPAT_DOCKER,
    COMPAT_MODES,
    COMPAT_PUN,
    ConvertOptions,
    base_pull_platform,
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
from pun.urunc import HYPERVISOR, LabelSite, urunc_json, validate
from pun.urunc_bridge import bridge

TYPE_CHECKING = False  # typing is imported for mypy only: see pun.records
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Mapping, Optional, Set, Tuple


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
                ignore_base_config=options.compat == COMPAT_PUN,
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
    try:
        return _generate(text, plan, options)
    except BaseUnknownError:
        raise
    except PunError as exc:
        if not _base_unknown(plan, options):
            raise
        # A label's $VAR, say, may come from the base's Env: BasePlanner plans again with it.
        hypervisor = plan.label_values().get(HYPERVISOR)
        raise BaseUnknownError(exc.diagnostics, plan.base, hypervisor, plan) from None


def _base_unknown(plan: PackPlan, options: GenerateOptions) -> bool:
    reference = plan.base.reference
    return (
        options.compat != COMPAT_PUN
        and reference is not None
        and str(reference) not in options.base_configs
    )


def _generate(text: str, plan: PackPlan, options: GenerateOptions) -> Generated:
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
        labels,
        plan.label_lines(),
        plan.config,
        guest_args,
        plan.path,
        base_entrypoint,
        derive=options.compat != COMPAT_PUN,  # the original wrote the labels only
    )
    if bridged.needs_base_config:
        plan = plan._replace(needs_base_config=True)
    packed = {**labels, **bridged.derived}
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


class BasePlanner:
    """generate(), with the base image's config where it changes the plan, in steps the caller
    drives: BuildKit resolves the base before converting (`dockerfile2llb` toDispatchState);
    pun plans without it first and resolves only when that plan depends on it, so FROM scratch,
    `--compat pun` and most builds pay nothing. One rule for every resolver (`pun build`, the
    frontend, the Pants rule's Process):

        planner = BasePlanner(text, options)
        base = planner.base_to_resolve()
        while base is not None:
            planner.resolved(base, config_of(base))  # a BaseConfig, or None: none to be had
            base = planner.base_to_resolve()
        generated = planner.result()  # raises the last plan's PunError

    (`run(resolve)` is that loop with a callback; the Pants rule, whose resolver is a Process
    it awaits, writes the loop out.)

    The config is needed when the plan says so (PackPlan.needs_base_config) or when it failed
    after `FROM <image>` (BaseUnknownError: the config may be what it lacked); that plan's
    error is reported only if the config cannot be had, else the next plan's. A config
    resolved for another platform than the next plan pulls (a hypervisor label read from the
    base's Env moves a unikraft.org base) is resolved again, once per (image, platform).
    """

    def __init__(self, text: str, options: GenerateOptions) -> None:
        self.text = text
        self.options = options  # with every resolved config in base_configs
        self._tried: Set[BaseSpec] = set()
        self._resolved_for: Dict[str, BaseSpec] = {}
        self._plan(options)

    def _plan(self, options: GenerateOptions) -> None:
        self.options = options
        self._failure: Optional[PunError] = None
        self._generated: Optional[Generated] = None
        self._needed: Optional[BaseSpec] = None
        self.from_line: Optional[int] = None  # the FROM line, for a resolver's messages
        try:
            self._generated = generate(self.text, options)
        except BaseUnknownError as exc:
            self._failure, self.from_line = exc, exc.base.line
            convert = ConvertOptions(
                target_platform=options.target_platform, base_platform=options.base_platform
            )
            platform = base_pull_platform(exc.base, exc.hypervisor, convert)
            if exc.base.reference is not None and platform is not None:
                self._needed = BaseSpec(str(exc.base.reference), platform)
            return
        except PunError as exc:
            self._failure = exc
            return
        self.from_line = self._generated.plan.base.line
        base = self._generated.image.base
        if base is None:
            return
        elsewhere = self._resolved_for.get(base.reference, base) != base
        if self._generated.plan.needs_base_config or elsewhere:
            self._needed = base

    @property
    def failed(self) -> bool:
        """The last plan failed: a resolver that fails too should not hide its error."""
        return self._failure is not None

    def base_to_resolve(self) -> Optional[BaseSpec]:
        """The base image (and the platform it is pulled for) whose config the plan needs."""
        return None if self._needed in self._tried else self._needed

    def resolved(self, base: BaseSpec, config: Optional[BaseConfig]) -> None:
        """Plan again with `base`'s config; None keeps the plan (and its warnings or error)."""
        self._tried.add(base)
        if config is None:
            return
        self._resolved_for[base.reference] = base
        configs = {**self.options.base_configs, base.reference: config}
        self._plan(self.options._replace(base_configs=configs))

    def result(self) -> Generated:
        if self._failure is not None:
            raise self._failure
        assert self._generated is not None
        return self._generated

    def run(self, resolve: Callable[[BaseSpec], Optional[Mapping[str, Any]]]) -> Generated:
        """The loop, with `resolve` (base -> its image config JSON, or None)."""
        base = self.base_to_resolve()
        while base is not None:
            try:
                config = resolve(base)
            except PunError:
                if not self.failed:
                    raise
                config = None  # the plan's own error (reported by result()) says more
            self.resolved(base, None if config is None else BaseConfig.from_image_config(config))
            base = self.base_to_resolve()
        return self.result()


def generate_with_base(
    text: str,
    options: GenerateOptions,
    resolve: Callable[[BaseSpec], Optional[Mapping[str, Any]]],
) -> Generated:
    """generate(), resolving the base's config with `resolve` (base -> its image config JSON,
    or None: keep the plan) where the plan depends on it (BasePlanner)."""
    return BasePlanner(text, options).run(resolve)
