"""COPY and ADD as docker reads them: flags, sources, destination, `--from`.

The COPY/ADD half of the Containerfile reader's plan builder (`parser._PlanBuilder`, which
mixes this in and provides the expansion, scope and reference rules it uses).
"""

from __future__ import annotations

from pun.containerfile.plan import CopyInstruction
from pun.containerfile.words import WordError, process_word
from pun.diagnostics import error

TYPE_CHECKING = False  # typing is imported for mypy only: see pun.records
if TYPE_CHECKING:
    from typing import Dict, List, Mapping, Tuple

    from pun.containerfile.directives import Directives
    from pun.containerfile.parser import Command
    from pun.reference import ImageReference

COPY_FLAGS_SUPPORTED = frozenset({"chmod", "chown"})
COPY_FLAGS_IGNORED = frozenset({"link"})  # only changes how BuildKit caches; same files


def is_remote_source(source: str) -> bool:
    """What BuildKit's ADD fetches instead of reading the context (`isHTTPSource`,
    `gitutil.ParseGitRef` in dockerfile2llb): URLs and git references."""
    return source.startswith(("http://", "https://", "git@", "git://", "ssh://")) or (
        source.endswith(".git") and "://" in source
    )


class CopyRules:
    if TYPE_CHECKING:  # what the plan builder that mixes this in provides
        path: str
        directives: Directives
        copies: List[CopyInstruction]
        workdir: str
        stage_name: str

        def _expand(self, word: str, scope: Mapping[str, str], line: int) -> str:
            ...

        def _stage_scope(self) -> Dict[str, str]:
            ...

        def _reference(self, name: str, what: str, line: int) -> ImageReference:
            ...

        def _flags(self, command: Command, allowed: Tuple[str, ...]) -> Dict[str, str]:
            ...

        def _warn_base_workdir(self, keyword: str, path: str, line: int) -> None:
            ...

    def _copy(self, command: Command) -> None:
        """COPY, and ADD of context files (ADD also unpacks local tar archives, as docker)."""
        keyword = command.written
        if command.has_heredoc:
            raise error(
                f"{keyword} from a heredoc is not supported",
                self.path,
                command.line,
                "put the content in a file in the context and COPY that file",
            )
        flags = self._flags(
            command, allowed=tuple(COPY_FLAGS_SUPPORTED | COPY_FLAGS_IGNORED | {"from"})
        )
        from_image = None
        from_reference = None
        if "from" in flags:
            if command.keyword == "ADD":
                raise error(
                    "ADD --from is not a Dockerfile flag",
                    self.path,
                    command.line,
                    "use COPY --from=<image> to copy files out of another image",
                )
            from_image = flags["from"]
            from_reference = self._copy_from(from_image, command.line)
        scope = self._stage_scope()
        words = [self._expand(w, scope, command.line) for w in command.values]
        if command.keyword == "ADD":
            for source in words[:-1]:
                if is_remote_source(source):
                    raise error(
                        f"ADD from a URL or git repository is not supported: {source}",
                        self.path,
                        command.line,
                        "fetch it with a Pants target (e.g. `http_source`, or a `shell_command` "
                        "that downloads it) and COPY or ADD the file from the context",
                    )
        if len(words) < 2:
            raise error(
                f"{keyword} needs at least one source and a destination",
                self.path,
                command.line,
                "write `COPY <src>... <dest>`",
            )
        *sources, dest = words
        if not dest or any(not s for s in sources):
            raise error(
                f"{keyword} has an empty source or destination",
                self.path,
                command.line,
                "check the variables used in this COPY",
            )
        if len(sources) > 1 and not dest.endswith("/"):
            raise error(
                f"when {keyword} has more than one source, "
                "the destination must be a directory ending in /",
                self.path,
                command.line,
                f"write the destination as {dest}/",
            )
        if not dest.startswith("/"):
            self._warn_base_workdir(f"the {keyword} destination", dest, command.line)
        mode = None
        if "chmod" in flags:
            mode = self._chmod(self._expand(flags["chmod"], scope, command.line), command.line)
        owner = None
        if "chown" in flags:
            owner = self._expand(flags["chown"], scope, command.line)
            if not owner or owner.count(":") > 1:
                raise error(
                    f"invalid --chown value {owner!r}",
                    self.path,
                    command.line,
                    "use --chown=user[:group] with names or numeric ids",
                )
        self.copies.append(
            CopyInstruction(
                tuple(sources),
                dest,
                command.line,
                mode,
                owner,
                self.workdir,
                unpack=command.keyword == "ADD",
                image=from_image,
                from_reference=from_reference,
            )
        )

    def _copy_from(self, name: str, line: int) -> ImageReference:
        """`COPY --from=<name>` as BuildKit's Dockerfile frontend reads it (dockerfile2llb
        `toCommand`): no variable expansion; a stage index or name refers to a stage, and
        anything else is an image reference, pulled like a FROM image."""
        try:
            unexpanded = process_word(name, {}, self.directives.escape).value == name
        except WordError:
            unexpanded = False
        if not unexpanded:
            raise error(
                "variable expansion is not supported for --from",
                self.path,
                line,
                "write the image name literally (BuildKit refuses variables here too)",
            )
        if name.isdigit() or name.lower() == self.stage_name:
            raise error(
                f"COPY --from={name} names a build stage; pun packs a single stage, so it "
                "cannot copy from one",
                self.path,
                line,
                "copy from an image (COPY --from=<image>), or build that stage as its own "
                "image and name it here",
            )
        if name == "scratch":
            raise error(
                "COPY --from=scratch has no files to copy",
                self.path,
                line,
                "name an image that holds the files",
            )
        return self._reference(name, "COPY --from", line)

    def _chmod(self, text: str, line: int) -> int:
        if not (0 < len(text) <= 4 and all(c in "01234567" for c in text)):
            raise error(
                f"invalid --chmod value {text!r}",
                self.path,
                line,
                "use octal permission bits, e.g. --chmod=755",
            )
        return int(text, 8)
