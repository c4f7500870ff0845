"""The build context of a `unikernel_image`: one Digest, as COPY sees it.

Dependencies' files (`files`, `resources`, and codegen outputs such as `shell_command` or
`adhoc_tool` output files) keep their path relative to the context root; files outside the
root are left out. Packaged dependencies (`archive`, `pex_binary`, another image, ...) are
placed at their `output_path`, as Pants' docker backend does. The Containerfile itself is not
part of the context (it is read separately, like `docker build -f`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Iterable, List, Tuple

from pants.core.goals.package import BuiltPackage, EnvironmentAwarePackageRequest, PackageFieldSet
from pants.core.target_types import FileSourceField, ResourceSourceField
from pants.core.util_rules.source_files import SourceFiles, SourceFilesRequest
from pants.engine.addresses import Address
from pants.engine.fs import Digest, DigestSubset, MergeDigests, PathGlobs, RemovePrefix, Snapshot
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import (
    DependenciesRequest,
    FieldSetsPerTarget,
    FieldSetsPerTargetRequest,
    SourcesField,
    Targets,
    WrappedTarget,
    WrappedTargetRequest,
)

from pun_rules.errors import UnikernelImageError
from pun_rules.target_types import (
    UnikernelImageContextRootField,
    UnikernelImageDependenciesField,
    resolve_context_root,
)
from pun_rules.util_rules.containerfile import ContainerfileInfo
from pun_rules.util_rules.copy_paths import in_context, matching, normalize_source, suggestions

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildContextRequest:
    address: Address


@dataclass(frozen=True)
class BuildContext:
    snapshot: Snapshot  # paths relative to the context root
    context_root: str  # relative to the build root; "" is the build root
    left_out: Tuple[str, ...]  # dependency files outside the context root
    packaged: Tuple[str, ...]  # output paths of packaged dependencies

    @property
    def digest(self) -> Digest:
        return self.snapshot.digest


@rule(desc="Assemble a unikernel build context")
async def assemble_build_context(request: BuildContextRequest) -> BuildContext:
    wrapped = await Get(
        WrappedTarget,
        WrappedTargetRequest(request.address, description_of_origin="<pun build context>"),
    )
    target = wrapped.target
    root = resolve_context_root(
        target[UnikernelImageContextRootField].value or ".", request.address
    )
    dependencies = await Get(
        Targets, DependenciesRequest(target[UnikernelImageDependenciesField])
    )
    sources, field_sets = await MultiGet(
        Get(
            SourceFiles,
            SourceFilesRequest(
                [t.get(SourcesField) for t in dependencies],
                for_sources_types=(FileSourceField, ResourceSourceField),
                enable_codegen=True,
            ),
        ),
        Get(FieldSetsPerTarget, FieldSetsPerTargetRequest(PackageFieldSet, dependencies)),
    )
    packages = await MultiGet(
        Get(BuiltPackage, EnvironmentAwarePackageRequest(field_set))
        for field_set in field_sets.field_sets
    )
    files = sources.snapshot.files
    left_out = tuple(f for f in files if in_context(f, root) is None)
    relocated = sources.snapshot.digest
    if root:
        inside = await Get(Digest, DigestSubset(relocated, PathGlobs([f"{root}/**"])))
        relocated = await Get(Digest, RemovePrefix(inside, root))
    snapshot = await Get(Snapshot, MergeDigests([relocated, *(p.digest for p in packages)]))
    packaged = tuple(a.relpath for p in packages for a in p.artifacts if a.relpath)
    if left_out:
        logger.debug(f"{request.address}: left out of the context (outside {root!r}): {left_out}")
    return BuildContext(snapshot, root, left_out, packaged)


def check_copy_sources(info: ContainerfileInfo, context: BuildContext) -> None:
    """Every COPY source must match something in the context; say which target could add it."""
    problems: List[str] = []
    files = context.snapshot.files
    for copy in info.plan.copies:
        for source in copy.sources:
            normalized = normalize_source(source)
            if matching(normalized, files):
                continue
            line = f"{info.path}:{copy.line}: COPY {source}: nothing in the build context matches"
            close = suggestions(normalized, files)
            if close:
                line += f" (did you mean {', '.join(close)}?)"
            problems.append(line)
    if not problems:
        return
    root = context.context_root or "the build root"
    hint = (
        f"COPY sources are relative to the context root ({root}). Give the file a `files` or "
        "`resources` target (inferred as a dependency), or produce it with a `shell_command`, "
        "`adhoc_tool` or packageable target listed in `dependencies`."
    )
    if context.left_out:
        hint += (
            f" {len(context.left_out)} dependency file(s) lie outside the context root, e.g. "
            f"{context.left_out[0]}; change `context_root` to include them."
        )
    raise UnikernelImageError(info.address, "\n" + "\n".join(problems), hint)


def rules() -> Iterable[Any]:
    return collect_rules()
