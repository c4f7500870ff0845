"""`pants package` for `unikernel_initrd`: `pun initrd` in a sandboxed, cached process.

The inputs are the target's own files and its dependencies' files (codegen outputs included) at
their build-root paths; the output is the one archive at the target's `output_path`, so an
unchanged initrd is never rebuilt and a `unikernel_image` finds it in its build context.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any, Dict, Iterable, List, Tuple

from pants.backend.python.util_rules.pex import VenvPexProcess
from pants.core.goals.package import BuiltPackage, BuiltPackageArtifact, PackageFieldSet
from pants.core.target_types import FileSourceField, ResourceSourceField
from pants.core.util_rules.source_files import SourceFiles, SourceFilesRequest
from pants.engine.addresses import Address
from pants.engine.fs import Digest, DigestSubset, PathGlobs
from pants.engine.process import FallibleProcessResult, Process
from pants.engine.rules import Get, collect_rules, rule
from pants.engine.target import DependenciesRequest, SourcesField, Targets
from pants.engine.unions import UnionRule
from pants.util.logging import LogLevel

from pun_rules.errors import UnikernelImageError
from pun_rules.initrd_target_types import (
    GZIP,
    UnikernelInitrdCompressionField,
    UnikernelInitrdDependenciesField,
    UnikernelInitrdDirectoriesField,
    UnikernelInitrdLayoutField,
    UnikernelInitrdOutputPathField,
    UnikernelInitrdSourcesField,
    UnikernelInitrdSymlinksField,
)
from pun_rules.subsystems.pun import PunSubsystem
from pun_rules.subsystems.pun_tool import PunToolPex

ALIAS = "unikernel_initrd"


@dataclass(frozen=True)
class UnikernelInitrdFieldSet(PackageFieldSet):
    required_fields = (UnikernelInitrdCompressionField,)

    sources: UnikernelInitrdSourcesField
    dependencies: UnikernelInitrdDependenciesField
    layout: UnikernelInitrdLayoutField
    symlinks: UnikernelInitrdSymlinksField
    directories: UnikernelInitrdDirectoriesField
    compression: UnikernelInitrdCompressionField
    output_path: UnikernelInitrdOutputPathField

    def archive_path(self) -> str:
        ending = "cpio.gz" if self.compression.value == GZIP else "cpio"
        return self.output_path.value_or_default(file_ending=ending)


def placements(
    address: Address, files: Iterable[str], layout: Dict[str, str]
) -> Tuple[Tuple[str, str], ...]:
    """(build-root path, initrd path) for every input file: `layout` first, else `/` + the
    path relative to the BUILD file's directory."""
    base = address.spec_path
    relative = {posixpath.relpath(f, base) if base else f: f for f in files}
    unknown = [src for src in layout if posixpath.normpath(src) not in relative]
    if unknown:
        close = get_close_matches(unknown[0], list(relative), n=3)
        raise UnikernelImageError(
            address,
            f"`layout` names {unknown[0]!r}, but no file of `sources` or `dependencies` is there",
            "layout keys are paths relative to the BUILD file's directory"
            + (f"; did you mean {', '.join(close)}?" if close else "")
            + " (files the target has: "
            + (", ".join(sorted(relative)[:8]) or "none")
            + ")",
            alias=ALIAS,
        )
    wanted = {posixpath.normpath(src): dst for src, dst in layout.items()}
    out: List[Tuple[str, str]] = []
    for rel, path in sorted(relative.items()):
        if rel in wanted:
            out.append((path, wanted[rel]))
        elif rel == ".." or rel.startswith("../"):
            raise UnikernelImageError(
                address,
                f"{path} lies outside {base or 'the build root'}, so it has no place by default",
                f'place it with `layout={{"{rel}": "/DST"}}`',
                alias=ALIAS,
            )
        else:
            out.append((path, "/" + rel))
    return tuple(out)


def initrd_argv(
    field_set: UnikernelInitrdFieldSet, pairs: Iterable[Tuple[str, str]], epoch: int
) -> Tuple[str, ...]:
    argv = ["initrd", f"--output={field_set.archive_path()}", f"--source-date-epoch={epoch}"]
    argv += [f"{src}:{dst}" for src, dst in pairs]
    for path, target in sorted((field_set.symlinks.value or {}).items()):
        argv.append(f"--symlink={path}={target}")
    argv += [f"--dir={d}" for d in field_set.directories.value or ()]
    if field_set.compression.value == GZIP:
        argv.append("--gzip")
    return tuple(argv)


@rule(desc="Package a unikernel initrd", level=LogLevel.DEBUG)
async def package_unikernel_initrd(
    field_set: UnikernelInitrdFieldSet, pun_options: PunSubsystem, tool: PunToolPex
) -> BuiltPackage:
    dependencies = await Get(Targets, DependenciesRequest(field_set.dependencies))
    sources = await Get(
        SourceFiles,
        SourceFilesRequest(
            [field_set.sources, *(t.get(SourcesField) for t in dependencies)],
            for_sources_types=(UnikernelInitrdSourcesField, FileSourceField, ResourceSourceField),
            enable_codegen=True,
        ),
    )
    layout = dict(field_set.layout.value or {})
    pairs = placements(field_set.address, sources.snapshot.files, layout)
    out = field_set.archive_path()
    process = await Get(
        Process,
        VenvPexProcess(
            tool.pex,
            argv=initrd_argv(field_set, pairs, pun_options.source_date_epoch),
            description=f"Building unikernel initrd {field_set.address}",
            level=LogLevel.INFO,
            input_digest=sources.snapshot.digest,
            output_files=(out,),
        ),
    )
    result = await Get(FallibleProcessResult, Process, process)
    if result.exit_code != 0:
        raise UnikernelImageError(
            field_set.address,
            f"`pun initrd` failed (exit code {result.exit_code}):\n"
            + result.stderr.decode("utf-8", "replace").rstrip(),
            alias=ALIAS,
        )
    digest = await Get(Digest, DigestSubset(result.output_digest, PathGlobs([out])))
    return BuiltPackage(digest, (BuiltPackageArtifact(relpath=out),))


def rules() -> Iterable[Any]:
    return [*collect_rules(), UnionRule(PackageFieldSet, UnikernelInitrdFieldSet)]
