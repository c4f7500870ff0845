"""`pants publish` for `unikernel_image` and `pun_frontend_image`: push the archive `package`
built, never a second build.

One `pun push` per registry: blobs, then the manifest by digest, then each tag. The manifest is
pushed byte for byte, so the digest and the annotations are those of the archive in dist/.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, List

from pants.backend.python.util_rules.pex import VenvPexProcess
from pants.core.goals.publish import (
    PublishFieldSet,
    PublishOutputData,
    PublishPackages,
    PublishProcesses,
    PublishRequest,
)
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.process import InteractiveProcess, Process
from pants.engine.rules import Get, collect_rules, rule

from pun_rules.frontend_target_types import PunFrontendImageRepositoryField
from pun_rules.goals.package import BuiltUnikernelImage
from pun_rules.subsystems.pun import PunSubsystem
from pun_rules.subsystems.pun_tool import PunToolPex
from pun_rules.target_types import (
    UnikernelImageRegistriesField,
    UnikernelImageSkipPushField,
    UnikernelImageSourceField,
)


class PublishUnikernelImageRequest(PublishRequest):
    pass


@dataclass(frozen=True)
class PublishUnikernelImageFieldSet(PublishFieldSet):
    publish_request_type = PublishUnikernelImageRequest
    required_fields = (UnikernelImageSourceField, UnikernelImageRegistriesField)

    source: UnikernelImageSourceField
    registries: UnikernelImageRegistriesField
    skip_push: UnikernelImageSkipPushField

    def get_output_data(self) -> PublishOutputData:
        return pun_output_data(self, self.registries)


def pun_output_data(
    field_set: PublishFieldSet, registries: UnikernelImageRegistriesField
) -> PublishOutputData:
    """What `publish` reports for one target (and writes with `--publish-output`)."""
    return PublishOutputData(
        {
            "publisher": "pun",
            "registries": registries.value or (),
            **PublishFieldSet.get_output_data(field_set),
        }
    )


def push_argv(archive: str, names: Iterable[str], insecure: bool) -> List[str]:
    return [
        "push",
        "--progress=plain",
        *(["--insecure-registry"] if insecure else []),
        archive,
        *names,
    ]


class PublishPunFrontendImageRequest(PublishRequest):
    pass


@dataclass(frozen=True)
class PublishPunFrontendImageFieldSet(PublishFieldSet):
    publish_request_type = PublishPunFrontendImageRequest
    required_fields = (PunFrontendImageRepositoryField, UnikernelImageRegistriesField)

    repository: PunFrontendImageRepositoryField
    registries: UnikernelImageRegistriesField
    skip_push: UnikernelImageSkipPushField

    def get_output_data(self) -> PublishOutputData:
        return pun_output_data(self, self.registries)


@dataclass(frozen=True)
class ImagePushes:
    """What to push: the built packages of one target, and whether the target skips pushing."""

    request: PublishRequest
    skip_push: bool


@rule(desc="Publish unikernel images")
async def publish_unikernel_images(request: PublishUnikernelImageRequest) -> PublishProcesses:
    return await Get(
        PublishProcesses, ImagePushes(request, bool(request.field_set.skip_push.value))
    )


@rule(desc="Publish pun frontend images")
async def publish_pun_frontend_images(
    request: PublishPunFrontendImageRequest,
) -> PublishProcesses:
    return await Get(
        PublishProcesses, ImagePushes(request, bool(request.field_set.skip_push.value))
    )


@rule(desc="Push image archives")
async def push_image_archives(
    pushes: ImagePushes, pun_options: PunSubsystem, tool: PunToolPex
) -> PublishProcesses:
    request = pushes.request
    images = [
        (package, artifact)
        for package in request.packages
        for artifact in package.artifacts
        if isinstance(artifact, BuiltUnikernelImage)
    ]
    if pushes.skip_push:
        names = tuple(name for _, image in images for name in image.names)
        return PublishProcesses(
            [
                PublishPackages(
                    names=names,
                    description=f"(by `skip_push` on {request.field_set.address})",
                )
            ]
        )
    env = await Get(EnvironmentVars, EnvironmentVarsRequest(pun_options.publish_env_vars))
    jobs = []
    for package, image in images:
        assert image.relpath is not None
        for push in image.pushes:
            if push.skip_reason:
                jobs.append(PublishPackages(names=push.names, description=push.skip_reason))
                continue
            process = await Get(
                Process,
                VenvPexProcess(
                    tool.pex,
                    argv=push_argv(image.relpath, push.names, push.insecure),
                    description=f"Pushing {image.image_digest} to "
                    f"{push.registry or push.names[0]}",
                    input_digest=package.digest,
                    extra_env=dict(env),
                ),
            )
            jobs.append(
                PublishPackages(names=push.names, process=InteractiveProcess.from_process(process))
            )
    return PublishProcesses(jobs)


def rules() -> Iterable[Any]:
    return [
        *collect_rules(),
        *PublishUnikernelImageFieldSet.rules(),
        *PublishPunFrontendImageFieldSet.rules(),
    ]
