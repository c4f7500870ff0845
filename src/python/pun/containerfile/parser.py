"""Containerfile text -> PackPlan, with Dockerfile word rules (quotes, escapes, ARG/ENV).

Lines are split into instructions by `splitter.py`, BuildKit's `frontend/dockerfile/parser`
rules in Python (held to that parser by tests), so continuation lines, comments, parser
directives, heredocs and JSON forms are read as `docker build` reads them. What BuildKit does
after parsing (expansion, meaning of flags) is ours: this module (ARG, ENV, LABEL, the
config instructions via `config.py`), `copy_rules.py` (COPY/ADD), `stage_rules.py` (FROM,
WORKDIR and the base image's config) and `words.py`.
"""

from __future__ import annotations

from pun.containerfile.config import ConfigReader
from pun.containerfile.copy_rules import COPY_FLAGS_IGNORED, CopyRules
from pun.containerfile.directives import Directives
from pun.containerfile.plan import (
    BaseImage,
    BaseUnknownError,
    CopyInstruction,
    IgnoredInstruction,
    Label,
    PackPlan,
    RootfsRequest,
    WorkdirInstruction,
)
from pun.containerfile.splitter import Instruction, Split, SplitError, split_instructions
from pun.containerfile.stage_rules import StageRules
from pun.containerfile.words import WordError, process_word
from pun.diagnostics import Diagnostic, PunError, error, warning
from pun.imagespec import DEFAULT_SHELL, BaseConfig, ConfigStep, SetEnv, SetLabel
from pun.platform import DEFAULT_TARGET, Platform, build_platform
from pun.records import Record
from pun.urunc import HYPERVISOR

TYPE_CHECKING = False  # typing is imported for mypy only: see pun.records
if TYPE_CHECKING:
    from typing import Dict, List, Mapping, Optional, Sequence, Set, Tuple

KNOWN_INSTRUCTIONS = frozenset(
    {
        "ADD",
        "ARG",
        "CMD",
        "COPY",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "FROM",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "RUN",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
    }
)


# The instructions pun reads and leaves out of the image: why, and what to do instead.
_IGNORED = {
    "RUN": (
        "a unikernel image has no build steps to run",
        "remove it, or build the unikernel elsewhere (e.g. a Pants target) and COPY the result",
    ),
    "HEALTHCHECK": (
        "pun records no health check (it would run a command inside the guest)",
        "remove it; check the unikernel's health from outside, e.g. with a probe on its port",
    ),
    "ONBUILD": (
        "pun records no triggers for images built FROM this one",
        "remove it, and write the instruction into the Containerfiles that build on this image",
    ),
}


class ParseOptions(Record):
    path: str = "Containerfile"
    build_args: Mapping[str, str] = {}
    target_platform: Platform = DEFAULT_TARGET
    # FROM / COPY --from names (as written, after ARG expansion) -> the reference to use instead:
    # the Pants plugin maps another `unikernel_image` (by address or name) to the image it built.
    image_aliases: Mapping[str, str] = {}
    # Normalized FROM reference -> its resolved config (Env, WorkingDir, User), which BuildKit
    # reads before converting. Absent: the plan says so (PackPlan.needs_base_config) where it
    # would have changed the meaning, and warns.
    base_configs: Mapping[str, BaseConfig] = {}
    # `--compat pun`: the original pun read nothing of its base image, so neither does the
    # plan (base_configs unused, nothing recorded as needing them, no warning about them).
    ignore_base_config: bool = False


def parse_containerfile(text: str, options: ParseOptions = ParseOptions()) -> PackPlan:
    """Read a Containerfile; raise PunError (naming file and line) for anything we cannot pack."""
    if text.startswith("\ufeff"):
        text = text[1:]
    split, commands = _split_instructions(text, options.path)
    found = dict(split.directives)
    directives = Directives(escape=split.escape, syntax=found.get("syntax"))
    plan = _PlanBuilder(options, directives).build(commands)
    ends = tuple(
        (i.start_line, i.end_line) for i in split.instructions if i.end_line > i.start_line
    )
    return plan._replace(line_ends=ends) if ends else plan


def _split_instructions(text: str, path: str) -> Tuple[Split, Sequence["Command"]]:
    # The splitter reads BuildKit's rules on str; text that is not Unicode scalar values (a
    # lone surrogate has no UTF-8) or holds NUL (BuildKit's own reader, and the `dockerfile`
    # package it is tested against, stop there) is refused first.
    bad = _not_text(text)
    if bad is not None:
        raise error(
            f"character U+{ord(text[bad]):04X} cannot be in a Containerfile",
            path,
            text.count("\n", 0, bad) + 1,
            "remove it (a Containerfile is UTF-8 text without NUL characters)",
        )
    try:
        split = split_instructions(text)
    except SplitError as exc:
        if str(exc) == "file with no instructions":
            raise error(
                "the Containerfile has no instructions and so no FROM",
                path,
                1,
                "start it with `FROM scratch` (or FROM <image>), then COPY and LABEL",
            ) from None
        directive = "parser directive" in str(exc) or "escape token" in str(exc)
        raise error(
            str(exc) if directive else f"cannot parse: {exc}",
            path,
            exc.line or None,
            "fix or remove the parser directive" if directive else "check the syntax of that line",
        ) from None
    return split, [_command(c, path) for c in split.instructions]


def _not_text(text: str) -> Optional[int]:
    """Index of the first NUL or surrogate, or None (no regex: the common file is ASCII)."""
    if text.isascii():
        index = text.find("\x00")
        return index if index >= 0 else None
    for index, char in enumerate(text):
        if char == "\x00" or "\ud800" <= char <= "\udfff":
            return index
    return None


def _command(parsed: Instruction, path: str) -> "Command":
    """One instruction, checked: a last line that is a lone `\\` gives one without a
    keyword; it ends in one error."""
    if not parsed.cmd.strip():
        raise error(
            "no instruction here (`docker build` stops here too: unknown instruction)",
            path,
            parsed.start_line,
            "remove the `\\` that ends the line before, or write the instruction it continues",
        )
    if any("\x00" in word for word in (*parsed.flags, *parsed.value)):
        raise error(
            f"a NUL character (JSON \\u0000) in this {parsed.cmd} instruction",
            path,
            parsed.start_line,
            "remove the \\u0000 escape: no path, label or value can hold a NUL",
        )
    return Command(
        keyword=parsed.cmd.upper(),
        written=parsed.cmd,
        flags=parsed.flags,
        values=parsed.value,
        is_json=parsed.json,
        line=parsed.start_line,
        has_heredoc=bool(parsed.heredocs),
    )


class Command(Record):
    keyword: str
    written: str
    flags: Tuple[str, ...]
    values: Tuple[str, ...]
    is_json: bool
    line: int
    has_heredoc: bool


def _platform_args(prefix: str, platform: Platform) -> Dict[str, str]:
    return {
        f"{prefix}PLATFORM": str(platform),
        f"{prefix}OS": platform.os,
        f"{prefix}ARCH": platform.architecture,
        f"{prefix}VARIANT": platform.variant,
    }


class _PlanBuilder(CopyRules, StageRules):
    """Walks the instructions once, keeping the ARG/ENV scope that expansion needs."""

    def __init__(self, options: ParseOptions, directives: Directives) -> None:
        self.options = options
        self.directives = directives
        self.path = options.path
        # Docker predefines these for FROM lines and for ARGs that name them.
        self.predefined = {
            **_platform_args("TARGET", options.target_platform),
            **_platform_args("BUILD", build_platform()),
        }
        self.meta_args: Dict[str, str] = {}
        # The stage's expansion environment: ARG (with a value) and ENV both write it and the
        # last write wins, as BuildKit's `dispatchArg`/`dispatchEnv` call `State.AddEnv`.
        self.stage_env: Dict[str, str] = {}
        self.consumed_build_args: Set[str] = set()
        self.warnings: List[Diagnostic] = []
        self.base: Optional[BaseImage] = None
        self.copies: List[CopyInstruction] = []
        self.labels: List[Label] = []
        self.ignored: List[IgnoredInstruction] = []
        self.config: List[ConfigStep] = []
        self.workdirs: List[WorkdirInstruction] = []
        # WORKDIR as docker tracks it (relative COPY destinations and WORKDIR resolve against
        # it): the base image's WorkingDir when its config was given, else "/".
        self.workdir = "/"
        # FROM <image> without its config (ParseOptions.base_configs): what the base would
        # have decided is unknown. workdir_known turns True at an absolute WORKDIR, user_known
        # at USER; needs_base_config records that one of them (or a variable the base might
        # set) mattered, so a caller that can resolve the base plans again with it.
        self.base_unknown = False
        self.workdir_known = True
        self.user_known = True
        self.needs_base_config = False
        self.user = ""  # the config's User: the base's, then USER (owner of WORKDIR's mkdir)
        self.shell: Tuple[str, ...] = DEFAULT_SHELL  # SHELL, for the shell-form warnings
        self.stage_name = ""  # FROM ... AS name

    def build(self, commands: Sequence[Command]) -> PackPlan:
        if not any(c.keyword == "FROM" for c in commands):
            first = commands[0].line if commands else 1
            raise error(
                "no FROM instruction: a Containerfile must name its base image first",
                self.path,
                first,
                "add `FROM scratch` (or FROM <image>) as the first instruction",
            )
        failure: Optional[PunError] = None
        for command in commands:
            try:
                self._dispatch(command)
            except PunError as exc:
                if not self.base_unknown:
                    raise
                # After FROM <image> without its config, the config may lift the error
                # (`WORKDIR $APPDIR`): read on, so the plan still names every COPY source
                # and image (Pants' dependency inference) and the hypervisor label.
                failure = failure or exc
        assert self.base is not None
        unused = sorted(set(self.options.build_args) - self.consumed_build_args)
        if unused:
            self.warnings.append(
                warning(
                    f"build-arg(s) {', '.join(unused)} were not consumed by any ARG",
                    self.path,
                    None,
                    "declare them with ARG or drop them",
                )
            )
        plan = self._pack(tuple(self.copies), None, ())
        try:
            if failure is not None:
                raise failure
            if any(label.key == "pun.rootfs" for label in self.labels):  # ROOTFS_LABEL
                from pun.containerfile.rootfs_label import split_rootfs

                copies, rootfs, derived = split_rootfs(self.labels, self.copies, self.path)
                # urunc reads them from the config's Labels too (its shim, and Kubernetes,
                # which never sees the manifest): unlike the urunc bridge's cmdline, they go there.
                self.config.extend(SetLabel(d.key, d.value, d.line) for d in derived)
                plan = self._pack(copies, rootfs, derived)
        except PunError as exc:
            if not self.base_unknown:
                raise
            hypervisor = plan.label_values().get(HYPERVISOR)
            raise BaseUnknownError(exc.diagnostics, self.base, hypervisor, plan) from None
        return plan

    def _pack(
        self,
        copies: Tuple[CopyInstruction, ...],
        rootfs: Optional[RootfsRequest],
        derived: Tuple[Label, ...],
    ) -> PackPlan:
        assert self.base is not None
        return PackPlan(
            path=self.path,
            base=self.base,
            copies=copies,
            labels=tuple(self.labels) + derived,
            ignored=tuple(self.ignored),
            warnings=tuple(self.warnings),
            syntax=self.directives.syntax,
            config=tuple(self.config),
            workdirs=tuple(self.workdirs),
            rootfs=rootfs,
            needs_base_config=self.needs_base_config,
        )

    def _dispatch(self, command: Command) -> None:
        keyword = command.keyword
        if keyword not in KNOWN_INSTRUCTIONS:
            raise error(
                f"unknown instruction: {command.written}",
                self.path,
                command.line,
                "pun packs FROM, COPY and LABEL (and reads ARG/ENV); check the spelling",
            )
        if self.base is None and keyword not in ("FROM", "ARG"):
            raise error(
                f"{command.written} before FROM",
                self.path,
                command.line,
                "only ARG may come before FROM; move FROM to the top",
            )
        handler = {
            "FROM": self._from,
            "ARG": self._arg,
            "ENV": self._env,
            "LABEL": self._label,
            "COPY": self._copy,
            "ADD": self._copy,
            "WORKDIR": self._workdir,
        }.get(keyword)
        if handler is not None:
            handler(command)
            return
        scope = self._stage_scope()
        reader = ConfigReader(
            self.path, lambda word: self._expand(word, scope, command.line), self.shell
        )
        if keyword in reader.KEYWORDS:
            step, notes = reader.read(
                keyword, command.written, command.values, command.is_json, command.line
            )
            self.config.append(step)
            self.warnings.extend(notes)
            if keyword == "USER":
                self.user = step.user  # type: ignore[union-attr]
                self.user_known = True
            elif keyword == "SHELL":
                self.shell = step.args  # type: ignore[union-attr]
            return
        self.ignored.append(IgnoredInstruction(command.written, command.line))
        reason, hint = _IGNORED.get(keyword, _IGNORED["RUN"])
        self.warnings.append(
            warning(f"{command.written} is ignored: {reason}", self.path, command.line, hint)
        )

    # -- expansion -------------------------------------------------------------------------

    def _expand(self, word: str, scope: Mapping[str, str], line: int) -> str:
        try:
            expanded = process_word(word, scope, self.directives.escape)
        except WordError as exc:
            raise error(str(exc), self.path, line, "check the quoting and ${...} syntax") from None
        if expanded.missing_variables and self.base_unknown:
            self.needs_base_config = True  # the base's Env may set it (BuildKit reads it)
        for name in sorted(expanded.unset_variables):
            hint = (
                f"declare it with `ARG {name}` or `ENV {name}=...`, "
                f"or pass --build-arg {name}=..."
            )
            if self.base_unknown:
                # docker build expands against the base image's Env too; this plan was made
                # without the base image's config (`pun --LLB` never fetches it).
                hint += (
                    "; this plan was made without the base image's config, so a variable "
                    "the base image sets (its PATH, say) is not seen: write the value out, "
                    "or build with `pun build`, which resolves it"
                )
            self.warnings.append(
                warning(
                    f"variable ${name} is not set and expands to an empty string",
                    self.path,
                    line,
                    hint,
                )
            )
        return expanded.value

    def _stage_scope(self) -> Dict[str, str]:
        return dict(self.stage_env)

    # -- instructions ----------------------------------------------------------------------

    def _arg(self, command: Command) -> None:
        scope = self._stage_scope() if self.base else {**self.predefined, **self.meta_args}
        for declaration in command.values:
            name, has_default, default = declaration.partition("=")
            if not name:
                raise error(
                    "ARG needs a name",
                    self.path,
                    command.line,
                    "write `ARG NAME` or `ARG NAME=value`",
                )
            value: Optional[str]
            if name in self.options.build_args:
                value = self.options.build_args[name]
                self.consumed_build_args.add(name)
            elif has_default:
                value = self._expand(default, scope, command.line)
            elif self.base is not None:
                value = self.meta_args.get(name, self.predefined.get(name))
            else:
                value = self.predefined.get(name)
            target = self.stage_env if self.base is not None else self.meta_args
            if value is not None:
                target[name] = value

    def _env(self, command: Command) -> None:
        pairs = command.values
        if len(pairs) % 2:
            raise error(
                "ENV needs key=value pairs", self.path, command.line, "write `ENV NAME=value`"
            )
        # Every pair expands against the variables from before this ENV, as in docker:
        # `ENV abc=bye def=$abc` gives def the previous abc (Dockerfile reference, ENV).
        scope = self._stage_scope()
        for key, raw in zip(pairs[0::2], pairs[1::2]):
            value = self._expand(raw, scope, command.line)
            self.stage_env[key] = value
            self.config.append(SetEnv(key, value, command.line))

    def _label(self, command: Command) -> None:
        pairs = command.values
        if len(pairs) % 2 or not pairs:
            raise error(
                "LABEL needs key=value pairs", self.path, command.line, 'write `LABEL key="value"`'
            )
        scope = self._stage_scope()
        for raw_key, raw_value in zip(pairs[0::2], pairs[1::2]):
            key = self._expand(raw_key, scope, command.line)
            if not key:
                raise error(
                    "LABEL key is empty", self.path, command.line, 'write `LABEL key="value"`'
                )
            value = self._expand(raw_value, scope, command.line)
            self.labels.append(Label(key, value, command.line))
            self.config.append(SetLabel(key, value, command.line))

    def _flags(self, command: Command, allowed: Tuple[str, ...]) -> Dict[str, str]:
        flags: Dict[str, str] = {}
        for flag in command.flags:
            name, _, value = flag.lstrip("-").partition("=")
            if name not in allowed:
                raise error(
                    f"{command.written} --{name} is not supported",
                    self.path,
                    command.line,
                    "supported here: "
                    + (", ".join(f"--{a}" for a in sorted(allowed)) or "no flags"),
                )
            if name in COPY_FLAGS_IGNORED:
                self.warnings.append(
                    warning(
                        f"--{name} has no effect on the packed image; ignored",
                        self.path,
                        command.line,
                    )
                )
                continue
            flags[name] = value
        return flags
