"""The `unikernel_initrd` target: a deterministic newc cpio (pun.initrd) of its sources."""

from __future__ import annotations

from pants.core.goals.package import OutputPathField
from pants.engine.target import (
    COMMON_TARGET_FIELDS,
    Dependencies,
    DictStringToStringField,
    MultipleSourcesField,
    StringField,
    StringSequenceField,
    Target,
)
from pants.util.strutil import help_text

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
