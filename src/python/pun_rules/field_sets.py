"""The `package` field sets of `unikernel_image` and `pun_frontend_image`, and where their
outputs go."""

from __future__ import annotations

from dataclasses import dataclass

from pants.core.goals.package import OutputPathField, PackageFieldSet

from pun_rules.frontend_target_types import (
    PunFrontendImageOutputPathField,
    PunFrontendImageRepositoryField,
)
from pun_rules.target_types import (
    DOCKER,
    UnikernelImageAnnotationsField,
    UnikernelImageOutputField,
    UnikernelImageOutputPathField,
    UnikernelImageRegistriesField,
    UnikernelImageRepositoryField,
    UnikernelImageSourceField,
    UnikernelImageSquashField,
    UnikernelImageStrictField,
    UnikernelImageTagsField,
)


@dataclass(frozen=True)
class UnikernelImageFieldSet(PackageFieldSet):
    required_fields = (UnikernelImageSourceField,)

    source: UnikernelImageSourceField
    repository: UnikernelImageRepositoryField
    image_tags: UnikernelImageTagsField
    registries: UnikernelImageRegistriesField
    annotations: UnikernelImageAnnotationsField
    output: UnikernelImageOutputField
    squash: UnikernelImageSquashField
    strict: UnikernelImageStrictField
    output_path: UnikernelImageOutputPathField

    def archive_path(self) -> str:
        return archive_path(self.output, self.output_path)


@dataclass(frozen=True)
class PunFrontendImageFieldSet(PackageFieldSet):
    required_fields = (PunFrontendImageRepositoryField,)

    repository: PunFrontendImageRepositoryField
    image_tags: UnikernelImageTagsField
    registries: UnikernelImageRegistriesField
    output: UnikernelImageOutputField
    output_path: PunFrontendImageOutputPathField

    def archive_path(self) -> str:
        return archive_path(self.output, self.output_path)


def archive_path(output: UnikernelImageOutputField, output_path: OutputPathField) -> str:
    """`NAME.oci.tar` or `NAME.docker.tar`, unless `output_path` says otherwise."""
    ending = "docker.tar" if output.value == DOCKER else "oci.tar"
    return output_path.value_or_default(file_ending=ending)


def metadata_path(archive: str) -> str:
    """`NAME.image.json` next to `NAME.oci.tar` / `NAME.docker.tar` / `NAME.tar`."""
    for suffix in (".oci.tar", ".docker.tar", ".tar"):
        if archive.endswith(suffix):
            return archive[: -len(suffix)] + ".image.json"
    return archive + ".image.json"
