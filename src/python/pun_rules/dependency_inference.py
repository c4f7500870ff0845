"""Infer a `unikernel_image`'s dependencies from its COPY sources, and from FROM / COPY --from
names of other `unikernel_image`s (pun_rules.util_rules.upstream_images).

A COPY source (relative to the context root) is provided by:
- the `files`/`resources` targets owning it (or owning files below it, for a directory);
- a packageable target whose `output_path` is that path (Pants' docker backend rule);
- a `shell_command`/`adhoc_tool` whose `output_files`/`output_directories` produce it.
When several targets provide the same file, none is inferred and a warning names them all;
list the right one in `dependencies` (or exclude the others with `!`) to settle it.
"""

from __future__ import annotations

import logging
import posixpath
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Iterable, List, Optional, Set, Tuple

from pants.backend.adhoc.target_types import (
    AdhocToolOutputDirectoriesField,
    AdhocToolOutputFilesField,
    AdhocToolOutputRootDirField,
    AdhocToolWorkdirField,
)
from pants.core.goals.package import AllPackageableTargets, OutputPathField
from pants.core.target_types import FileSourceField, ResourceSourceField
from pants.core.util_rules.adhoc_process_support import parse_relative_directory
from pants.engine.addresses import Address, Addresses
from pants.engine.internals.graph import Owners, OwnersRequest
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import (
    AllTargets,
    DependenciesRequest,
    ExplicitlyProvidedDependencies,
    FieldSet,
    InferDependenciesRequest,
    InferredDependencies,
    Target,
    Targets,
)
from pants.engine.unions import UnionRule

from pun.gopath import has_wildcards
from pun_rules.target_types import (
    UnikernelImageContextRootField,
    UnikernelImageDependenciesField,
    UnikernelImageSourceField,
    resolve_context_root,
)
from pun_rules.util_rules.containerfile import ContainerfileInfo, ContainerfileRequest
from pun_rules.util_rules.copy_paths import (
    in_context,
    normalize_source,
    source_matches,
    split_wildcards,
    to_build_root,
)
from pun_rules.util_rules.upstream_images import UpstreamImagesRequest, UpstreamImageTargets

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class UnikernelInferenceFieldSet(FieldSet):
    required_fields = (UnikernelImageSourceField, UnikernelImageDependenciesField)

    source: UnikernelImageSourceField
    dependencies: UnikernelImageDependenciesField
    context_root: UnikernelImageContextRootField


class InferUnikernelImageDependencies(InferDependenciesRequest):
    infer_from = UnikernelInferenceFieldSet


@dataclass(frozen=True)
class CopySource:
    text: str  # as written
    path: str  # normalized, relative to the context root ("" is the whole context)
    line: int


@dataclass(frozen=True)
class Candidates:
    exact: Tuple[Address, ...]  # provide exactly this path: at most one may be inferred
    inside: Tuple[Address, ...]  # provide files inside it (a directory, or wildcard matches)


def codegen_outputs(target: Target) -> Tuple[Tuple[str, ...], Tuple[str, ...]]:
    """Where a shell_command/adhoc_tool's output files and directories land (build-root paths)."""
    workdir = parse_relative_directory(target[AdhocToolWorkdirField].value or "", target.address)
    root = parse_relative_directory(target[AdhocToolOutputRootDirField].value or "", workdir)

    def place(paths: Iterable[str]) -> Tuple[str, ...]:
        out = []
        for path in paths:
            full = posixpath.normpath(posixpath.join(workdir, path))
            rel = posixpath.relpath(full, root) if root else full
            if rel != ".." and not rel.startswith("../"):
                out.append(rel)
        return tuple(out)

    files = target.get(AdhocToolOutputFilesField).value or ()
    dirs = target.get(AdhocToolOutputDirectoriesField).value or ()
    return place(files), place(dirs)


def classify(source: str, path: str, is_dir: bool) -> Optional[str]:
    """'exact' when `path` is what the source names, 'inside' when it is under it, else None."""
    if source == path and not has_wildcards(source):
        return "exact"
    if source_matches(source, path):
        return "inside"
    if is_dir and (source + "/").startswith(path + "/"):
        return "inside"  # the source lies within a produced directory
    return None


def codegen_candidates(
    source: CopySource, context_root: str, targets: Iterable[Target]
) -> Candidates:
    exact: List[Address] = []
    inside: List[Address] = []
    for target in targets:
        files, dirs = codegen_outputs(target)
        kinds = set()
        for path, is_dir in [*((f, False) for f in files), *((d, True) for d in dirs)]:
            rel = in_context(path, context_root)
            if rel is not None:
                kinds.add(classify(source.path, rel, is_dir))
        if "exact" in kinds:
            exact.append(target.address)
        elif "inside" in kinds:
            inside.append(target.address)
    return Candidates(tuple(exact), tuple(inside))


def package_candidates(source: CopySource, targets: Iterable[Target]) -> Candidates:
    """Packaged dependencies sit at their output_path, relative to the context root."""
    ending = PurePath(source.path).suffix[1:] or None
    exact: List[Address] = []
    inside: List[Address] = []
    for target in targets:
        if not target.has_field(OutputPathField):
            continue
        field = target[OutputPathField]
        paths = {
            field.value_or_default(file_ending=ending),
            field.value_or_default(file_ending=None),
        }
        kinds = {classify(source.path, path, False) for path in paths}
        if "exact" in kinds:
            exact.append(target.address)
        elif "inside" in kinds:
            inside.append(target.address)
    return Candidates(tuple(exact), tuple(inside))


def _is_file_like(target: Target) -> bool:
    return target.has_field(FileSourceField) or target.has_field(ResourceSourceField)


def _file_path(target: Target) -> Optional[str]:
    """The one file of a generated `file`/`resource` target (None for a whole generator)."""
    for field_type in (FileSourceField, ResourceSourceField):
        if target.has_field(field_type):
            return target[field_type].file_path
    return None


def _takes(source: str, path: str, context_root: str) -> bool:
    rel = in_context(path, context_root)
    return rel is not None and source_matches(source, rel)


def _is_codegen(target: Target) -> bool:
    return target.has_field(AdhocToolOutputFilesField) or target.has_field(
        AdhocToolOutputDirectoriesField
    )


@rule(desc="Infer unikernel_image dependencies from COPY sources")
async def infer_unikernel_image_dependencies(
    request: InferUnikernelImageDependencies,
    all_packageable: AllPackageableTargets,
    all_targets: AllTargets,
) -> InferredDependencies:
    field_set = request.field_set
    address = field_set.address
    root = resolve_context_root(field_set.context_root.value or ".", address)
    info, explicit, upstream = await MultiGet(
        Get(ContainerfileInfo, ContainerfileRequest(address)),
        Get(ExplicitlyProvidedDependencies, DependenciesRequest(field_set.dependencies)),
        Get(UpstreamImageTargets, UpstreamImagesRequest(address)),
    )
    sources = [
        CopySource(text, normalize_source(text), line) for _, text, line in info.context_sources()
    ]
    exact_owners = await MultiGet(
        Get(Owners, OwnersRequest((to_build_root(s.path, root),))) for s in sources if s.path
    )
    # Below a wildcard's literal prefix: Pants' globs are not Go's (`[^b]`, `\\`), so the owners
    # found there are filtered with the build's own matcher below.
    inside_owners = await MultiGet(
        Get(
            Owners,
            OwnersRequest((posixpath.join(to_build_root(split_wildcards(s.path)[0], root), "**"),)),
        )
        for s in sources
    )
    owner_targets = await Get(
        Targets,
        Addresses(sorted({a for o in (*exact_owners, *inside_owners) for a in o})),
    )
    file_like = {t.address for t in owner_targets if _is_file_like(t) and t.address != address}
    file_paths = {t.address: _file_path(t) for t in owner_targets if _is_file_like(t)}
    packageable = [t for t in all_packageable if t.address != address]
    codegen = [t for t in all_targets if _is_codegen(t)]

    # FROM / COPY --from naming another unikernel_image (pun_rules.util_rules.upstream_images).
    inferred: Set[Address] = set(upstream.by_name.values())
    exact_by_source = iter(exact_owners)
    for source, inside_o in zip(sources, inside_owners):
        exact_o = next(exact_by_source) if source.path else Owners()
        matched = {
            a
            for a, path in file_paths.items()
            if path is not None and _takes(source.path, path, root)
        }
        if has_wildcards(source.path):  # a wildcard takes every match: nothing to choose between
            exact_o = Owners()
            inside_o = Owners({a: p for a, p in inside_o.items() if a in matched})
        found = [
            Candidates(
                tuple(a for a in exact_o if a in file_like),
                tuple(a for a in inside_o if a in file_like),
            ),
            codegen_candidates(source, root, codegen) if source.path else Candidates((), ()),
            package_candidates(source, packageable) if source.path else Candidates((), ()),
        ]
        exact = sorted({a for c in found for a in c.exact})
        if len(exact) == 1:
            inferred.add(exact[0])
        elif exact:
            _settle(explicit, exact, address, info.path, source, inferred)
        else:
            inferred.update(a for c in found for a in c.inside)
    return InferredDependencies(sorted(inferred))


def _settle(
    explicit: ExplicitlyProvidedDependencies,
    candidates: List[Address],
    address: Address,
    path: str,
    source: CopySource,
    inferred: Set[Address],
) -> None:
    explicit.maybe_warn_of_ambiguous_dependency_inference(
        tuple(candidates),
        address,
        import_reference="file",
        context=f"The unikernel_image {address} COPYs `{source.text}` ({path}:{source.line})",
    )
    chosen = explicit.disambiguated(tuple(candidates))
    if chosen is not None:
        inferred.add(chosen)


def rules() -> Iterable[Any]:
    return [*collect_rules(), UnionRule(InferDependenciesRequest, InferUnikernelImageDependencies)]
