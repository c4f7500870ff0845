"""PackPlan: what a Containerfile asks for, each part with the line that asked for it."""

from __future__ import annotations

from pun.diagnostics import Diagnostic, PunError
from pun.imagespec import ConfigStep
from pun.platform import Platform
from pun.records import Record
from pun.reference import ImageReference

TYPE_CHECKING = False  # typing is imported for mypy only: see pun.records
if TYPE_CHECKING:
    from typing import Dict, Optional, Tuple


class BaseImage(Record):
    """`FROM scratch` (reference None) or `FROM <image>`."""

    reference: Optional[ImageReference]
    line: int
    # `FROM --platform=...`, when given; otherwise the build's rule picks one.
    platform: Optional[Platform] = None
    # The name as written (after ARG expansion), before aliases and normalization: what the
    # Pants plugin matches against other `unikernel_image` targets.
    name: str = ""

    @property
    def is_scratch(self) -> bool:
        return self.reference is None


class BaseUnknownError(PunError):
    """An error in a plan made after `FROM <image>` without that image's config: the config
    (its Env, WorkingDir, User) might make it go away, as `WORKDIR $APPDIR` with the base's
    APPDIR does, so a caller that can resolve the base plans again with it and reports that
    plan's error instead (pun.api.BasePlanner). `hypervisor` is the label, for the platform
    the base is pulled for; `plan` what the reader made of the rest (every COPY source and
    image named, for dependency inference)."""

    def __init__(
        self,
        diagnostics: Tuple[Diagnostic, ...],
        base: BaseImage,
        hypervisor: Optional[str],
        plan: "PackPlan",
    ) -> None:
        super().__init__(diagnostics)
        self.base = base
        self.hypervisor = hypervisor
        self.plan = plan


class CopyInstruction(Record):
    sources: Tuple[str, ...]
    dest: str
    line: int
    mode: Optional[int] = None  # --chmod, as permission bits
    owner: Optional[str] = None  # --chown, as written: user[:group]
    # The WORKDIR in force (absolute): docker resolves a relative destination on it.
    workdir: str = "/"
    # ADD: a source that is a (compressed) tar archive is unpacked into the destination.
    unpack: bool = False
    # The sources are read from this image (a reference as written), not from the build context
    # (bunnyfile `kernel.from: <image>`, an `include` entry's `from`; `COPY --from=<image>`).
    image: Optional[str] = None
    # That image's reference, normalized (after the parser's image aliases), when the
    # Containerfile parser read it; None: convert normalizes `image` itself.
    from_reference: Optional[ImageReference] = None


class Label(Record):
    key: str
    value: str
    line: int


class WorkdirInstruction(Record):
    """WORKDIR creates its directory, as in docker (mode 0755, owned by USER when set)."""

    path: str  # absolute and clean
    line: int
    user: Optional[str] = None


class IgnoredInstruction(Record):
    keyword: str
    line: int


ROOTFS_INITRD = "initrd"
ROOTFS_BLOCK = "block"
ROOTFS_RAW = "raw"


class RootfsInclude(Record):
    """One file or directory a rootfs is made of: `source` read from `image` (None: the build
    context), placed at `dest` inside the rootfs (bunny's `include: ["src:dst"]`)."""

    source: str
    dest: str
    line: int
    image: Optional[str] = None


class RootfsRequest(Record):
    """A root filesystem pun makes itself and puts in the image (bunnyfile `rootfs`, or the
    Containerfile's way to ask for one). `raw` needs no artifact: its includes are plain copies
    into the image root and the plan carries them as CopyInstructions."""

    kind: str  # ROOTFS_INITRD | ROOTFS_BLOCK
    path: str  # where the artifact goes in the image (absolute)
    includes: Tuple[RootfsInclude, ...]
    line: int
    # The whole filesystem of this image (bunny `rootfs.from: <image>`), under the includes.
    from_image: Optional[str] = None
    # initrd: "gzip" compresses the cpio (mtime 0, no file name); None leaves it plain.
    compression: Optional[str] = None
    # block: "ext4" or "ext2".
    filesystem: str = "ext4"


class PackPlan(Record):
    path: str
    base: BaseImage
    copies: Tuple[CopyInstruction, ...]
    labels: Tuple[Label, ...]
    ignored: Tuple[IgnoredInstruction, ...]
    warnings: Tuple[Diagnostic, ...]
    syntax: Optional[str] = None
    # The image config instructions (ENV, LABEL, CMD, WORKDIR, ...), in order.
    config: Tuple[ConfigStep, ...] = ()
    workdirs: Tuple[WorkdirInstruction, ...] = ()
    # A rootfs artifact (initrd or block image) to make from files; None: the copies are all.
    rootfs: Optional[RootfsRequest] = None
    # The target platform the file itself asks for (bunnyfile `platforms.architecture`); None:
    # the build's (--platform, default linux/amd64).
    platform: Optional[Platform] = None
    # (first line, last line) of each instruction that spans several (continuations,
    # heredocs): the ranges of the LLB's source map, as BuildKit's parser.Node.Location.
    line_ends: Tuple[Tuple[int, int], ...] = ()
    # FROM <image> planned without its config where the config decides (a variable the base
    # may set, a relative path before an absolute WORKDIR, WORKDIR's owner): plan again with
    # it (pun.api.BasePlanner), as BuildKit resolves it before converting.
    needs_base_config: bool = False

    def label_values(self) -> Dict[str, str]:
        """Labels as the image gets them: the last of duplicate keys wins."""
        return {label.key: label.value for label in self.labels}

    def label_lines(self) -> Dict[str, int]:
        return {label.key: label.line for label in self.labels}

    def context_sources(self) -> Tuple[Tuple[str, str, int], ...]:
        """(what, path, line) for every build-context path the image is made of: COPY sources,
        then the rootfs artifact's includes (what: "COPY" or "include"). Paths read from another
        image are not in the context and are left out."""
        copied = tuple(
            ("COPY", src, copy.line)
            for copy in self.copies
            if copy.image is None
            for src in copy.sources
        )
        if self.rootfs is None:
            return copied
        included = tuple(
            ("include", i.source, i.line) for i in self.rootfs.includes if i.image is None
        )
        return copied + included

    def copy_sources(self) -> Tuple[str, ...]:
        """Every build-context path the image reads, in order, for dependency inference."""
        return tuple(path for _, path, _ in self.context_sources())

    def image_names(self) -> Tuple[Tuple[str, int], ...]:
        """Every image named by FROM and COPY --from, as written, with its line."""
        names = [(self.base.name, self.base.line)] if self.base.name else []
        names.extend((c.image, c.line) for c in self.copies if c.image is not None)
        return tuple(names)
