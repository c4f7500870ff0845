"""The inputs and result of a build, shared by both builders and the public API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

from pun.oci.output_spec import OutputSpec

EMBEDDED = "embedded"
BUILDCTL = "buildctl"
BUILDERS = (EMBEDDED, BUILDCTL)


@dataclass(frozen=True)
class SourceLine:
    """Where an op came from: the Containerfile and line, for error messages."""

    digest: str
    path: str
    line: int


@dataclass(frozen=True)
class BuildOptions:
    source_date_epoch: int = 0
    squash: bool = False
    cache_dir: Optional[str] = None  # default: $XDG_CACHE_HOME/pun
    progress: str = "auto"  # auto | plain | quiet
    buildkit_addr: Optional[str] = None  # buildctl's --addr; None: buildctl's own default
    buildctl: str = "buildctl"
    insecure_registry: bool = False  # plain HTTP for pulls from non-loopback registries
    sources: Tuple[SourceLine, ...] = ()
    # More named local sources than `context`: (name, directory), e.g. the rootfs artifact's
    # `pun-rootfs` (pun.rootfs.make). The embedded builder reads them, buildctl gets `--local`.
    locals: Tuple[Tuple[str, str], ...] = ()
    # (normalized reference, OCI archive path): images read from archives, not registries
    # (`--image-archive`; the Pants plugin's upstream unikernel_images).
    image_archives: Tuple[Tuple[str, str], ...] = ()


@dataclass(frozen=True)
class PlatformImage:
    """One platform's image in a multi-platform index."""

    platform: str  # os/arch[/variant]
    manifest_digest: str
    config_digest: str


@dataclass(frozen=True)
class BuildResult:
    builder: str
    output: OutputSpec
    manifest_digest: Optional[str] = None  # a multi-platform build's: the index's digest
    config_digest: Optional[str] = None  # None for an index (each platform has its own)
    pushed: Tuple[str, ...] = ()
    platforms: Tuple[PlatformImage, ...] = ()  # multi-platform builds only, in index order

    def metadata(self) -> Dict[str, Any]:
        """buildctl's --metadata-file keys, where they apply."""
        out: Dict[str, Any] = {"pun.builder": self.builder}
        if self.manifest_digest:
            out["containerimage.digest"] = self.manifest_digest
        if self.config_digest:
            out["containerimage.config.digest"] = self.config_digest
        if self.output.names:
            out["image.name"] = ",".join(self.output.names)
        if self.platforms:
            out["pun.platforms"] = [
                {
                    "platform": p.platform,
                    "containerimage.digest": p.manifest_digest,
                    "containerimage.config.digest": p.config_digest,
                }
                for p in self.platforms
            ]
        return out
