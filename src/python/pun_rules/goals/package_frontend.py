"""`pants package` for `pun_frontend_image`: freeze pun into its BuildKit frontend image.

A sandboxed process (the `[pun-frontend-freezer]` PEX) runs PyInstaller and writes the image as an
unnamed archive; Pants caches it like any process, keyed on pun's sources, the locked
requirements, the interpreter and the versions of the system tools (see
`subsystems/frontend_freezer.py`). A second, cheap process names it (tags, registries).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Dict, Iterable, List, Mapping

from pants.backend.python.util_rules.pex import VenvPexProcess
from pants.core.goals.package import BuiltPackage, BuiltPackageArtifact, PackageFieldSet
from pants.engine.addresses import Address
from pants.engine.fs import (
    CreateDigest,
    Digest,
    DigestContents,
    DigestSubset,
    FileContent,
    MergeDigests,
    PathGlobs,
)
from pants.engine.process import FallibleProcessResult
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.unions import UnionRule
from pants.util.logging import LogLevel

import pun
from pun_rules.errors import UnikernelImageError
from pun_rules.field_sets import PunFrontendImageFieldSet, metadata_path
from pun_rules.goals.package import built_image
from pun_rules.image_info import ImageInfo
from pun_rules.sandbox.freeze_frontend import ENTRYPOINT
from pun_rules.subsystems.frontend_freezer import FrontendFreezerPex
from pun_rules.subsystems.pun import PunSubsystem
from pun_rules.target_types import OCI
from pun_rules.util_rules.image_refs import ImageName, image_names, interpolation_context

ALIAS = "pun_frontend_image"
METADATA_FILE = "__pun_frontend_image.json"
FROZEN_ARCHIVE = "__pun_frontend_frozen.tar"


def frontend_labels() -> Dict[str, str]:
    """The image config's labels. The first tells BuildKit the frontend needs no network."""
    return {
        "moby.buildkit.frontend.network.none": "true",
        "org.opencontainers.image.title": "pun",
        "org.opencontainers.image.version": pun.__version__,
        "org.opencontainers.image.description": "pun as a BuildKit frontend: #syntax=<this image>",
    }


def freeze_argv(output: str, labels: Mapping[str, str]) -> List[str]:
    argv = ["--output", FROZEN_ARCHIVE, "--format", output, "--metadata", METADATA_FILE]
    for key, value in sorted(labels.items()):
        argv += ["--label", f"{key}={value}"]
    return argv


def name_argv(archive: str, names: Iterable[ImageName]) -> List[str]:
    argv = ["--from", FROZEN_ARCHIVE, "--output", archive]
    for name in names:
        argv += ["--name", name.name]
    return argv


def _failed(address: Address, what: str, result: FallibleProcessResult) -> UnikernelImageError:
    return UnikernelImageError(
        address,
        f"{what} failed (exit code {result.exit_code}):\n"
        + result.stderr.decode("utf-8", "replace").rstrip(),
        alias=ALIAS,
    )


@rule(desc="Package the pun frontend image", level=LogLevel.DEBUG)
async def package_pun_frontend_image(
    field_set: PunFrontendImageFieldSet, pun_options: PunSubsystem, freezer: FrontendFreezerPex
) -> BuiltPackage:
    address = field_set.address
    archive = field_set.archive_path()
    labels = frontend_labels()
    output = field_set.output.value or OCI
    env = {
        "PUN_FREEZE_PATH": freezer.tools_path,
        "SOURCE_DATE_EPOCH": str(pun_options.source_date_epoch),
        # Not read by the script: the tools' and the interpreter's versions (glibc, libpython
        # go into the image) become part of the cache key.
        "PUN_FREEZE_FINGERPRINT": freezer.fingerprint,
    }
    # Everything that can change the image's bytes (the names only reach its index).
    inputs = {"pex": freezer.pex.digest.fingerprint, "labels": labels, "env": env, "output": output}
    pants_hash = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    registries = pun_options.registries().select(
        tuple(field_set.registries.value or ()), f"{ALIAS} {address}"
    )
    names = image_names(
        address,
        interpolation_context(address, {}, pants_hash),
        field_set.repository.value or "pun",
        tuple(field_set.image_tags.value or ()),
        registries,
        alias=ALIAS,
    )
    # Two processes: the freeze (slow, cached on what goes into the image) writes an unnamed
    # archive; naming it (a copy) depends on the tags and registries, so changing those never
    # freezes again.
    frozen = await Get(
        FallibleProcessResult,
        VenvPexProcess(
            freezer.pex,
            argv=freeze_argv(output, labels),
            description=f"Freeze pun {pun.__version__} into the frontend image {address}",
            extra_env=env,
            output_files=(FROZEN_ARCHIVE, METADATA_FILE),
            level=LogLevel.DEBUG,
        ),
    )
    if frozen.exit_code != 0:
        raise _failed(address, "freezing pun", frozen)
    frozen_archive, metadata = await MultiGet(
        Get(Digest, DigestSubset(frozen.output_digest, PathGlobs([FROZEN_ARCHIVE]))),
        Get(DigestContents, DigestSubset(frozen.output_digest, PathGlobs([METADATA_FILE]))),
    )
    named = await Get(
        FallibleProcessResult,
        VenvPexProcess(
            freezer.pex,
            argv=name_argv(archive, names),
            description=f"Name the frontend image {address}",
            input_digest=frozen_archive,
            extra_env={"SOURCE_DATE_EPOCH": env["SOURCE_DATE_EPOCH"]},
            output_files=(archive,),
            level=LogLevel.DEBUG,
        ),
    )
    if named.exit_code != 0:
        raise _failed(address, "naming the frontend image", named)
    archive_digest = named.output_digest
    built = json.loads(metadata[0].content)
    info = ImageInfo(
        kind=ALIAS,
        address=str(address),
        archive=archive,
        digest=built["containerimage.digest"],
        config_digest=built["containerimage.config.digest"],
        names=tuple(n.name for n in names),
        labels=labels,
        annotations=built["annotations"],
        platform=built["platform"],
        output=output,
        pants_hash=pants_hash,
        details={
            "entrypoint": [ENTRYPOINT],
            "layer_bytes": built["layer_bytes"],
            "system_libraries": built["system_libraries"],
            "smoke_test": built["smoke_test"],
        },
    )
    image_json = metadata_path(archive)
    described = await Get(Digest, CreateDigest([FileContent(image_json, info.to_bytes())]))
    digest = await Get(Digest, MergeDigests([archive_digest, described]))
    artifact = built_image("pun frontend image", address, info, names)
    return BuiltPackage(digest, (artifact, BuiltPackageArtifact(relpath=image_json)))


def rules() -> Iterable[Any]:
    return [*collect_rules(), UnionRule(PackageFieldSet, PunFrontendImageFieldSet)]
