"""The `pun_frontend_image` target: pun itself, frozen, as the BuildKit frontend image for
`#syntax=`."""

from __future__ import annotations

from pants.core.goals.package import OutputPathField
from pants.engine.target import COMMON_TARGET_FIELDS, Target
from pants.util.strutil import help_text

from pun_rules.target_types import (
    UnikernelImageOutputField,
    UnikernelImageRegistriesField,
    UnikernelImageRepositoryField,
    UnikernelImageSkipPushField,
    UnikernelImageTagsField,
)

_FRONTEND_PLACEHOLDERS = """
Placeholders in curly braces are filled in: `{name}` (the target name), `{directory}` and
`{parent_directory}` (the last two parts of the BUILD file's directory), `{pun.version}` (the
version of the pun being frozen) and `{pants.hash}` (a stable hash of every input of the
image: the freezer PEX with pun's sources, the interpreter, the system tools, labels, output).
"""


class PunFrontendImageRepositoryField(UnikernelImageRepositoryField):
    default = "pun"
    help = help_text(
        f"""
        The repository part of the image name: `REGISTRY/REPOSITORY:TAG`. It may carry a
        registry itself (`registry.example.com/tools/pun`) when `registries` is empty.

        {_FRONTEND_PLACEHOLDERS}
        """
    )


class PunFrontendImageTagsField(UnikernelImageTagsField):
    help = help_text(
        f"""
        Tags for the image; each becomes `REGISTRY/REPOSITORY:TAG` for every registry.
        Example: `["{{pun.version}}", "latest"]`.

        {_FRONTEND_PLACEHOLDERS}
        """
    )


class PunFrontendImageOutputPathField(OutputPathField):
    help = help_text(
        """
        Where the image archive goes, below `--distdir` (e.g. `dist/`). Defaults to
        `path.to.dir/NAME.oci.tar` (or `.docker.tar`); `NAME.image.json` (digest, names,
        labels) is written next to it.
        """
    )


class PunFrontendImageTarget(Target):
    alias = "pun_frontend_image"
    core_fields = (
        *COMMON_TARGET_FIELDS,
        PunFrontendImageRepositoryField,
        PunFrontendImageTagsField,
        UnikernelImageRegistriesField,
        UnikernelImageSkipPushField,
        UnikernelImageOutputField,
        PunFrontendImageOutputPathField,
    )
    help = help_text(
        """
        pun itself as a BuildKit gateway frontend image: the pun these rules run, frozen by
        PyInstaller (`[pun-frontend-freezer]`) with the system libraries it needs, on an
        otherwise empty image whose Entrypoint is the frozen `pun`. Put
        `#syntax=REGISTRY/REPOSITORY:TAG` on a Containerfile's first line and `docker build`
        (or `buildctl build --frontend gateway.v0 --opt source=...`) runs pun inside BuildKit.

        `pants package` writes `dist/path.to.dir/NAME.oci.tar` (an OCI archive; skopeo, umoci,
        `pun push` read it; `output="docker"` for `docker load`) for this machine's
        architecture, with pun's own image writer; `pants publish` pushes that archive to every
        name, like `unikernel_image`.

        Example:

            pun_frontend_image(
                name="pun-frontend",
                repository="tools/pun",
                image_tags=["{pun.version}", "latest"],
                registries=["registry.example.com"],
            )
        """
    )
