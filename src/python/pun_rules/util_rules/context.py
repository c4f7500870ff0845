"""The build context of a `unikernel_image`: one Digest, as COPY sees it.

Dependencies' files (`files`, `resources`, and codegen outputs such as `shell_command` or
`adhoc_tool` output files) keep their path relative to the context root; files outside the
root are left out. Packaged dependencies (`archive`, `pex_binary`, another image, ...) are
placed at their `output_path`, as Pants' docker backend does. The Containerfile itself is not
part of the context (it is read separately, like `docker build -f`).

The ignore file `docker build` would use (`<Containerfile>.dockerignore` beside the
Containerfile, else the context root's `.dockerignore`; podman's `.containerignore` twins
after them; see `pun.dockerignore`) is read from the workspace and applied here, so the COPY
check, the cache key and the build all see the same filtered context, and its patterns go
into the LLB's context source (`local.excludepatterns`), as the Dockerfile frontend puts them.
A context-root ignore file is itself part of the context, as with docker (`COPY . /` copies it
unless it lists itself).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Iterable, List, Optional, Tuple

from pants.core.goals.package import BuiltPackage, EnvironmentAwarePackageRequest, PackageFieldSet
from pants.core.target_types import FileSourceField, ResourceSourceField
from pants.core.util_rules.source_files import SourceFiles, SourceFilesRequest
from pants.engine.addresses import Address
from pants.engine.fs import (
    CreateDigest,
    Digest,
    DigestContents,
    DigestEntries,
    DigestSubset,
    FileContent,
    FileEntry,
    GlobMatchErrorBehavior,
    MergeDigests,
    PathGlobs,
    RemovePrefix,
    Snapshot,
)
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

from pun.diagnostics import PunError
from pun.dockerignore import kept_files, read_patterns
from pun.ignorefiles import CONTAINERIGNORE, DOCKERIGNORE, ignore_file_candidates
from pun_rules.errors import UnikernelImageError
from pun_rules.target_types import (
    UnikernelImageContextRootField,
    UnikernelImageDependenciesField,
    UnikernelImageSourceField,
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
    ignore_file: Optional[str] = None  # the ignore file used, relative to the build root
    excludes: Tuple[str, ...] = ()  # its patterns (the LLB's local.excludepatterns)
    excluded: Tuple[str, ...] = ()  # context files the patterns left out

    @property
    def digest(self) -> Digest:
        return self.snapshot.digest


async def _ignore_file(containerfile: str, root: str) -> Optional[Tuple[str, bytes]]:
    candidates = ignore_file_candidates(root, containerfile)
    contents = await Get(
        DigestContents,
        PathGlobs(candidates, glob_match_error_behavior=GlobMatchErrorBehavior.ignore),
    )
    found = {c.path: c.content for c in contents}
    for candidate in candidates:
        if candidate in found:
            return candidate, found[candidate]
    return None


def _context_relative(path: str, root: str) -> Optional[str]:
    """The context path of a context-root ignore file; None for one beside the Containerfile."""
    name = path.rsplit("/", 1)[-1]
    if name not in (DOCKERIGNORE, CONTAINERIGNORE):
        return None
    parent = path[: -len(name)].rstrip("/")
    return name if parent == root else None


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
    dependencies = await Get(Targets, DependenciesRequest(target[UnikernelImageDependenciesField]))
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
    containerfile = target[UnikernelImageSourceField].file_path
    ignore = await _ignore_file(containerfile, root)
    if ignore is None:
        return BuildContext(snapshot, root, left_out, packaged)
    path, data = ignore
    try:
        patterns = read_patterns(data, path)
    except PunError as exc:
        raise UnikernelImageError.from_pun(request.address, exc) from None
    in_root = _context_relative(path, root)
    listed = list(snapshot.files)
    if in_root is not None and in_root not in listed:
        listed.append(in_root)
    kept = set(kept_files(listed, patterns))
    entries = await Get(DigestEntries, Digest, snapshot.digest)
    chosen: List[Any] = [e for e in entries if isinstance(e, FileEntry) and e.path in kept]
    extra_files = [FileContent(in_root, data)] if in_root is not None and in_root in kept else []
    filtered = await Get(
        Snapshot,
        MergeDigests(
            [await Get(Digest, CreateDigest(chosen)), await Get(Digest, CreateDigest(extra_files))]
        ),
    )
    excluded = tuple(sorted(f for f in snapshot.files if f not in kept))
    if excluded:
        logger.debug(f"{request.address}: {path} excludes {excluded}")
    return BuildContext(filtered, root, left_out, packaged, path, patterns, excluded)


def check_copy_sources(info: ContainerfileInfo, context: BuildContext) -> None:
    """Every COPY source must match something in the context; say which target could add it."""
    problems: List[str] = []
    files = context.snapshot.files
    for what, source, at in info.context_sources():
        normalized = normalize_source(source)
        if matching(normalized, files):
            continue
        line = f"{info.path}:{at}: {what} {source}: nothing in the build context matches"
        if context.ignore_file and matching(normalized, context.excluded):
            problems.append(f"{line} ({context.ignore_file} excludes it)")
            continue
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
