"""Platforms (os/arch/variant) and the rule that picks one for a base image."""

from __future__ import annotations

from pun.records import Record

TYPE_CHECKING = False  # typing is imported for mypy only: see pun.records
if TYPE_CHECKING:
    from typing import Optional, Tuple

_ARCH_ALIASES = {
    "x86_64": "amd64",
    "x86-64": "amd64",
    "aarch64": "arm64",
    "armhf": "arm",
    "armel": "arm",
    "i386": "386",
    "i686": "386",
    "armv7l": "arm",
}
# Registries whose unikernel images are published per hypervisor, with the hypervisor as the OS.
HYPERVISOR_AS_OS_DOMAINS = frozenset({"unikraft.org"})
# Their OS when the Containerfile names no hypervisor: the original pun pulled qemu/amd64.
# (urunc itself has no default: com.urunc.unikernel.hypervisor is required, see pun.urunc.)
DEFAULT_HYPERVISOR = "qemu"


class Platform(Record):
    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        return f"{text}/{self.variant}" if self.variant else text


class InvalidPlatform(ValueError):
    pass


# containerd/platforms database.go (isKnownOS, isKnownArch): what a one-word platform may be.
_KNOWN_OS = frozenset(
    "aix android darwin dragonfly freebsd hurd illumos ios js linux nacl netbsd openbsd plan9 "
    "solaris windows zos".split()
)
_KNOWN_ARCH = frozenset(
    "386 amd64 amd64p32 arm armbe arm64 arm64be ppc64 ppc64le loong64 mips mipsle mips64 "
    "mips64le mips64p32 mips64p32le ppc riscv riscv64 s390 s390x sparc sparc64 wasm".split()
)
# containerd/platforms platforms.go specifierRe: ^[A-Za-z0-9_.-]+$
_COMPONENT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def parse_platform(text: str) -> Platform:
    """Parse `os/arch[/variant]` (or a bare `arch`, meaning linux, or a bare `os`, meaning the
    build machine's architecture), normalized like containerd's platforms.Parse."""
    parts = text.strip().split("/")
    if (
        not text.strip()
        or len(parts) > 3
        or any(not p or not set(p) <= _COMPONENT_CHARS for p in parts)
    ):
        raise InvalidPlatform(
            f"invalid platform {text!r}: expected os/arch[/variant], e.g. linux/amd64"
        )
    if len(parts) == 1:
        word = parts[0].lower()
        if word in _KNOWN_OS:
            parts = [word, build_platform().architecture]
        elif _ARCH_ALIASES.get(word, word) in _KNOWN_ARCH:
            parts = ["linux", word]
        else:
            raise InvalidPlatform(
                f"invalid platform {text!r}: unknown operating system or architecture "
                "(as containerd's platforms.Parse)"
            )
    os_name = parts[0].lower()
    arch = _ARCH_ALIASES.get(parts[1].lower(), parts[1].lower())
    variant = parts[2].lower() if len(parts) == 3 else ""
    if arch == "arm" and not variant:
        variant = "v7"
    if arch == "arm64" and variant in ("8", "v8"):
        variant = ""
    if parts[1].lower() == "armel" and not variant:
        variant = "v6"
    return Platform(os=os_name, architecture=arch, variant=variant)


DEFAULT_TARGET = Platform(os="linux", architecture="amd64")


def build_platform() -> Platform:
    """`BUILDPLATFORM` as docker defines it: the platform of the machine doing the build
    (docker's "platform of the node performing the build"), always a linux one, as BuildKit's
    workers are. Only a Containerfile that uses BUILD* depends on it."""
    import os

    try:
        return parse_platform(f"linux/{os.uname().machine}")
    except (InvalidPlatform, AttributeError):
        return DEFAULT_TARGET


def base_image_platform(domain: str, target: Platform, hypervisor: Optional[str]) -> Platform:
    """The platform to pull a base image for.

    unikraft.org publishes one manifest per hypervisor with the hypervisor as the OS, so those
    images get `<hypervisor>/<arch>` (default hypervisor: qemu). Every other image gets the
    ordinary target platform; the original pun forced `qemu/amd64` on all of them.
    """
    if domain in HYPERVISOR_AS_OS_DOMAINS:
        return Platform(
            os=hypervisor or DEFAULT_HYPERVISOR,
            architecture=target.architecture,
            variant=target.variant,
        )
    return target


def parse_platforms(text: str) -> Tuple[Platform, ...]:
    """`--platform linux/amd64,linux/arm64` (docker buildx's comma list), in the order given.

    One image per platform goes into an index; naming a platform twice is an error, as two
    manifests for one platform would leave a runtime nothing to choose by.
    """
    platforms = tuple(parse_platform(part) for part in text.split(","))
    seen = set()
    for platform in platforms:
        if platform in seen:
            raise InvalidPlatform(f"platform {platform} is given twice in {text!r}")
        seen.add(platform)
    return platforms


def platform_key(platform: Platform) -> str:
    """A file-name form of a platform: BuildKit's local exporter names each platform's
    directory `linux_arm_v7` (exporter/local/export.go: the platform with `/` -> `_`)."""
    return str(platform).replace("/", "_")
