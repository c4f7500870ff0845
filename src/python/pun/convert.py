"""PackPlan -> LLB State: the base, one FileOp per COPY (and per WORKDIR), then `/urunc.json`.

Two semantics (`compat`):
* `docker` (default) makes the FileOps BuildKit's Dockerfile frontend makes for context copies
  (moby/buildkit v0.32.2 `frontend/dockerfile/dockerfile2llb/convert_copy.go` `dispatchCopy`):
  one copy action per source with followSymlinks, dirCopyContents, createDestPath,
  allowWildcard and allowEmptyWildcard set; the destination resolved on the WORKDIR
  (`pathRelativeToWorkingDir` in `convert.go`); a `mkdir -p` per WORKDIR
  (`dispatchWorkdir`); and a context source that carries the ignore file's patterns
  (`local.excludepatterns`, `frontend/dockerui/config.go` `MainContext`) and the COPY sources
  (`local.followpaths`, `convert.go` `filterPaths`).
* `pun` keeps the original pun's LLB byte for byte: copy actions with createDestPath only
  (directories nest, source symlinks are copied as links), destinations on `/`, no WORKDIR,
  a bare context source.
"""

from __future__ import annotations

import posixpath

from pun.containerfile.plan import BaseImage, CopyInstruction, PackPlan, WorkdirInstruction
from pun.diagnostics import error
from pun.gopath import clean as go_clean
from pun.llb.state import Copy, Mkdir, Mkfile, Owner, State, image, local, scratch
from pun.platform import DEFAULT_TARGET, Platform, base_image_platform
from pun.records import Record
from pun.reference import InvalidReference, normalize
from pun.urunc import HYPERVISOR

TYPE_CHECKING = False  # typing is imported for mypy only: see pun.records
if TYPE_CHECKING:
    from typing import Dict, List, Optional, Tuple, Union

    from pun.reference import ImageReference

CONTEXT_LOCAL_NAME = "context"
# The rootfs artifact pun makes client-side (pun.rootfs.make) arrives as this local source,
# holding one file, ROOTFS_ARTIFACT, which is copied to RootfsRequest.path.
ROOTFS_LOCAL_NAME = "pun-rootfs"
ROOTFS_ARTIFACT = "rootfs"
ROOTFS_MODE = 0o644
URUNC_JSON_PATH = "/urunc.json"
URUNC_JSON_MODE = 0o644
WORKDIR_MODE = 0o755
_GLOB_CHARACTERS = frozenset("*?[")
COMPAT_DOCKER = "docker"
COMPAT_PUN = "pun"
COMPAT_MODES = (COMPAT_DOCKER, COMPAT_PUN)


class ConvertOptions(Record):
    target_platform: Platform = DEFAULT_TARGET
    # Forces the base image's platform (the original pun always used qemu/amd64).
    base_platform: Optional[Platform] = None
    # "docker": docker build's semantics; "pun": the original pun's LLB, byte for byte.
    compat: str = COMPAT_DOCKER
    # The ignore file's patterns, for the context source (docker semantics only).
    context_excludes: Tuple[str, ...] = ()
    # The rootfs artifact's bytes, made by the caller (the frontend: no `pun-rootfs` local can
    # reach it): written into the LLB as a file the copy reads instead of the local source.
    rootfs_artifact: Optional[bytes] = None


def pull_platform(plan: PackPlan, options: ConvertOptions) -> Optional[Platform]:
    """The platform the base image is pulled for (None for FROM scratch)."""
    return base_pull_platform(plan.base, plan.label_values().get(HYPERVISOR), options)


def base_pull_platform(
    base: BaseImage, hypervisor: Optional[str], options: ConvertOptions
) -> Optional[Platform]:
    """pull_platform, from the FROM line and the hypervisor label alone."""
    if base.reference is None:
        return None
    return (
        base.platform
        or options.base_platform
        or base_image_platform(base.reference.domain, options.target_platform, hypervisor)
    )


def copy_reference(step: CopyInstruction, plan: PackPlan) -> ImageReference:
    """The image a copy reads from (`COPY --from`, a bunnyfile `from: <image>`), normalized."""
    if step.from_reference is not None:
        return step.from_reference
    assert step.image is not None
    try:
        return normalize(step.image)
    except InvalidReference as exc:
        raise error(
            f"image {step.image!r}: {exc}",
            plan.path,
            step.line,
            "use a reference like registry.example.com/repo/image:tag (lowercase)",
        ) from None


def copy_from_platform(
    reference: ImageReference, plan: PackPlan, options: ConvertOptions
) -> Platform:
    """The platform a `COPY --from` image is pulled for: the build's target, as BuildKit's
    Dockerfile frontend pulls an unnamed stage (dockerfile2llb `resolveBaseImage`), with pun's
    unikraft.org rule (those images are published per hypervisor) as for FROM."""
    return base_image_platform(
        reference.domain, options.target_platform, plan.label_values().get(HYPERVISOR)
    )


def plan_to_state(
    plan: PackPlan, urunc_json: bytes, options: ConvertOptions = ConvertOptions()
) -> State:
    reference = plan.base.reference
    if reference is None:
        state = scratch()
    else:
        state = image(str(reference), pull_platform(plan, options))
    docker = options.compat == COMPAT_DOCKER
    if docker:
        context = local(
            CONTEXT_LOCAL_NAME,
            exclude_patterns=options.context_excludes,
            follow_paths=context_paths(plan.copies),
        )
    else:
        context = local(CONTEXT_LOCAL_NAME)
    steps: List[Union[CopyInstruction, WorkdirInstruction]] = list(plan.copies)
    if docker:
        steps.extend(plan.workdirs)
    # One source op per image and platform: marshal merges equal vertices, so a COPY --from
    # of the base image itself must reuse the base's (BuildKit dedups them the same way).
    images: Dict[Tuple[str, Optional[Platform]], State] = {}
    if reference is not None:
        images[(str(reference), pull_platform(plan, options))] = state
    for step in sorted(steps, key=lambda s: s.line):
        if isinstance(step, WorkdirInstruction):
            owner = Owner.parse(step.user) if step.user else None
            state = state.file(
                Mkdir(step.path, WORKDIR_MODE, make_parents=True, owner=owner), line=step.line
            )
            continue
        if step.image is not None:
            if not docker:
                raise error(
                    "COPY --from is not supported with --compat pun (the original pun had no "
                    "COPY --from)",
                    plan.path,
                    step.line,
                    "drop --compat pun to copy files out of another image",
                )
            from_reference = copy_reference(step, plan)
            key = (str(from_reference), copy_from_platform(from_reference, plan, options))
            source = images.get(key)
            if source is None:
                source = images[key] = image(*key)
            copies = _docker_copy(step, source)
        else:
            copies = (_docker_copy if docker else _pun_copy)(step, context)
        state = state.file(*copies, line=step.line)
    if plan.rootfs is not None:
        if options.rootfs_artifact is not None:
            artifact = scratch().file(
                Mkfile("/" + ROOTFS_ARTIFACT, ROOTFS_MODE, options.rootfs_artifact)
            )
        else:
            artifact = local(ROOTFS_LOCAL_NAME, follow_paths=(ROOTFS_ARTIFACT,))
        copy = Copy(
            source=artifact,
            src="/" + ROOTFS_ARTIFACT,
            dest=plan.rootfs.path,
            mode=ROOTFS_MODE,
            create_dest_path=True,
        )
        state = state.file(copy, line=plan.rootfs.line)
    return state.file(Mkfile(URUNC_JSON_PATH, URUNC_JSON_MODE, urunc_json))


def _docker_copy(step: CopyInstruction, context: State) -> Tuple[Copy, ...]:
    dest = resolve_dest(step.workdir, step.dest)
    return tuple(
        Copy(
            source=context,
            src=src,
            dest=dest,
            mode=step.mode,
            owner=_owner(step),
            follow_symlinks=True,
            dir_copy_contents=True,
            create_dest_path=True,
            allow_wildcard=True,
            allow_empty_wildcard=True,
            attempt_unpack=step.unpack,
        )
        for src in step.sources
    )


def _pun_copy(step: CopyInstruction, context: State) -> Tuple[Copy, ...]:
    return tuple(
        Copy(
            source=context,
            src=src,
            dest=step.dest,
            mode=step.mode,
            owner=_owner(step),
            # Patterns expand; literal paths keep the original's bytes.
            allow_wildcard=bool(_GLOB_CHARACTERS.intersection(src)),
        )
        for src in step.sources
    )


def _owner(step: CopyInstruction) -> Optional[Owner]:
    return Owner.parse(step.owner) if step.owner else None


def resolve_dest(workdir: str, dest: str) -> str:
    """BuildKit's pathRelativeToWorkingDir: a relative destination joins the WORKDIR; a
    trailing `/` (or `/.`) survives, `.` and "" mean the WORKDIR itself as a directory."""
    if dest.startswith("/"):
        return dest
    if dest in (".", ""):
        dest = "./"
    joined = go_clean(posixpath.join(workdir or "/", dest))
    if dest.endswith("/") and not joined.endswith("/"):
        joined += "/"
    elif dest.endswith("/."):
        joined = (joined if joined == "/" else joined + "/") + "."
    return joined


def context_paths(copies: Tuple[CopyInstruction, ...]) -> Tuple[str, ...]:
    """`local.followpaths`: every COPY source as `path.Join(".", path.Join("/", src))`, sorted;
    none at all when one of them is the whole context (`COPY . /`)."""
    # Sources read from an image are not in the context (convert.go: ctxPaths).
    return follow_paths([src for copy in copies if copy.image is None for src in copy.sources])


def follow_paths(sources: "List[str]") -> Tuple[str, ...]:
    """`local.followpaths` for these context paths (also the frontend's rootfs includes)."""
    paths = set()
    for src in sources:
        rooted = go_clean(posixpath.join("/", src))
        if rooted == "/":
            return ()
        paths.add(rooted.lstrip("/"))
    return tuple(sorted(paths, key=lambda p: p.encode("utf-8", "surrogateescape")))
