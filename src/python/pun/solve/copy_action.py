"""One FileOp copy action, as BuildKit's `docopy` and fsutil's `Copy` run it (the rules are
listed in fileops.py, whose StepRunner runs the other actions and calls this one)."""

from __future__ import annotations

import os
import posixpath
import stat
from dataclasses import replace
from typing import TYPE_CHECKING, Optional

from pun.gopath import clean_absolute
from pun.llb.definition import FileActionCopy
from pun.oci.fstree import ROOT, Kind, LocalFile, Node
from pun.solve.context import ContextDir, SourceFiles, resolve_wildcards
from pun.solve.unpack import archive_entries, is_archive

if TYPE_CHECKING:
    from pun.solve.fileops import ActionSite, Ids, StepRunner

# Directories a copy creates without a mode override (BuildKit's file backend).
DEFAULT_DIR_MODE = 0o755


class CopyAction:
    """One copy action (BuildKit's docopy + fsutil's Copy)."""

    def __init__(
        self,
        runner: "StepRunner",
        action: FileActionCopy,
        context: SourceFiles,
        owner: Optional[Ids],
        site: ActionSite,
    ) -> None:
        self.r = runner
        self.a = action
        self.context = context
        self.owner = owner
        self.site = site
        self.mode = None if action.mode == -1 else action.mode
        self.mtime = runner.timestamp(action.timestamp)

    def run(self) -> None:
        tree = self.r.tree
        dest = _clean_keep_slash(self.a.dest)
        if not self.a.createDestPath:
            parent = tree.get(posixpath.dirname(tree.resolve(clean_absolute(self.a.dest))))
            if parent is None:
                raise self.site.fail(
                    f"the directory of COPY destination {self.a.dest} does not exist"
                )
        src = _clean_keep_slash(self.a.src)
        if self.a.allowWildcard:
            sources = resolve_wildcards(self.context, src, self.a.followSymlink)
            if not sources:
                if self.a.allowEmptyWildcard:
                    return  # docopy returns before fsutil's Copy: nothing is created
                raise self.site.fail(
                    f"COPY source {self.a.src} matches nothing in {_where(self.context)}",
                    "check the pattern and the --context directory",
                )
        else:
            sources = [src]
        head, tail = posixpath.split(dest)
        ensure = dest if tail in ("", ".") else head
        for source in sources:
            # fsutil's Copy (once per source) creates the destination's directory part first.
            self.r.mkdir_all(
                tree.resolve(clean_absolute(ensure)),
                self._dir_mode(),
                self.owner,
                self.mtime,
                self.site,
            )
            self._copy_one(source, tree.resolve(clean_absolute(dest)))

    def _dir_mode(self) -> int:
        # fsutil creates these with Go's os.FileMode(mode), which has no setuid/setgid/sticky
        # bits in those positions: only the permission bits survive (tonistiigi/fsutil
        # copy/copy.go `Copy`, measured against BuildKit v0.32).
        return DEFAULT_DIR_MODE if self.mode is None else self.mode & 0o777

    def _copy_one(self, src: str, dest: str) -> None:
        followed = self.context.resolve(clean_absolute(src), follow_last=self.a.followSymlink)
        st = self.context.lstat(followed)
        if st is None:
            raise self.site.fail(
                f"COPY source {self.a.src} not found in {_where(self.context)}",
                "check the path; COPY reads only from the context directory"
                if isinstance(self.context, ContextDir)
                else "check the path inside that image (e.g. `skopeo inspect`, `umoci ls`)",
            )
        src_is_dir = stat.S_ISDIR(st.st_mode)
        if self.a.attemptUnpackDockerCompatibility and stat.S_ISREG(st.st_mode):
            archive = self.context.node(followed, st).content
            if isinstance(archive, LocalFile) and is_archive(archive.path):
                self._unpack(archive.path, clean_absolute(self.a.dest))
                return
        existing = self.r.tree.stat(dest)
        if (not self.a.dirCopyContents and src_is_dir and existing is not None) or (
            not src_is_dir and existing is not None and existing.is_dir
        ):
            base = posixpath.basename(clean_absolute(src).rstrip("/"))
            dest = clean_absolute(posixpath.join(dest, base)) if base else dest
        parent_target = posixpath.dirname(dest)
        if self.a.dirCopyContents and src_is_dir and existing is None:
            parent_target = dest
        self.r.mkdir_all(parent_target, self._dir_mode(), self.owner, self.mtime, self.site)
        self._copy_entry(followed, st, dest, overwrite_metadata=False)
        if src_is_dir:
            for child, child_st in self.context.walk(followed):
                relative = child[len(followed.rstrip("/")) :]
                self._copy_entry(
                    child, child_st, dest.rstrip("/") + relative, overwrite_metadata=True
                )

    def _unpack(self, archive: str, dest: str) -> None:
        """ADD of a tar archive: untar it into `dest` (pun.solve.unpack)."""
        tree = self.r.tree
        dest = tree.resolve(dest)
        self.r.mkdir_all(dest, DEFAULT_DIR_MODE, self.owner, self.mtime, self.site)
        for relative, node in archive_entries(archive):
            target = clean_absolute(dest + relative)
            parent = posixpath.dirname(target)
            # Parents the archive lacks are made by Untar as root, whatever the chown (only the
            # destination itself gets it), measured against BuildKit v0.32.
            self.r.mkdir_all(parent, DEFAULT_DIR_MODE, None, self.mtime, self.site)
            target = clean_absolute(tree.resolve(parent) + "/" + posixpath.basename(target))
            if self.owner is not None:
                node = replace(node, uid=self.owner.uid, gid=self.owner.gid)
            current = tree.get(target)
            if current is not None and not (current.is_dir and node.is_dir):
                for gone in tree.remove(target):
                    self.r.written.discard(gone)
            self.r.put(target, node)

    def _copy_entry(
        self, src: str, st: os.stat_result, target: str, overwrite_metadata: bool
    ) -> None:
        node = self.context.node(src, st)
        tree = self.r.tree
        current = tree.get(target)
        if (
            self.a.alwaysReplaceExistingDestPaths
            and current is not None
            and not (current.is_dir and node.is_dir)
        ):
            for gone in tree.remove(target):
                self.r.written.discard(gone)
            current = None
        if not node.is_dir:
            if current is not None and current.is_dir:
                raise self.site.fail(f"cannot replace directory {target} with a file")
            if current is not None:
                tree.remove(target)
            self.r.put(target, self._metadata(node))
            return
        if current is None:
            self.r.put(target, self._metadata(node))
        elif not current.is_dir:
            raise self.site.fail(
                f"cannot copy directory {src} onto {target}: it is a {current.kind.value}"
            )
        elif overwrite_metadata:
            # A nested directory merged into an existing one takes the source's metadata.
            self.r.put(target, self._metadata(node))
        else:
            # The top directory merged into an existing one keeps its owner and mode, only its
            # timestamp is refreshed.
            mtime = node.mtime if self.mtime is None else self.mtime
            self.r.put(target, replace(current, mtime=mtime))

    def _metadata(self, node: Node) -> Node:
        mode = node.mode
        if self.mode is not None and node.kind is not Kind.SYMLINK:
            mode = self.mode & 0o7777
        uid, gid = (self.owner.uid, self.owner.gid) if self.owner else (node.uid, node.gid)
        mtime = node.mtime if self.mtime is None else self.mtime
        return replace(node, mode=mode, uid=uid, gid=gid, mtime=mtime)


def _where(context: SourceFiles) -> str:
    if isinstance(context, ContextDir):
        return f"the build context ({context.root})"
    return context.root


def _clean_keep_slash(path: str) -> str:
    """BuildKit's cleanPath: absolute and clean, keeping a trailing `/` or `/.`."""
    cleaned = clean_absolute(path)
    if path.endswith("/."):
        return (cleaned if cleaned == ROOT else cleaned + "/") + "."
    if path.endswith("/") and cleaned != ROOT:
        return cleaned + "/"
    return cleaned
