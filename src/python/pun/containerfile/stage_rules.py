"""FROM and WORKDIR as docker reads them, and what the base image's config decides there.

The stage half of the Containerfile reader's plan builder (`parser._PlanBuilder`, which mixes
this in and provides the expansion, scope and flag rules it uses). BuildKit resolves the base
image's config before converting (`dockerfile2llb/convert.go` toDispatchState): its WorkingDir
is where relative paths start and its User owns the directory WORKDIR creates. Without that
config (ParseOptions.base_configs) the plan records where it would have mattered
(`needs_base_config`) and warns.
"""

from __future__ import annotations

from pun.containerfile.plan import BaseImage, WorkdirInstruction
from pun.diagnostics import error, warning
from pun.imagespec import SCRATCH_CONFIG, BaseConfig, SetWorkdir, resolve_workdir
from pun.platform import InvalidPlatform, parse_platform
from pun.reference import InvalidReference, normalize

TYPE_CHECKING = False  # typing is imported for mypy only: see pun.records
if TYPE_CHECKING:
    from typing import Dict, List, Mapping, Optional, Tuple

    from pun.containerfile.parser import Command, ParseOptions
    from pun.diagnostics import Diagnostic
    from pun.imagespec import ConfigStep
    from pun.reference import ImageReference


class StageRules:
    if TYPE_CHECKING:  # what the plan builder that mixes this in provides
        options: ParseOptions
        path: str
        predefined: Dict[str, str]
        meta_args: Dict[str, str]
        stage_env: Dict[str, str]
        warnings: List[Diagnostic]
        base: Optional[BaseImage]
        config: List[ConfigStep]
        workdirs: List[WorkdirInstruction]
        workdir: str
        base_unknown: bool
        workdir_known: bool
        user_known: bool
        needs_base_config: bool
        user: str
        stage_name: str

        def _expand(self, word: str, scope: Mapping[str, str], line: int) -> str:
            ...

        def _stage_scope(self) -> Dict[str, str]:
            ...

        def _flags(self, command: Command, allowed: Tuple[str, ...]) -> Dict[str, str]:
            ...

    def _from(self, command: Command) -> None:
        if self.base is not None:
            raise error(
                "multi-stage builds are not supported: a second FROM "
                f"(the first is at line {self.base.line})",
                self.path,
                command.line,
                "pack one image per Containerfile; build other stages with their own tools",
            )
        scope = {**self.predefined, **self.meta_args}
        flags = self._flags(command, allowed=("platform",))
        values = command.values
        if len(values) == 3 and values[1].upper() == "AS":
            self.stage_name = values[2].lower()
            values = values[:1]
        if len(values) != 1 or not values[0]:
            raise error(
                "FROM takes one image (optionally `AS name`)",
                self.path,
                command.line,
                "write `FROM scratch` or `FROM <image>[:tag]`",
            )
        name = self._expand(values[0], scope, command.line)
        platform = None
        if "platform" in flags:
            text = self._expand(flags["platform"], scope, command.line)
            try:
                platform = parse_platform(text)
            except InvalidPlatform as exc:
                raise error(
                    str(exc), self.path, command.line, "use e.g. --platform=linux/amd64"
                ) from None
        if name == "scratch":
            self.base = BaseImage(reference=None, line=command.line, platform=platform)
            self._seed(SCRATCH_CONFIG)
            return
        reference = self._reference(name or values[0], "FROM", command.line)
        self.base = BaseImage(reference=reference, line=command.line, platform=platform, name=name)
        if self.options.ignore_base_config:
            return  # --compat pun: the plan is the same whatever the base holds
        config = self.options.base_configs.get(str(reference))
        if config is None:
            self.base_unknown = True
            self.workdir_known = self.user_known = False
        else:
            self._seed(config)

    def _seed(self, config: BaseConfig) -> None:
        """Start the stage as BuildKit's toDispatchState does: the base's Env (PATH added when
        it has none) in the expansion environment, its WorkingDir, its User."""
        self.stage_env.update(config.stage_env())
        if config.working_dir:
            self.workdir = resolve_workdir("/", config.working_dir)
        self.user = config.user

    def _warn_base_workdir(self, keyword: str, path: str, line: int) -> None:
        if self.workdir_known:
            return
        self.needs_base_config = True
        self.warnings.append(
            warning(
                f"{keyword} {path} is relative: docker build resolves it on the base image's "
                "WorkingDir, this plan on / (it was made without the base image's config)",
                self.path,
                line,
                "write an absolute path, or start with an absolute WORKDIR "
                "(`pun build` resolves the base image's config)",
            )
        )

    def _reference(self, name: str, what: str, line: int) -> ImageReference:
        try:
            return normalize(self.options.image_aliases.get(name, name))
        except InvalidReference as exc:
            raise error(
                f"{what} {name!r}: {exc}",
                self.path,
                line,
                "use `scratch` or a reference like registry.example.com/repo/image:tag (lowercase)",
            ) from None

    def _workdir(self, command: Command) -> None:
        if len(command.values) != 1 or not command.values[0]:
            raise error("WORKDIR takes one path", self.path, command.line, "write `WORKDIR /path`")
        path = self._expand(command.values[0], self._stage_scope(), command.line)
        if not path:
            raise error(
                "WORKDIR expands to an empty path",
                self.path,
                command.line,
                "check the variables used in this WORKDIR",
            )
        if not path.startswith("/"):
            self._warn_base_workdir("WORKDIR", path, command.line)
        self.workdir = resolve_workdir(self.workdir, path)
        self.workdir_known = self.workdir_known or path.startswith("/")
        self.config.append(SetWorkdir(path, command.line))
        # Like docker, WORKDIR also creates the directory, owned by the config's User (the
        # base's, or USER's): BuildKit's dispatchWorkdir mkdir WithUser(image.Config.User).
        if self.workdir != "/":
            if not self.user_known:
                self.needs_base_config = True
            self.workdirs.append(WorkdirInstruction(self.workdir, command.line, self.user or None))
