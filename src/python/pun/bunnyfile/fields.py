"""A bunnyfile's fields, read and checked as bunny reads them, each with its line.

The field names, shapes and checks are nubificus/bunny's:
- the struct and its YAML keys: `hops/package.go` (`Hops`, `Platform`, `Rootfs`, `Kernel`,
  `FileToInclude`);
- an `include` entry as `src[:dst]` or as a mapping: `hops/parse_file.go`
  (`FileToInclude.UnmarshalYAML`);
- `version` required and not newer than v0.1, `framework` and `monitor` required,
  `kernel.from`/`kernel.path` required, `rootfs.from` defaulting to `scratch`, and the legacy
  `cmdline` split on single spaces into `cmd` when `cmd` is empty: `hops/parse_file.go`
  (`ParseBunnyfile`) and `hops/validate.go`;
- the rootfs combinations bunny refuses: `hops/validate.go` (`ValidateRootfs`);
- the rootfs types each framework takes (unikraft: initrd, raw; every other: initrd, block,
  raw) and their defaults (unikraft: initrd; every other: raw): `hops/unikraft.go`,
  `hops/generic.go`, checked in `hops/package.go` (`handleRootfs`).
"""

from __future__ import annotations

import re
from typing import List, Optional, Tuple

from yaml.nodes import ScalarNode

from pun.bunnyfile.yamlnodes import Fields, line_of, scalar_text
from pun.diagnostics import Diagnostic, PunError, error
from pun.records import Record

SUPPORTED_VERSION = (0, 1)  # bunny `hops/validate.go` Version = "v0.1"
FROM_SCRATCH = "scratch"
FROM_LOCAL = "local"
TYPE_INITRD, TYPE_BLOCK, TYPE_RAW = "initrd", "block", "raw"
UNIKRAFT = "unikraft"
# hops/unikraft.go and hops/generic.go `SupportsRootfsType`, `NewUnikraft`/`NewGeneric` defaults.
_UNIKRAFT_TYPES = (TYPE_INITRD, TYPE_RAW)
_GENERIC_TYPES = (TYPE_INITRD, TYPE_BLOCK, TYPE_RAW)

TOP_KEYS = ("version", "platforms", "rootfs", "kernel", "cmdline", "cmd", "entrypoint", "envs")
_PLATFORM_KEYS = ("framework", "version", "monitor", "architecture")
_ROOTFS_KEYS = ("from", "path", "type", "include")
_KERNEL_KEYS = ("from", "path")
_INCLUDE_KEYS = ("from", "source", "destination")
# hashicorp/go-version's accepted form, which bunny parses `version` with: digits separated by
# dots after an optional `v`, then an optional pre-release and build metadata.
_GO_VERSION = re.compile(
    r"^v?(?P<numbers>[0-9]+(?:\.[0-9]+)*)"
    r"(?:-(?P<pre>[0-9A-Za-z.~-]+)|(?P<pre2>[A-Za-z~-][0-9A-Za-z.~-]*))?"
    r"(?:\+[0-9A-Za-z.~-]+)?$"
)


class Value(Record):
    text: str
    line: int


class Include(Record):
    source: str
    dest: str
    image: Optional[str]  # None: the build context (bunny `from: local`)
    line: int


class Hops(Record):
    """The bunnyfile, checked. Absent strings are ""; lines point at the values."""

    path: str
    version: Value
    framework: Value
    framework_version: Value
    monitor: Value
    architecture: Value
    rootfs_line: Optional[int]  # None: no `rootfs` field at all
    rootfs_from: Value  # "scratch" when not given
    rootfs_path: Value
    rootfs_type: Value  # as written ("" when not given)
    includes: Tuple[Include, ...]
    kernel_from: Value
    kernel_path: Value
    cmd: Tuple[str, ...]
    cmd_line: int
    entrypoint: Tuple[str, ...]
    entrypoint_line: int
    envs: Tuple[Value, ...]
    warnings: Tuple[Diagnostic, ...]

    @property
    def rootfs_kind(self) -> str:
        """The rootfs type in effect: as written, else the framework's default."""
        if self.rootfs_type.text:
            return self.rootfs_type.text
        return TYPE_INITRD if self.framework.text == UNIKRAFT else TYPE_RAW


def read_hops(root: Fields) -> Hops:
    """PunError naming the line for what bunny refuses."""
    path = root.path
    platform = root.sub("platforms", _PLATFORM_KEYS)
    kernel = root.sub("kernel", _KERNEL_KEYS)
    rootfs = root.sub("rootfs", _ROOTFS_KEYS)

    def value(fields: Optional[Fields], key: str, default: str = "") -> Value:
        if fields is None:
            return Value(default, root.start)
        return Value(fields.string(key) or default, fields.line(key))

    version = value(root, "version")
    _check_version(version, path)
    framework = value(platform, "framework")
    monitor = value(platform, "monitor")
    where_platform = platform.start if platform is not None else root.start
    if not framework.text:
        raise error(
            "platforms.framework is required",
            path,
            where_platform,
            "name the unikernel framework, e.g. `framework: unikraft`",
        )
    if not monitor.text:
        raise error(
            "platforms.monitor is required",
            path,
            where_platform,
            "name the monitor (hypervisor), e.g. `monitor: qemu`",
        )
    kernel_from = value(kernel, "from")
    kernel_path = value(kernel, "path")
    where_kernel = kernel.start if kernel is not None else root.start
    if not kernel_from.text:
        raise error(
            "kernel.from is required",
            path,
            where_kernel,
            "use `from: local` (a file of the build context) or `from: <image>`",
        )
    if not kernel_path.text:
        raise error(
            "kernel.path is required",
            path,
            where_kernel,
            "give the kernel's path in the build context or in the image",
        )
    includes = _includes(rootfs, path) if rootfs is not None else ()
    cmd, cmd_line = root.strings("cmd"), root.line("cmd")
    legacy = root.string("cmdline")
    if not cmd and legacy:  # hops/parse_file.go: cmdline is used only when cmd is empty
        cmd, cmd_line = tuple(legacy.split(" ")), root.line("cmdline")
    envs = tuple(
        Value(scalar_text(node, f"envs[{i}]", path), line_of(node))
        for i, node in enumerate(root.items("envs"))
    )
    hops = Hops(
        path=path,
        version=version,
        framework=framework,
        framework_version=value(platform, "version"),
        monitor=monitor,
        architecture=value(platform, "architecture"),
        rootfs_line=rootfs.start if rootfs is not None else None,
        rootfs_from=value(rootfs, "from", FROM_SCRATCH),
        rootfs_path=value(rootfs, "path"),
        rootfs_type=value(rootfs, "type"),
        includes=includes,
        kernel_from=kernel_from,
        kernel_path=kernel_path,
        cmd=cmd,
        cmd_line=cmd_line,
        entrypoint=root.strings("entrypoint"),
        entrypoint_line=root.line("entrypoint"),
        envs=envs,
        warnings=tuple(root.warnings),
    )
    _check_rootfs(hops)
    return hops


def _check_version(version: Value, path: str) -> None:
    """hops/validate.go `CheckBunnyfileVersion`: required, parseable, not newer than v0.1."""
    if not version.text:
        raise error(
            "the version field is required",
            path,
            version.line,
            "start the bunnyfile with `version: v0.1`",
        )
    match = _GO_VERSION.match(version.text)
    if match is None:
        raise error(
            f"cannot read version {version.text!r}", path, version.line, "write `version: v0.1`"
        )
    numbers = tuple(int(n) for n in match.group("numbers").split("."))
    width = max(len(numbers), len(SUPPORTED_VERSION))
    ours = SUPPORTED_VERSION + (0,) * (width - len(SUPPORTED_VERSION))
    theirs = numbers + (0,) * (width - len(numbers))
    if theirs > ours:  # a pre-release of v0.1 sorts before it, so it is accepted too
        raise error(
            f"unsupported bunnyfile version {version.text}",
            path,
            version.line,
            "use version v0.1 or earlier",
        )


def _includes(rootfs: Fields, path: str) -> Tuple[Include, ...]:
    found: List[Include] = []
    for index, node in enumerate(rootfs.items("include")):
        name = f"rootfs.include[{index}]"
        line = line_of(node)
        if isinstance(node, ScalarNode):
            text = scalar_text(node, name, path)
            src, _, dst = text.partition(":")  # hops/parse_file.go: SplitN(value, ":", 2)
            if not src:
                raise error(
                    f"{name} {text!r} has no source before ':'",
                    path,
                    line,
                    "write `- source:destination`, e.g. `- app:/app`",
                )
            found.append(Include(src, dst or src, None, line))
            continue
        entry = Fields(node, name, path, _INCLUDE_KEYS, rootfs.warnings)
        src, dst, image = entry.string("source"), entry.string("destination"), entry.string("from")
        if not src:
            raise error(f"{name} has no source", path, line, "add `source: <path>`")
        if not dst:
            raise error(
                f"{name} has no destination", path, line, "add `destination: <path in the rootfs>`"
            )
        found.append(Include(src, dst, None if image in ("", FROM_LOCAL) else image, line))
    return tuple(found)


def supported_types(framework: str) -> Tuple[str, ...]:
    return _UNIKRAFT_TYPES if framework == UNIKRAFT else _GENERIC_TYPES


def _check_rootfs(h: Hops) -> None:
    """hops/validate.go `ValidateRootfs`, then hops/package.go `handleRootfs`'s type check (in
    bunny's order, so a file with two problems gets bunny's first)."""

    def fail(message: str, line: int, hint: str) -> PunError:
        return error(message, h.path, line, hint)

    source, kind = h.rootfs_from.text, h.rootfs_type.text
    has_path = bool(h.rootfs_path.text)
    if source == FROM_SCRATCH and has_path:
        raise fail(
            "rootfs.path needs rootfs.from to be `local` or an image, not scratch",
            h.rootfs_path.line,
            "drop `path`, or set `from: local` for a prebuilt file",
        )
    if has_path and kind == TYPE_RAW:
        raise fail(
            "rootfs.path cannot be combined with type raw",
            h.rootfs_path.line,
            "a raw rootfs is files in the image: use `include`, or set type initrd/block",
        )
    if source == FROM_LOCAL and kind == TYPE_RAW:
        raise fail(
            "rootfs type raw cannot come from local",
            h.rootfs_type.line,
            "use `from: scratch` with `include` entries for a raw rootfs",
        )
    if source == FROM_LOCAL and h.includes:
        raise fail(
            "rootfs.include cannot be combined with rootfs.from: local",
            h.includes[0].line,
            "`from: local` takes a prebuilt file (`path`); use `from: scratch` to build "
            "a rootfs from `include`",
        )
    if has_path and h.includes:
        raise fail(
            "rootfs.include cannot be added to a prebuilt rootfs file (rootfs.path)",
            h.includes[0].line,
            "drop `path` to have pun build the rootfs from `include`, or drop `include`",
        )
    if source == FROM_LOCAL and not has_path:  # bunny would copy the whole context
        raise fail(
            "rootfs.from: local needs rootfs.path",
            h.rootfs_from.line,
            "give the prebuilt rootfs file's path in the build context",
        )
    # Then hops/package.go handleRootfs: a type the framework does not take.
    if kind and kind not in supported_types(h.framework.text):
        raise fail(
            f"rootfs.type {kind!r} is not one {h.framework.text} takes",
            h.rootfs_type.line,
            f"{h.framework.text} takes: " + ", ".join(supported_types(h.framework.text)),
        )
