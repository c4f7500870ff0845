"""What an image is besides its files: the config, labels, manifest annotations and platform.

Like BuildKit's Dockerfile-to-LLB conversion, `pun.api.generate` returns this next to the LLB,
and every path (embedded builder, buildctl builder, frontend, Pants) writes its image from it;
nothing re-reads the Containerfile. The config instructions are kept as ordered steps and
replayed onto the base image's config by `ImageSpec.config_for`, the one inheritance rule.

The rules follow BuildKit v0.32.2 `frontend/dockerfile/dockerfile2llb/convert.go` (the
`dispatchEnv`, `dispatchCmd`, `dispatchEntrypoint`, `dispatchWorkdir`, `dispatchUser`,
`dispatchVolume`, `dispatchStopSignal`, `dispatchShell`, `dispatchMaintainer`, `addEnv`,
`withShell` functions, the PATH default in `toDispatchState`) and `image.go` (`emptyImage`).
"""

from __future__ import annotations

import posixpath

from pun.gopath import clean_absolute
from pun.platform import Platform
from pun.records import Record

TYPE_CHECKING = False  # typing is imported for mypy only: see pun.records
if TYPE_CHECKING:
    from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

SPEC_VERSION = 1
DEFAULT_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_SHELL: Tuple[str, ...] = ("/bin/sh", "-c")
# The image config fields Docker's image spec knows (`dockerspec.DockerOCIImage`): a base
# image's other fields (Hostname, container_config, ...) do not survive a docker build either.
CONFIG_FIELDS = (
    "User",
    "ExposedPorts",
    "Env",
    "Entrypoint",
    "Cmd",
    "Volumes",
    "WorkingDir",
    "Labels",
    "StopSignal",
    "ArgsEscaped",
    "Healthcheck",
    "OnBuild",
    "Shell",
)
IMAGE_FIELDS = ("author", "os.version", "os.features", "history", "rootfs")


class SetEnv(Record):
    key: str
    value: str
    line: int


class SetLabel(Record):
    key: str
    value: str
    line: int


class SetCmd(Record):
    args: Tuple[str, ...]
    shell_form: bool
    line: int


class SetEntrypoint(Record):
    args: Tuple[str, ...]
    shell_form: bool
    line: int


class SetWorkdir(Record):
    path: str  # as written (expanded); relative paths resolve against the current WorkingDir
    line: int


class SetUser(Record):
    user: str
    line: int


class ExposePorts(Record):
    ports: Tuple[str, ...]  # already "<port>/<proto>"
    line: int


class AddVolumes(Record):
    paths: Tuple[str, ...]
    line: int


class SetStopSignal(Record):
    signal: str
    line: int


class SetShell(Record):
    args: Tuple[str, ...]
    line: int


class SetAuthor(Record):
    author: str
    line: int


if TYPE_CHECKING:
    ConfigStep = Union[
        SetEnv,
        SetLabel,
        SetCmd,
        SetEntrypoint,
        SetWorkdir,
        SetUser,
        ExposePorts,
        AddVolumes,
        SetStopSignal,
        SetShell,
        SetAuthor,
    ]
else:  # annotations only at run time (typing is not imported: see pun.records)
    ConfigStep = object
_STEP_TYPES = {
    cls.__name__: cls
    for cls in (
        SetEnv,
        SetLabel,
        SetCmd,
        SetEntrypoint,
        SetWorkdir,
        SetUser,
        ExposePorts,
        AddVolumes,
        SetStopSignal,
        SetShell,
        SetAuthor,
    )
}


class BaseConfig(Record):
    """The base image's config fields that change what a Containerfile means, not only the
    config it inherits: BuildKit's Dockerfile frontend resolves them before it converts
    (`dockerfile2llb/convert.go` toDispatchState: the stage's env is seeded with the base's
    `Env`, its dir with `WorkingDir`, its user with `User`), and the `Entrypoint` urunc 0.7+
    runs before a Cmd, which the urunc bridge needs for the cmdline it derives (pun.urunc_bridge).
    """

    env: Tuple[str, ...] = ()  # "KEY=value" entries, as the config holds them
    working_dir: str = ""
    user: str = ""
    entrypoint: Tuple[str, ...] = ()

    @classmethod
    def from_image_config(cls, image_config: Mapping[str, Any]) -> "BaseConfig":
        """From an image config JSON object (its `config` member holds the fields)."""
        config = image_config.get("config") or {}
        return cls(
            env=tuple(str(e) for e in config.get("Env") or ()),
            working_dir=str(config.get("WorkingDir") or ""),
            user=str(config.get("User") or ""),
            entrypoint=tuple(str(a) for a in config.get("Entrypoint") or ()),
        )

    def to_json(self) -> Dict[str, Any]:
        """The same shape `from_image_config` reads (what `pun base-config` prints)."""
        config: Dict[str, Any] = {
            "Env": list(self.env),
            "User": self.user,
            "WorkingDir": self.working_dir,
        }
        if self.entrypoint:  # as the image has it: most bases have none
            config["Entrypoint"] = list(self.entrypoint)
        return {"config": config}

    def stage_env(self) -> List[Tuple[str, str]]:
        """The expansion environment a stage starts with: `Env` in order, PATH added when the
        base has none (toDispatchState), each entry split at its first `=` (parseKeyValue)."""
        pairs = [(k, v) for k, _, v in (e.partition("=") for e in self.env)]
        if not any(k == "PATH" for k, _ in pairs):
            key, _, value = DEFAULT_PATH_ENV.partition("=")
            pairs.append((key, value))
        return pairs


# FROM scratch: BuildKit's emptyImage (image.go), known without resolving anything.
SCRATCH_CONFIG = BaseConfig(env=(DEFAULT_PATH_ENV,), working_dir="/")


class BaseSpec(Record):
    """`FROM <image>`: the normalized reference and the platform it is pulled for."""

    reference: str
    platform: Platform


class ImageSpec(Record):
    platform: Platform
    base: Optional[BaseSpec]
    steps: Tuple[ConfigStep, ...]
    # Manifest annotations, keys in their exact case (urunc looks them up case-sensitively).
    annotations: Tuple[Tuple[str, str], ...] = ()

    @staticmethod
    def from_labels(labels: Mapping[str, str], platform: Optional[Platform] = None) -> "ImageSpec":
        """A spec for LLB made elsewhere: these labels in the config and as annotations."""
        from pun.platform import DEFAULT_TARGET

        steps = tuple(SetLabel(k, v, 0) for k, v in sorted(labels.items()))
        return ImageSpec(platform or DEFAULT_TARGET, None, steps, tuple(sorted(labels.items())))

    @property
    def manifest_annotations(self) -> Dict[str, str]:
        return dict(self.annotations)

    def labels(self) -> Dict[str, str]:
        """The labels this Containerfile sets (the last of duplicate keys wins)."""
        return {s.key: s.value for s in self.steps if isinstance(s, SetLabel)}

    def with_annotations(self, extra: Mapping[str, str]) -> "ImageSpec":
        return self._replace(annotations=tuple(sorted({**dict(self.annotations), **extra}.items())))

    def with_labels(self, extra: Mapping[str, str]) -> "ImageSpec":
        """Labels given outside the Containerfile (frontend `label:` options) go on top."""
        added = tuple(SetLabel(k, v, 0) for k, v in sorted(extra.items()))
        return self._replace(steps=self.steps + added)

    def config_for(self, base_config: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
        """The image config JSON object: the base's (or an empty image's), then our steps.

        Builders add `created`, their layers' `rootfs.diff_ids` and history entries.
        """
        image = _start(base_config, self.platform)
        config: Dict[str, Any] = image["config"]
        cmd_set = False
        for step in self.steps:
            if isinstance(step, SetEntrypoint):
                _set_args(config, "Entrypoint", _with_shell(config, step.args, step.shell_form))
                if not cmd_set:  # as dispatchEntrypoint: an inherited Cmd does not survive
                    config.pop("Cmd", None)
            elif isinstance(step, SetCmd):
                _set_args(config, "Cmd", _with_shell(config, step.args, step.shell_form))
                # Only dispatchCmd sets ArgsEscaped (dispatchEntrypoint leaves it as it was).
                config["ArgsEscaped"] = True
                cmd_set = True
            elif isinstance(step, SetAuthor):
                image["author"] = step.author
            else:
                _apply(config, step)
        return image

    def guest_args(self, base_entrypoint: Tuple[str, ...] = ()) -> Optional[Tuple[str, ...]]:
        """Entrypoint + Cmd as this Containerfile sets them over a base image's Entrypoint
        (a CMD alone keeps it, as in docker), or None when it sets neither."""
        if not any(isinstance(s, (SetCmd, SetEntrypoint)) for s in self.steps):
            return None
        base = {"config": {"Entrypoint": list(base_entrypoint)}} if base_entrypoint else None
        config = self.config_for(base)["config"]
        return tuple(config.get("Entrypoint") or ()) + tuple(config.get("Cmd") or ())

    def to_json(self) -> Dict[str, Any]:
        return {
            "version": SPEC_VERSION,
            "platform": str(self.platform),
            "base": None
            if self.base is None
            else {"reference": self.base.reference, "platform": str(self.base.platform)},
            "steps": [{"type": type(s).__name__, **_step_fields(s)} for s in self.steps],
            "annotations": dict(self.annotations),
        }

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> "ImageSpec":
        from pun.platform import parse_platform

        if data.get("version") != SPEC_VERSION:
            raise ValueError(f"image spec version {data.get('version')!r}, expected {SPEC_VERSION}")
        base = data.get("base")
        steps: List[ConfigStep] = []
        for raw in data["steps"]:
            fields = dict(raw)
            cls = _STEP_TYPES[fields.pop("type")]
            for name, value in fields.items():
                if isinstance(value, list):
                    fields[name] = tuple(value)
            steps.append(cls(**fields))
        return ImageSpec(
            platform=parse_platform(data["platform"]),
            base=None
            if base is None
            else BaseSpec(base["reference"], parse_platform(base["platform"])),
            steps=tuple(steps),
            annotations=tuple(sorted(data.get("annotations", {}).items())),
        )


def _step_fields(step: ConfigStep) -> Dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in step._asdict().items()}


def _start(base_config: Optional[Mapping[str, Any]], platform: Platform) -> Dict[str, Any]:
    image: Dict[str, Any] = {}
    config: Dict[str, Any]
    if base_config is None:
        config = {"Env": [DEFAULT_PATH_ENV], "WorkingDir": "/"}  # emptyImage
        image["rootfs"] = {"type": "layers", "diff_ids": []}
    else:
        image.update({k: _copy(base_config[k]) for k in IMAGE_FIELDS if k in base_config})
        base_run = base_config.get("config") or {}
        config = {k: _copy(base_run[k]) for k in CONFIG_FIELDS if base_run.get(k) is not None}
        if not any(e.split("=", 1)[0] == "PATH" for e in config.get("Env") or ()):
            config["Env"] = list(config.get("Env") or ()) + [DEFAULT_PATH_ENV]
        image.setdefault("rootfs", {"type": "layers", "diff_ids": []})
    image["architecture"] = platform.architecture
    image["os"] = platform.os
    if platform.variant:
        image["variant"] = platform.variant
    image["config"] = config
    return image


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _set_args(config: Dict[str, Any], key: str, args: List[str]) -> None:
    # An empty list is left out, as Go's `omitempty` on the image spec's Cmd/Entrypoint does.
    if args:
        config[key] = args
    else:
        config.pop(key, None)


def _with_shell(config: Mapping[str, Any], args: Sequence[str], shell_form: bool) -> List[str]:
    if not shell_form:
        return list(args)
    shell = list(config.get("Shell") or DEFAULT_SHELL)
    return shell + [" ".join(args)]


def _apply(config: Dict[str, Any], step: ConfigStep) -> None:
    if isinstance(step, SetEnv):
        config["Env"] = _add_env(config.get("Env") or [], step.key, step.value)
    elif isinstance(step, SetLabel):
        config["Labels"] = {**(config.get("Labels") or {}), step.key: step.value}
    elif isinstance(step, SetWorkdir):
        config["WorkingDir"] = resolve_workdir(config.get("WorkingDir") or "/", step.path)
    elif isinstance(step, SetUser):
        config["User"] = step.user
    elif isinstance(step, ExposePorts) and step.ports:  # none: an empty map, omitted by Go
        ports: Dict[str, Any] = {port: {} for port in step.ports}
        config["ExposedPorts"] = {**(config.get("ExposedPorts") or {}), **ports}
    elif isinstance(step, AddVolumes):
        config["Volumes"] = {**(config.get("Volumes") or {}), **{v: {} for v in step.paths}}
    elif isinstance(step, SetStopSignal):
        config["StopSignal"] = step.signal
    elif isinstance(step, SetShell):
        config["Shell"] = list(step.args)


def _add_env(env: Sequence[str], key: str, value: str) -> List[str]:
    out = list(env)
    for index, entry in enumerate(out):
        if entry.split("=", 1)[0] == key:
            out[index] = f"{key}={value}"
            return out
    out.append(f"{key}={value}")
    return out


def resolve_workdir(current: str, path: str) -> str:
    """BuildKit's `system.NormalizeWorkdir` on Linux (`util/system/path.go` NormalizePath): an
    absolute path is kept as written (`WORKDIR /app/` stays `/app/`), a relative one is
    `path.Join`ed onto the current one (which cleans it)."""
    if path.startswith("/"):
        return path
    return clean_absolute(posixpath.join(current or "/", path))
