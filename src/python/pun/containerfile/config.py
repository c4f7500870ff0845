"""The instructions that only change the image config: CMD, ENTRYPOINT, SHELL, USER, EXPOSE,
STOPSIGNAL, VOLUME, MAINTAINER (ENV, LABEL and WORKDIR also touch the build and live in the
parser). Each becomes one `pun.imagespec` step, read as BuildKit v0.32.2 reads it:
`frontend/dockerfile/instructions/parse.go` (which words are expanded: not CMD, ENTRYPOINT,
SHELL), `dockerfile2llb/convert_expose.go` (`parsePort`) and moby/sys `signal.ParseSignal`.
"""

from __future__ import annotations

from pun.diagnostics import Diagnostic, error, warning
from pun.imagespec import (
    DEFAULT_SHELL,
    AddVolumes,
    ConfigStep,
    ExposePorts,
    SetAuthor,
    SetCmd,
    SetEntrypoint,
    SetShell,
    SetStopSignal,
    SetUser,
)

TYPE_CHECKING = False  # typing is imported for mypy only: see pun.records
if TYPE_CHECKING:
    from typing import Callable, List, Sequence, Tuple

if TYPE_CHECKING:
    Expand = Callable[[str], str]
# Linux signal names moby/sys/signal accepts (SIG prefix optional, any case), plus RTMIN+n.
_SIGNALS = frozenset(
    "ABRT ALRM BUS CHLD CLD CONT FPE HUP ILL INT IO IOT KILL PIPE POLL PROF PWR QUIT SEGV "
    "STKFLT STOP SYS TERM TRAP TSTP TTIN TTOU UNUSED URG USR1 USR2 VTALRM WINCH XCPU XFSZ "
    "RTMIN RTMAX".split()
)
# Compiled by `re` on first use (re caches it): `pun --LLB` imports no regex machinery.
_RT_SIGNAL = r"RTM(IN\+([1-9]|1[0-5])|AX-([1-9]|1[0-4]))"


class ConfigReader:
    KEYWORDS = frozenset(
        {"CMD", "ENTRYPOINT", "SHELL", "USER", "EXPOSE", "STOPSIGNAL", "VOLUME", "MAINTAINER"}
    )

    def __init__(self, path: str, expand: Expand, shell: Sequence[str] = DEFAULT_SHELL) -> None:
        self.path = path
        self.expand = expand
        self.shell = tuple(shell)  # the current SHELL: a shell form runs under it

    def read(
        self, keyword: str, written: str, values: Sequence[str], is_json: bool, line: int
    ) -> Tuple[ConfigStep, List[Diagnostic]]:
        notes: List[Diagnostic] = []
        if keyword in ("CMD", "ENTRYPOINT"):
            return self._command(keyword, written, values, is_json, line, notes), notes
        if keyword == "SHELL":
            if not is_json or not values:
                raise error(
                    "SHELL needs its arguments in JSON form",
                    self.path,
                    line,
                    'write e.g. SHELL ["/bin/sh", "-c"]',
                )
            return SetShell(tuple(values), line), notes
        if keyword == "USER":
            user = self.expand(values[0]) if len(values) == 1 else ""
            if not user:
                raise error(
                    "USER needs exactly one user[:group]",
                    self.path,
                    line,
                    "write e.g. USER 1000:1000",
                )
            return SetUser(user, line), notes
        if keyword == "EXPOSE":
            ports: List[str] = []
            for word in values:
                for spec in self.expand(word).split():
                    ports.extend(self._port(spec, line))
            # `EXPOSE $UNSET` builds in docker and records no port.
            return ExposePorts(tuple(ports), line), notes
        if keyword == "STOPSIGNAL":
            signal = self.expand(values[0]) if len(values) == 1 else ""
            if not _is_signal(signal):
                raise error(
                    f"invalid signal: {signal}",
                    self.path,
                    line,
                    "use a signal name or number, e.g. STOPSIGNAL SIGTERM",
                )
            return SetStopSignal(signal, line), notes
        if keyword == "VOLUME":
            paths = tuple(self.expand(v) for v in values)
            if not paths or any(not p for p in paths):
                raise error(
                    "VOLUME specified can not be an empty string",
                    self.path,
                    line,
                    "write e.g. VOLUME /data",
                )
            return AddVolumes(paths, line), notes
        # MAINTAINER (deprecated in docker, still recorded as the image's author)
        return SetAuthor(" ".join(values), line), notes

    def _command(
        self,
        keyword: str,
        written: str,
        values: Sequence[str],
        is_json: bool,
        line: int,
        notes: List[Diagnostic],
    ) -> ConfigStep:
        args = tuple(values)
        shell_form = not is_json
        if shell_form:
            text = " ".join(args)
            as_json = ", ".join(_json_string(w) for w in text.split())
            shell = " ".join(self.shell)
            notes.append(
                warning(
                    f"{written} in shell form runs `{shell} {text}` in the guest; "
                    f"a unikernel has no {self.shell[0]}",
                    self.path,
                    line,
                    f"write the exec form: {written} [{as_json}]",
                )
            )
        step_type = SetCmd if keyword == "CMD" else SetEntrypoint
        return step_type(args, shell_form, line)

    def _port(self, spec: str, line: int) -> List[str]:
        ports = parse_port(spec)
        if ports is None:
            raise error(
                f"invalid port: {spec!r}",
                self.path,
                line,
                "write PORT[/PROTO] or START-END[/PROTO], e.g. EXPOSE 80/tcp 53/udp",
            )
        return ports


def parse_port(spec: str) -> "List[str] | None":
    """`[ip:][hostport:]port[-end][/proto]` -> ["<port>/<proto>", ...] (None when invalid)."""
    text = spec
    if text.startswith("["):  # [ipv6]:...
        close = text.find("]")
        if close < 0:
            return None
        text = text[close + 1 :].lstrip(":")
    container = text.rsplit(":", 1)[-1]
    port, _, proto = container.partition("/")
    proto = (proto or "tcp").lower()
    if proto not in ("tcp", "udp", "sctp") or not port:
        return None
    start_text, dash, end_text = port.partition("-")
    start = _port_number(start_text)
    end = _port_number(end_text) if dash and end_text != start_text else start
    if start is None or end is None or end < start:
        return None
    return [f"{number}/{proto}" for number in range(start, end + 1)]


def _port_number(text: str) -> "int | None":
    if not text or not text.lstrip("+-").isdigit():
        return None
    number = int(text)
    return number if 0 <= number <= 65535 else None


def _is_signal(text: str) -> bool:
    if text.isdigit():
        return int(text) != 0
    name = text.upper()
    name = name[3:] if name.startswith("SIG") else name
    if name in _SIGNALS:
        return True
    import re

    return bool(re.fullmatch(_RT_SIGNAL, name))


def _json_string(word: str) -> str:
    import json

    return json.dumps(word)
