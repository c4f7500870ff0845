"""A checked bunnyfile (Hops) -> PackPlan, by bunny's rules (nubificus/bunny `hops/package.go`).

Where the files go (`DefaultKernelPath`, `DefaultRootfsPath`, `SetBaseAndGetPaths`):
- `kernel.from: local` copies the kernel to /.boot/kernel on an empty base; `from: <image>`
  makes that image the base, with `binary` its `kernel.path`;
- a rootfs that is one file (`from: local` + `path`, or an initrd/block built from `include`)
  is copied to /.boot/rootfs; `from: <image>` without includes makes that image the base, with
  the label naming `rootfs.path` inside it; a raw rootfs is its includes copied into the image
  (on `from: <image>` when given, else on an empty base);
- when neither the kernel nor the rootfs was copied and the rootfs decided the base (it always
  does, as `rootfs.from` defaults to scratch), the kernel is copied out of its image to
  /.boot/kernel and `binary` names that.
The urunc labels (`SetAnnotations`): unikernelType = framework, hypervisor = monitor, binary,
cmdline = cmd joined by spaces, unikernelVersion = platforms.version when given, mountRootfs
"false" unless the rootfs is raw ("true"), initrd or block (+ blkMntPoint "/", "/data" for
rumprun) = the rootfs path. The config (`UpdateConfig`, `hopsToPack` in `hops/parse_file.go`):
Cmd and Entrypoint when given, envs added to the base image's Env, the labels as Labels.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

from pun.bunnyfile.fields import (
    FROM_LOCAL,
    FROM_SCRATCH,
    TYPE_BLOCK,
    TYPE_INITRD,
    TYPE_RAW,
    Hops,
    Include,
)
from pun.containerfile.plan import (
    BaseImage,
    CopyInstruction,
    Label,
    PackPlan,
    RootfsInclude,
    RootfsRequest,
)
from pun.diagnostics import Diagnostic, error, warning
from pun.imagespec import ConfigStep, SetCmd, SetEntrypoint, SetEnv, SetLabel
from pun.platform import HYPERVISOR_AS_OS_DOMAINS, InvalidPlatform, Platform, parse_platform
from pun.reference import ImageReference, InvalidReference, normalize
from pun.urunc import (
    BINARY,
    BLOCK,
    BLOCK_MOUNT_POINT,
    CMDLINE,
    HYPERVISOR,
    INITRD,
    MOUNT_ROOTFS,
    UNIKERNEL_TYPE,
    UNIKERNEL_VERSION,
)

DEFAULT_KERNEL_PATH = "/.boot/kernel"  # hops/package.go DefaultKernelPath
DEFAULT_ROOTFS_PATH = "/.boot/rootfs"  # hops/package.go DefaultRootfsPath
# bunny's docs and examples write `architecture: x86` for x86-64 (README.md, examples/*.md, with
# `initramfs-x86_64.cpio`); the other names go through pun.platform's containerd aliases.
_BUNNY_ARCH_ALIASES = {"x86": "amd64"}
_KNOWN_ARCHITECTURES = frozenset(
    {"amd64", "arm64", "arm", "386", "riscv64", "ppc64le", "s390x", "mips64le", "loong64"}
)


def target_platform(h: Hops, target: Platform, platform_given: bool) -> Optional[Platform]:
    """The platform `platforms.architecture` asks for (None when it is not given). Given next to
    an explicit build platform of another architecture, it is an error, not a silent choice."""
    written = h.architecture.text
    if not written:
        return None
    arch = _BUNNY_ARCH_ALIASES.get(written.lower(), written)
    try:
        wanted = parse_platform(f"{target.os}/{arch}")
    except InvalidPlatform:
        wanted = None
    if wanted is None or wanted.architecture not in _KNOWN_ARCHITECTURES:
        raise error(
            f"unknown architecture {written!r}",
            h.path,
            h.architecture.line,
            "use one of " + ", ".join(sorted(_KNOWN_ARCHITECTURES)) + " (or x86, x86_64, aarch64)",
        )
    if platform_given and wanted.architecture != target.architecture:
        raise error(
            f"platforms.architecture is {written} ({wanted.architecture}) but the build asks for "
            f"platform {target}",
            h.path,
            h.architecture.line,
            "drop --platform (or the target's `platform`), or change the architecture: "
            "the two must agree",
        )
    if wanted.architecture == target.architecture:
        return target  # keeps the build's variant (arm/v6 ...)
    return wanted


class _Builder:
    def __init__(self, h: Hops, platform: Platform) -> None:
        self.h = h
        self.platform = platform
        self.copies: List[CopyInstruction] = []
        self.base_ref: Optional[str] = None
        self.base_line = h.version.line
        self.rootfs: Optional[RootfsRequest] = None
        self.warnings: List[Diagnostic] = list(h.warnings)

    def reference(self, text: str, line: int) -> ImageReference:
        try:
            return normalize(text)
        except InvalidReference as exc:
            raise error(
                str(exc),
                self.h.path,
                line,
                "use `local`, `scratch` or an image reference such as " "unikraft.org/base:latest",
            ) from None

    def image_name(self, text: Optional[str], line: int) -> Optional[str]:
        """An image a file is read from, normalized as BuildKit's llb.Image does."""
        return None if text is None else str(self.reference(text, line))

    def copy(
        self, src: str, dest: str, line: int, image: Optional[str] = None, image_line: int = 0
    ) -> None:
        self.copies.append(
            CopyInstruction(
                sources=(src,),
                dest=dest,
                line=line,
                image=self.image_name(image, image_line or line),
            )
        )

    def include_copies(self, includes: Tuple[Include, ...]) -> None:
        for include in includes:
            self.copy(include.source, include.dest, include.line, include.image)

    def rootfs_request(self, kind: str, from_image: Optional[str]) -> None:
        h = self.h
        line = h.rootfs_type.line if h.rootfs_type.text else (h.rootfs_line or h.version.line)
        self.rootfs = RootfsRequest(
            kind=kind,
            path=DEFAULT_ROOTFS_PATH,
            includes=tuple(
                RootfsInclude(i.source, i.dest, i.line, self.image_name(i.image, i.line))
                for i in h.includes
            ),
            line=line,
            from_image=self.image_name(from_image, h.rootfs_from.line),
        )

    def build(self) -> Tuple[str, str]:
        """Place the kernel and the rootfs; return the paths the labels name (kernel, rootfs)."""
        h = self.h
        kind = h.rootfs_kind
        kernel_copied = rootfs_copied = False
        if h.kernel_from.text == FROM_LOCAL:
            self.copy(h.kernel_path.text, DEFAULT_KERNEL_PATH, h.kernel_path.line)
            kernel_copied = True
        else:
            self.base_ref, self.base_line = h.kernel_from.text, h.kernel_from.line
        source = h.rootfs_from.text
        rootfs_path = ""
        if source == FROM_SCRATCH:
            if h.includes and kind != TYPE_RAW:
                self.rootfs_request(kind, None)
                rootfs_copied = True
            else:  # raw files (or no rootfs at all) on an empty base
                self.base_ref, self.base_line = None, h.rootfs_from.line
                self.include_copies(h.includes)
        elif source == FROM_LOCAL:
            self.copy(h.rootfs_path.text, DEFAULT_ROOTFS_PATH, h.rootfs_path.line)
            rootfs_copied = True
        elif kind != TYPE_RAW and not h.rootfs_path.text:
            # Beyond bunny (it refuses includes here, and without them names an empty path):
            # an initrd/block image made of that image's files, plus the includes.
            self.rootfs_request(kind, source)
            rootfs_copied = True
        else:
            self.base_ref, self.base_line = source, h.rootfs_from.line
            if kind == TYPE_RAW:
                self.include_copies(h.includes)
            else:
                rootfs_path = h.rootfs_path.text
        if not kernel_copied and not rootfs_copied:
            self.copy(
                h.kernel_path.text,
                DEFAULT_KERNEL_PATH,
                h.kernel_path.line,
                image=h.kernel_from.text,
                image_line=h.kernel_from.line,
            )
            kernel_copied = True
        if rootfs_copied and kind == TYPE_RAW:
            self.warnings.append(
                warning(
                    f"rootfs.type is not given, and {h.framework.text}'s default is raw: the "
                    f"rootfs file is copied to {DEFAULT_ROOTFS_PATH} but no urunc label names it",
                    h.path,
                    h.rootfs_path.line,
                    "set `type: initrd` or `type: block`",
                )
            )
        kernel = DEFAULT_KERNEL_PATH if kernel_copied else h.kernel_path.text
        return kernel, DEFAULT_ROOTFS_PATH if rootfs_copied else rootfs_path

    def base(self) -> BaseImage:
        if self.base_ref is None:
            return BaseImage(None, self.base_line)
        reference = self.reference(self.base_ref, self.base_line)
        platform = None
        if reference.domain in HYPERVISOR_AS_OS_DOMAINS and self.h.monitor.text == "firecracker":
            # hops/llb.go GetSourceState: unikraft.org publishes firecracker builds as os "fc".
            platform = Platform("fc", self.platform.architecture, self.platform.variant)
        return BaseImage(reference, self.base_line, platform)


def labels_for(h: Hops, kernel: str, rootfs: str) -> Tuple[Label, ...]:
    """hops/package.go SetAnnotations. Empty values are left out (bunny writes `cmdline: ""`
    without a cmd and `initrd: ""` without a rootfs; urunc reads both as unset)."""
    rootfs_line = (
        h.rootfs_type.line
        if h.rootfs_type.text
        else (h.rootfs_path.line if h.rootfs_path.text else (h.rootfs_line or h.framework.line))
    )
    kind = h.rootfs_kind
    found = [
        Label(UNIKERNEL_TYPE, h.framework.text, h.framework.line),
        Label(HYPERVISOR, h.monitor.text, h.monitor.line),
        Label(BINARY, kernel, h.kernel_path.line),
    ]
    if h.cmd:
        found.append(Label(CMDLINE, " ".join(h.cmd), h.cmd_line))
    if h.framework_version.text:
        found.append(Label(UNIKERNEL_VERSION, h.framework_version.text, h.framework_version.line))
    found.append(Label(MOUNT_ROOTFS, "true" if kind == TYPE_RAW else "false", rootfs_line))
    if kind == TYPE_INITRD and rootfs:
        found.append(Label(INITRD, rootfs, rootfs_line))
    elif kind == TYPE_BLOCK and rootfs:
        found.append(Label(BLOCK, rootfs, rootfs_line))
        mount = "/data" if h.framework.text == "rumprun" else "/"  # bunny's rumprun special case
        found.append(Label(BLOCK_MOUNT_POINT, mount, rootfs_line))
    return tuple(found)


def config_steps(h: Hops, labels: Tuple[Label, ...]) -> Tuple[ConfigStep, ...]:
    steps: List[ConfigStep] = [SetLabel(label.key, label.value, label.line) for label in labels]
    for env in h.envs:
        key, has_value, value = env.text.partition("=")
        if not key or not has_value:
            raise error(
                f"envs entry {env.text!r} is not KEY=VALUE",
                h.path,
                env.line,
                "write `- KEY=VALUE`, e.g. `- HOME=/root`",
            )
        steps.append(SetEnv(key, value, env.line))
    if h.entrypoint:
        steps.append(SetEntrypoint(h.entrypoint, False, h.entrypoint_line))
    if h.cmd:
        steps.append(SetCmd(h.cmd, False, h.cmd_line))
    return tuple(steps)


def to_plan(
    h: Hops, target: Platform, platform_given: bool, syntax: Optional[str] = None
) -> PackPlan:
    platform = target_platform(h, target, platform_given)
    builder = _Builder(h, platform or target)
    kernel, rootfs = builder.build()
    labels = labels_for(h, kernel, rootfs)
    return PackPlan(
        path=h.path,
        base=builder.base(),
        copies=tuple(builder.copies),
        labels=labels,
        ignored=(),
        warnings=tuple(builder.warnings),
        syntax=syntax,
        config=config_steps(h, labels),
        rootfs=builder.rootfs,
        platform=platform,
    )
