"""The `unikernel_image` target (a Containerfile or bunnyfile packed into an OCI image) and its
fields. The other targets: `pun_frontend_image` (frontend_target_types.py) and
`unikernel_initrd` (initrd_target_types.py)."""

from __future__ import annotations

import posixpath
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Iterable, Iterator, Optional, Tuple

from pants.core.goals.package import OutputPathField
from pants.engine.addresses import Address
from pants.engine.target import (
    COMMON_TARGET_FIELDS,
    BoolField,
    Dependencies,
    DictStringToStringField,
    InvalidFieldException,
    SingleSourceField,
    StringField,
    StringSequenceField,
    Target,
)
from pants.util.strutil import help_text

from pun.platform import InvalidPlatform, parse_platform, parse_platforms

ALL_DEFAULT_REGISTRIES = "<all default registries>"
OCI, DOCKER = "oci", "docker"

_PLACEHOLDERS = """
Placeholders in curly braces are filled in: `{name}` (the target name), `{directory}` and
`{parent_directory}` (the last two parts of the BUILD file's directory), `{build_args.KEY}`
(a build arg given to the target or in `[pun].build_args`), `{pun.version}` (the version of the
pun that builds) and `{pants.hash}` (a stable hash of every build input: the Containerfile, the
build context, build args, platform, annotations and builder settings; it changes exactly when
the image would).
"""


class PunBuildOptionField(ABC):
    """A field that is a `pun build` option of the build process. Declare a field, subclass
    this and say which flags it gives: the build process passes them (build_process.build_argv)
    and `{pants.hash}` covers the value (build_request.prepare_build) — so a new option is one
    class here plus a test. (The pattern of Pants' docker backend, DockerBuildOptionFieldMixin.)

    `hash_key` names the value among `{pants.hash}`'s inputs; flags come in alias order.
    """

    alias: ClassVar[str]
    hash_key: ClassVar[str]

    @abstractmethod
    def pun_build_flags(self) -> Iterator[str]:
        """The `pun build` arguments for this field's value (none for the default)."""

    @abstractmethod
    def hash_value(self) -> Any:
        """The value as `{pants.hash}` takes it (JSON)."""


class UnikernelImageSourceField(SingleSourceField):
    required = False
    default = "Containerfile"
    help = help_text(
        """
        The Containerfile to pack (FROM / COPY / LABEL; other instructions are ignored with a
        warning), or a bunny `bunnyfile` (`source="bunnyfile"`: YAML, `version: v0.1`). Relative
        to the BUILD file's directory.
        """
    )


class UnikernelImageDependenciesField(Dependencies):
    help = help_text(
        """
        Targets whose files go into the build context. Usually inferred from the COPY
        instructions: `files`/`resources` owning a COPY source, packageable targets (`archive`,
        `pex_binary`, ...) whose `output_path` is a COPY source, and `shell_command`/`adhoc_tool`
        targets that produce a COPY source. List them here when inference cannot see them.
        """
    )


def resolve_context_root(value: str, address: Address) -> str:
    """The context root relative to the build root (`""` is the build root itself)."""
    if value == ".":
        path = address.spec_path
    elif value.startswith("./"):
        path = posixpath.join(address.spec_path, value[2:])
    else:
        path = value.lstrip("/")
    path = posixpath.normpath(path) if path else ""
    return "" if path == "." else path


class UnikernelImageContextRootField(StringField):
    alias = "context_root"
    default = "."
    help = help_text(
        """
        The directory COPY paths are relative to, like the directory given to `docker build`.
        `.` (the default) is the BUILD file's directory and `./sub` a directory below it; `/` or
        `""` is the build root, and any other value is relative to the build root.
        Dependencies' files are placed at their path relative to this directory (files outside
        it are left out); packaged dependencies are placed at their `output_path`.
        """
    )

    @classmethod
    def compute_value(cls, raw_value: Optional[str], address: Address) -> str:
        value = super().compute_value(raw_value, address)
        assert value is not None
        resolved = resolve_context_root(value, address)
        if resolved == ".." or resolved.startswith("../"):
            raise InvalidFieldException(
                f"The `{cls.alias}` field of {address} is {value!r}, which lies outside the build "
                "root. Use a directory inside the repository, e.g. `.` or `./rootfs`."
            )
        return value


class UnikernelImageRepositoryField(StringField):
    alias = "repository"
    help = help_text(
        f"""
        The repository part of the image name: `REGISTRY/REPOSITORY:TAG`. Defaults to
        `[pun].default_repository`, which is `{{directory}}/{{name}}`.
        It may carry a registry itself (`registry.example.com/unikernels/redis`) when
        `registries` is empty.

        {_PLACEHOLDERS}
        """
    )


class UnikernelImageTagsField(StringSequenceField):
    alias = "image_tags"
    default = ("latest",)
    help = help_text(
        f"""
        Tags for the image; each becomes `REGISTRY/REPOSITORY:TAG` for every registry.
        Example: `["1.0", "{{pants.hash}}"]`.

        {_PLACEHOLDERS}
        """
    )


class UnikernelImageRegistriesField(StringSequenceField):
    alias = "registries"
    default = (ALL_DEFAULT_REGISTRIES,)
    help = help_text(
        f"""
        Registries to name (and publish) the image for: addresses such as `127.0.0.1:5000` or
        `registry.example.com`, or `@alias` for an entry of `[pun].registries`.
        The default, `{ALL_DEFAULT_REGISTRIES}`, is every `[pun].registries` entry with
        `default = true` (none unless configured; then names are just `REPOSITORY:TAG`).
        """
    )


class UnikernelImageSkipPushField(BoolField):
    alias = "skip_push"
    default = False
    help = "If true, `pants publish` does not push this image."


class UnikernelImageBuildArgsField(StringSequenceField):
    alias = "build_args"
    default = ()
    help = help_text(
        """
        Values for the Containerfile's ARGs: `KEY=VALUE`, or `KEY` to take the value from
        Pants' environment. Added to (and overriding) `[pun].build_args`.
        """
    )


class UnikernelImagePlatformField(StringField):
    alias = "platform"
    help = help_text(
        """
        The target platform, `os/arch[/variant]` (default `linux/amd64`). It goes into the image
        config and index; `unikraft.org` base images are picked by its architecture.
        """
    )

    @classmethod
    def compute_value(cls, raw_value: Optional[str], address: Address) -> Optional[str]:
        value = super().compute_value(raw_value, address)
        if value is not None:
            try:
                return str(parse_platform(value))
            except InvalidPlatform as exc:
                raise InvalidFieldException(
                    f"The `{cls.alias}` field of {address}: {exc}"
                ) from None
        return value


class UnikernelImagePlatformsField(StringSequenceField):
    alias = "platforms"
    help = help_text(
        """
        Several target platforms (`["linux/amd64", "linux/arm64"]`) instead of one `platform`:
        the archive then holds one OCI image index with one image per platform, each planned
        with that platform's `TARGETARCH`, `TARGETPLATFORM`, ... (so `COPY kernel-${TARGETARCH}`
        picks each platform's file) and its own base image. `output="docker"` holds one platform.
        """
    )

    @classmethod
    def compute_value(
        cls, raw_value: Optional[Iterable[str]], address: Address
    ) -> Optional[Tuple[str, ...]]:
        value = super().compute_value(raw_value, address)
        if value is None:
            return None
        try:
            parsed = parse_platforms(",".join(value)) if value else ()
        except InvalidPlatform as exc:
            raise InvalidFieldException(f"The `{cls.alias}` field of {address}: {exc}") from None
        if not parsed:
            raise InvalidFieldException(
                f"The `{cls.alias}` field of {address} is empty: name at least one platform"
            )
        return tuple(str(p) for p in parsed)


class UnikernelImageAnnotationsField(DictStringToStringField, PunBuildOptionField):
    alias = "annotations"
    hash_key = "annotations"
    help = help_text(
        """
        Extra manifest annotations, merged over the LABELs (a key given here wins). They are
        manifest-only: the image config keeps the LABEL values. Docker-format output
        (`output="docker"`) has no manifest annotations.
        """
    )

    def pun_build_flags(self) -> Iterator[str]:
        for key, value in sorted((self.value or {}).items()):
            yield f"--annotation={key}={value}"

    def hash_value(self) -> Any:
        return dict(self.value or {})


class UnikernelImageOutputField(StringField):
    alias = "output"
    default = OCI
    valid_choices = (OCI, DOCKER)
    help = help_text(
        """
        `oci`: an OCI image layout tar (`NAME.oci.tar`; skopeo, umoci, containerd read it).
        `docker`: a `docker load` tarball (`NAME.docker.tar`) that is also an OCI layout.
        """
    )


class UnikernelImageSquashField(BoolField, PunBuildOptionField):
    alias = "squash"
    hash_key = "squash"
    default = False
    help = "If true, all of the build's changes go into one layer (embedded builder only)."

    def pun_build_flags(self) -> Iterator[str]:
        if self.value:
            yield "--squash"

    def hash_value(self) -> Any:
        return bool(self.value)


class UnikernelImageStrictField(BoolField):
    alias = "strict"
    default = True
    help = help_text(
        """
        If true, urunc annotation problems (a missing or unknown
        `com.urunc.unikernel.*` label, a binary path that no COPY provides) fail the build;
        if false they are warnings.
        """
    )


class UnikernelImageOutputPathField(OutputPathField):
    help = help_text(
        """
        Where the image archive goes, below `--distdir` (e.g. `dist/`). Defaults to
        `path.to.dir/NAME.oci.tar` (or `.docker.tar`). `NAME.image.json` is written next to
        it: digest, names, annotations and platform. When this target is a dependency of another
        image, COPY finds the archive at this path.
        """
    )


class UnikernelImageTarget(Target):
    alias = "unikernel_image"
    core_fields = (
        *COMMON_TARGET_FIELDS,
        UnikernelImageSourceField,
        UnikernelImageDependenciesField,
        UnikernelImageContextRootField,
        UnikernelImageRepositoryField,
        UnikernelImageTagsField,
        UnikernelImageRegistriesField,
        UnikernelImageSkipPushField,
        UnikernelImageBuildArgsField,
        UnikernelImagePlatformField,
        UnikernelImagePlatformsField,
        UnikernelImageAnnotationsField,
        UnikernelImageOutputField,
        UnikernelImageSquashField,
        UnikernelImageStrictField,
        UnikernelImageOutputPathField,
    )
    help = help_text(
        """
        A unikernel packed into an OCI image for urunc, from a Containerfile (FROM, COPY, LABEL).

        `pants package` builds it without a daemon (or with BuildKit: `[pun].builder`) into
        `dist/path.to.dir/NAME.oci.tar`; the build is a cached process, so an unchanged image is
        never rebuilt. `pants publish` pushes that same archive. The build context holds the
        files of the dependencies (mostly inferred from COPY) relative to `context_root`, plus
        packaged dependencies at their `output_path`.

        Example:

            unikernel_image(
                name="redis",
                repository="unikernels/redis",
                image_tags=["0.1", "{pants.hash}"],
                registries=["127.0.0.1:5000"],
            )
        """
    )
