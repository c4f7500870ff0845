"""The `package` field sets of `unikernel_image` and `pun_frontend_image`, and where their
outputs go."""

from __future__ import annotations

from dataclasses import dataclass

from pants.core.goals.package import PackageFieldSet

from pun_rules.target_types import (
    DOCKER,
    PunFrontendImageOutputPathField,
    PunFrontendImageRepositoryField,
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
        ending = "docker.tar" if self.output.value == DOCKER else "oci.tar"
        return self.output_path.value_or_default(file_ending=ending)


@dataclass(frozen=True)
class PunFrontendImageFieldSet(PackageFieldSet):
    required_fields = (PunFrontendImageRepositoryField,)

    repository: PunFrontendImageRepositoryField
    image_tags: UnikernelImageTagsField
    registries: UnikernelImageRegistriesField
    output_path: PunFrontendImageOutputPathField

    def archive_path(self) -> str:
        return self.output_path.value_or_default(file_ending="oci.tar")


def metadata_path(archive: str) -> str:
    """`NAME.image.json` next to `NAME.oci.tar` / `NAME.docker.tar` / `NAME.tar`."""
    for suffix in (".oci.tar", ".docker.tar", ".tar"):
        if archive.endswith(suffix):
            return archive[: -len(suffix)] + ".image.json"
    return archive + ".image.json"
