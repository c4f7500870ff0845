"""The targets: `unikernel_image` (a Containerfile, FROM/COPY/LABEL, packed into an OCI image) and
`pun_frontend_image` (pun itself, frozen, as the BuildKit frontend image for `#syntax=`)."""

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
    MultipleSourcesField,
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


# --- unikernel_initrd ----------------------------------------------------------------------------
GZIP, NO_COMPRESSION = "gzip", "none"


class UnikernelInitrdSourcesField(MultipleSourcesField):
    default = ()
    help = help_text(
        """
        Files of this target that go into the initrd, at `/` plus their path relative to the
        BUILD file's directory (`init` becomes `/init`), unless `layout` places them elsewhere.
        Executable files keep the execute bit (mode 0755; others 0644).
        """
    )


class UnikernelInitrdDependenciesField(Dependencies):
    help = help_text(
        """
        Targets whose files go into the initrd: `files`/`resources`, and codegen targets such as
        `shell_command` (their output files). They are placed like `sources`.
        """
    )


class UnikernelInitrdLayoutField(DictStringToStringField):
    alias = "layout"
    help = help_text(
        """
        Where files go in the initrd: `{"SRC": "/DST"}`, SRC relative to the BUILD file's
        directory (a file of `sources` or of a dependency), DST absolute. Example:
        `{"debian/busybox": "/bin/busybox"}`.
        """
    )


class UnikernelInitrdSymlinksField(DictStringToStringField):
    alias = "symlinks"
    help = help_text(
        """
        Symlinks to add: `{"/PATH": "TARGET"}`, e.g. `{"/bin/sh": "busybox"}` for busybox applets.
        """
    )


class UnikernelInitrdDirectoriesField(StringSequenceField):
    alias = "directories"
    default = ()
    help = 'Empty directories to add, e.g. `["/proc", "/sys", "/dev"]` (mount points).'


class UnikernelInitrdCompressionField(StringField):
    alias = "compression"
    default = NO_COMPRESSION
    valid_choices = (NO_COMPRESSION, GZIP)
    help = help_text(
        """
        `none` (the default): a plain newc cpio, which urunc can append its own files to.
        `gzip`: gzip with mtime 0 (the kernel unpacks both).
        """
    )


class UnikernelInitrdOutputPathField(OutputPathField):
    help = help_text(
        """
        Where the initrd goes, below `--distdir`; by default `path.to.dir/NAME.cpio`
        (`.cpio.gz` with gzip). A `unikernel_image` that depends on this target finds it at
        this path in its build context, so set e.g. `output_path="initrd.cpio"` and
        `COPY initrd.cpio /kernel/initrd.cpio`.
        """
    )


class UnikernelInitrdTarget(Target):
    alias = "unikernel_initrd"
    core_fields = (
        *COMMON_TARGET_FIELDS,
        UnikernelInitrdSourcesField,
        UnikernelInitrdDependenciesField,
        UnikernelInitrdLayoutField,
        UnikernelInitrdSymlinksField,
        UnikernelInitrdDirectoriesField,
        UnikernelInitrdCompressionField,
        UnikernelInitrdOutputPathField,
    )
    help = help_text(
        """
        An initrd for a Linux guest: a newc cpio archive written by `pun initrd`, the same bytes
        on every machine (entries sorted, owners 0:0, mtimes `[pun].source_date_epoch`,
        normalized modes, inode numbers in path order). `pants package` builds it in a cached,
        sandboxed process; a `unikernel_image` COPYs it from its `output_path`.

        Example:

            unikernel_initrd(
                name="initrd",
                sources=["init"],
                dependencies=[":busybox"],
                layout={"debian/busybox": "/bin/busybox"},
                symlinks={"/bin/sh": "busybox", "/bin/poweroff": "busybox"},
                directories=["/proc", "/sys", "/dev"],
                output_path="initrd.cpio",
            )
        """
    )
