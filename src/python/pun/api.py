"""The public API: Containerfile text + options -> Definition bytes (+ the plan).

Used by the CLI, the Pants plugin and anything else that wants LLB without a subprocess.
"""

from __future__ import annotations

from typing import List, Mapping, NamedTuple, Optional, Tuple

from pun.containerfile.parser import ParseOptions, parse_containerfile
from pun.containerfile.plan import PackPlan
from pun.convert import ConvertOptions, plan_to_state
from pun.diagnostics import Diagnostic, PunError, Severity
from pun.llb.identity import new_id
from pun.llb.marshal import MarshalOptions, marshal
from pun.llb.state import normalize_dest
from pun.platform import DEFAULT_TARGET, Platform
from pun.urunc import LabelSite, validate


class GenerateOptions(NamedTuple):
    path: str = "Containerfile"
    build_args: Mapping[str, str] = {}
    target_platform: Platform = DEFAULT_TARGET
    # Forces the base image's platform, overriding the unikraft/linux rule (not FROM --platform).
    base_platform: Optional[Platform] = None
    # None: a fresh random id per call, as BuildKit's client does. Pin it for reproducible LLB.
    local_unique_id: Optional[str] = None
    # urunc schema findings are errors when strict, warnings otherwise.
    strict: bool = False


class Generated(NamedTuple):
    definition: bytes
    plan: PackPlan
    warnings: Tuple[Diagnostic, ...]


def read_plan(text: str, options: GenerateOptions = GenerateOptions()) -> PackPlan:
    return parse_containerfile(
        text,
        ParseOptions(
            path=options.path,
            build_args=options.build_args,
            target_platform=options.target_platform,
        ),
    )


def check_urunc(plan: PackPlan) -> List[Diagnostic]:
    """urunc schema findings for a plan (all with severity ERROR)."""
    lines = plan.label_lines()
    sites = {key: LabelSite(value, lines.get(key)) for key, value in plan.label_values().items()}
    destinations = tuple(normalize_dest(copy.dest) for copy in plan.copies)
    return validate(sites, destinations, plan.base.is_scratch, plan.path, plan.base.line)


def generate(text: str, options: GenerateOptions = GenerateOptions()) -> Generated:
    """Raise PunError for input that cannot be packed (or fails urunc checks when strict)."""
    plan = read_plan(text, options)
    findings = check_urunc(plan)
    if findings and options.strict:
        raise PunError(findings)
    as_warnings = tuple(
        Diagnostic(Severity.WARNING, f.message, f.path, f.line, f.hint) for f in findings
    )
    state = plan_to_state(
        plan,
        ConvertOptions(
            target_platform=options.target_platform, base_platform=options.base_platform
        ),
    )
    unique = options.local_unique_id if options.local_unique_id is not None else new_id()
    definition = marshal(state, MarshalOptions(local_unique_id=unique))
    return Generated(definition=definition, plan=plan, warnings=plan.warnings + as_warnings)
