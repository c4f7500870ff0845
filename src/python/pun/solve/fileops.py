"""Run FileOp actions (copy, mkfile, mkdir) on a Tree, exactly as BuildKit's file backend does.

The rules follow BuildKit's `docopy`/`mkfile`/`mkdir` and fsutil's `Copy`:
* the destination's directory part is created first (`/d/` creates `/d`, `/d/f` creates `/d`);
* a source directory copied onto an existing destination lands *inside* it unless
  dirCopyContents is set; a file copied onto an existing directory lands inside it too;
* a new directory tree is created as a copy of the source directory itself;
* owners come from the context (0:0) unless the action chowns; a mode override replaces the
  permission bits of every copied entry and of the directories the copy creates;
* timestamps are kept (timestamp -1) or set to the action's timestamp.
Every path written is recorded, so the caller can cut one layer per FileOp.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Set, Tuple, Union

from pun.diagnostics import Diagnostic, PunError, error, warning
from pun.gopath import clean_absolute
from pun.llb.definition import NO_INPUT, FileAction, FileActionMkDir, FileActionMkFile, UserOpt
from pun.oci.fstree import Inline, Kind, Node, Tree, split_components
from pun.solve.context import ContextDir
from pun.solve.copy_action import CopyAction
from pun.solve.graph import FileStep, ImageSource, LocalSource

if TYPE_CHECKING:
    from pun.solve.imagefiles import ImageFiles

_NO_TIMESTAMP = -1

# Reads a small file (e.g. /etc/passwd) from the tree; None when it does not exist.
SmallFileReader = Callable[[Tree, str], Optional[bytes]]


@dataclass(frozen=True)
class Ids:
    """An owner resolved to numbers (pun.llb.state.Owner is the LLB's, which may hold names)."""

    uid: int
    gid: int


@dataclass(frozen=True)
class ActionSite:
    """Where an action came from, for messages: op digest, action index, Containerfile line."""

    digest: str
    index: int
    path: str = ""
    line: Optional[int] = None

    def fail(self, message: str, hint: str = "") -> PunError:
        return error(
            f"{message} (op {self.digest[:19]}…, action #{self.index})", self.path, self.line, hint
        )

    def warn(self, message: str, hint: str = "") -> Diagnostic:
        return warning(message, self.path, self.line, hint)

    def locate(self, exc: PunError) -> PunError:
        """`exc` with this action's Containerfile line on the diagnostics that name no place
        (errors from the context reader or an archive, which know nothing of the line)."""
        if self.line is None:
            return exc
        return PunError(
            d if d.path or d.line is not None else d._replace(path=self.path, line=self.line)
            for d in exc.diagnostics
        )


class StepRunner:
    """Applies the FileSteps of one chain to one tree, recording what each step writes."""

    def __init__(
        self,
        tree: Tree,
        contexts: Dict[str, ContextDir],
        now: int,
        read_small: SmallFileReader,
        images: Optional[Dict[str, "ImageFiles"]] = None,
    ) -> None:
        self.tree = tree
        self._contexts = contexts
        self._images = images or {}  # COPY --from sources, by image source op digest
        self._now = now
        self._read_small = read_small
        self._filtered: Dict[Tuple[str, Tuple[str, ...]], ContextDir] = {}
        self.written: Set[str] = set()
        self.warnings: List[Diagnostic] = []  # e.g. a --chown name the image does not have

    def run(self, step: FileStep, sites: List[ActionSite]) -> Set[str]:
        """Run every action of `step`; return the paths it wrote (including created parents)."""
        self.written = set()
        for action, source, site in zip(step.actions, step.copy_sources, sites):
            try:
                self._run_action(action, source, site)
            except PunError as exc:
                raise site.locate(exc) from None
        return self.written

    def _run_action(
        self,
        action: FileAction,
        source: Optional[Union[LocalSource, ImageSource]],
        site: ActionSite,
    ) -> None:
        kind = action.WhichOneof("action")
        if kind == "copy":
            assert source is not None
            context = (
                self._context(source, site)
                if isinstance(source, LocalSource)
                else self._images[source.digest]
            )
            CopyAction(
                self, action.copy, context, self._owner(action.copy, action, site), site
            ).run()
        elif kind == "mkfile":
            self._mkfile(action.mkfile, self._owner(action.mkfile, action, site), site)
        else:
            self._mkdir(action.mkdir, self._owner(action.mkdir, action, site), site)

    def _context(self, source: LocalSource, site: ActionSite) -> ContextDir:
        """The context directory as this local source sends it (its exclude patterns)."""
        key = (source.name, source.exclude_patterns)
        context = self._filtered.get(key)
        if context is None:
            plain = self._contexts.get(source.name)
            if plain is None:
                raise site.fail(
                    f"no directory was given for local source {source.name!r}",
                    "pun passes its --context as the local named 'context'",
                )
            context = self._filtered[key] = plain.excluding(source.exclude_patterns)
        return context

    # --- helpers shared with CopyAction ---------------------------------------------------------

    def put(self, path: str, node: Node) -> None:
        self.tree.set(path, node)
        self.written.add(path)

    def mkdir_all(
        self, path: str, mode: int, owner: Optional[Ids], mtime: Optional[int], site: ActionSite
    ) -> None:
        """fsutil's MkdirAll on a resolved path: create missing directories, fail on a file."""
        current = ""
        for part in split_components(path):
            current += "/" + part
            resolved = self.tree.resolve(current)
            node = self.tree.get(resolved)
            if node is None:
                uid, gid = (owner.uid, owner.gid) if owner else (0, 0)
                self.put(
                    resolved, Node(Kind.DIR, mode, uid, gid, self._now if mtime is None else mtime)
                )
            elif not node.is_dir:
                raise site.fail(
                    f"cannot create directory {current}: a {node.kind.value} is in the way"
                )
            current = resolved

    def timestamp(self, value: int) -> Optional[int]:
        return None if value == _NO_TIMESTAMP else value

    # --- actions ---------------------------------------------------------------------------------

    def _mkfile(self, action: FileActionMkFile, owner: Optional[Ids], site: ActionSite) -> None:
        path = self.tree.resolve(clean_absolute(action.path))
        parent = self.tree.get(posixpath.dirname(path))
        if parent is None or not parent.is_dir:
            raise site.fail(f"cannot create {action.path}: its directory does not exist")
        existing = self.tree.get(path)
        if existing is not None and existing.is_dir:
            raise site.fail(f"cannot create file {action.path}: it is a directory")
        # Like os.WriteFile: an existing file keeps its mode; a new one gets the action's mode.
        mode = (
            existing.mode
            if existing is not None and existing.kind is Kind.FILE
            else action.mode & 0o777
        )
        base_owner = Ids(existing.uid, existing.gid) if existing is not None else Ids(0, 0)
        who = owner or base_owner
        mtime = self.timestamp(action.timestamp)
        data = bytes(action.data)
        self.put(
            path,
            Node(
                Kind.FILE,
                mode,
                who.uid,
                who.gid,
                self._now if mtime is None else mtime,
                len(data),
                Inline(data),
            ),
        )

    def _mkdir(self, action: FileActionMkDir, owner: Optional[Ids], site: ActionSite) -> None:
        path = self.tree.resolve(clean_absolute(action.path))
        mtime = self.timestamp(action.timestamp)
        if action.makeParents:
            self.mkdir_all(path, action.mode & 0o777, owner, mtime, site)
            return
        parent = self.tree.get(posixpath.dirname(path))
        if parent is None or not parent.is_dir:
            raise site.fail(
                f"cannot create directory {action.path}: its parent does not exist",
                "set makeParents",
            )
        if self.tree.get(path) is not None:
            return  # os.Mkdir's EEXIST is not an error for BuildKit
        who = owner or Ids(0, 0)
        self.put(
            path,
            Node(
                Kind.DIR,
                action.mode & 0o777,
                who.uid,
                who.gid,
                self._now if mtime is None else mtime,
            ),
        )

    # --- owners ----------------------------------------------------------------------------------

    def _owner(self, holder: object, action: FileAction, site: ActionSite) -> Optional[Ids]:
        """BuildKit v0.32.2's `readUser` (solver/llbsolver/ops/user_linux.go): a user by id
        is uid = gid = id; by name, its passwd entry's uid and gid; a group replaces the gid.
        A name the image's /etc/passwd or /etc/group lacks (or a missing file) leaves the ids
        as they were, i.e. root, as `docker build` does; pun warns where BuildKit is silent."""
        if not holder.HasField("owner"):  # type: ignore[attr-defined]
            return None
        chown = holder.owner  # type: ignore[attr-defined]
        # pun's LLB has owners on COPY (--chown) and on WORKDIR's mkdir (the USER in force).
        flag = "--chown" if action.WhichOneof("action") == "copy" else "USER (WORKDIR's owner)"
        uid = gid = 0
        if chown.HasField("user"):
            found = self._user(chown.user, "passwd", site, flag)
            if found is not None:
                uid, gid = found
        if chown.HasField("group"):
            found = self._user(chown.group, "group", site, flag)
            if found is not None:
                gid = found[0]
        return Ids(uid, gid)

    def _user(
        self, user: UserOpt, database: str, site: ActionSite, flag: str
    ) -> Optional[Tuple[int, int]]:
        which = user.WhichOneof("user")
        if which == "byID":
            return user.byID, user.byID
        name = user.byName.name
        if user.byName.input == NO_INPUT:  # BuildKit: "invalid user index: -1"
            raise site.fail(
                f"{flag} {name!r} needs /etc/{database} from the base image, "
                "but the image starts FROM scratch",
                "use numeric ids, e.g. "
                + ("--chown=1000:1000" if flag == "--chown" else "USER 1000"),
            )
        what = "user" if database == "passwd" else "group"
        data = self._read_small(self.tree, f"/etc/{database}")
        for line in (data or b"").decode("utf-8", "replace").splitlines():
            fields = line.split(":")
            if fields and fields[0] == name:
                try:
                    if database == "passwd" and len(fields) >= 4:
                        return int(fields[2]), int(fields[3])
                    if database == "group" and len(fields) >= 3:
                        return int(fields[2]), int(fields[2])
                except ValueError:
                    break
        missing = "has no /etc/" + database if data is None else f"has no {what} {name!r}"
        # BuildKit keeps the ids it had: root's for a user, the user's own gid for a group.
        result = (
            "the uid (and, without a group, the gid) is 0"
            if what == "user"
            else "the gid is the user's own (0 for root)"
        )
        self.warnings.append(
            site.warn(
                f"{flag} {name!r}: the image {missing}, so {result}, as docker build makes it",
                f"use numeric ids, or add the {what} to the base image's /etc/{database}",
            )
        )
        return None
