"""`[pun]`: how unikernel images are built, named and pushed."""

from __future__ import annotations

from enum import Enum
from typing import Any

from pants.option.option_types import (
    BoolOption,
    DictOption,
    EnumOption,
    IntOption,
    ShellStrListOption,
    StrOption,
)
from pants.option.subsystem import Subsystem
from pants.util.strutil import softwrap

from pun_rules.registries import Registries


class Builder(Enum):
    embedded = "embedded"
    buildctl = "buildctl"


class PunSubsystem(Subsystem):
    options_scope = "pun"
    help = "Options for building unikernel images (`unikernel_image` targets) with pun."

    builder = EnumOption(
        default=Builder.embedded,
        help=softwrap(
            """
            `embedded`: build in the sandboxed Pants process itself, no daemon needed.
            `buildctl`: hand the same LLB to a BuildKit daemon (`buildkit_address`) with the
            `buildctl` from the `[buildctl]` tool. Both outputs are cached by Pants.
            """
        ),
    )
    buildkit_address = StrOption(
        default=None,
        help=softwrap(
            """
            BuildKit's address for the `buildctl` builder, e.g. `tcp://127.0.0.1:1234` or
            `unix:///run/buildkit/buildkitd.sock`. Unset: the `BUILDKIT_HOST` environment
            variable, else buildctl's own default.
            """
        ),
    )
    source_date_epoch = IntOption(
        default=0,
        help=softwrap(
            """
            The timestamp (seconds since 1970) for the image's `created`, its history, and the
            clamp on file modification times. A fixed value keeps images byte-identical.
            """
        ),
    )
    build_args = ShellStrListOption(
        help=softwrap(
            """
            Build args for every `unikernel_image`: `KEY=VALUE`, or `KEY` to copy the value from
            Pants' environment. A target's `build_args` field overrides these.
            """
        ),
    )
    default_repository = StrOption(
        default="{directory}/{name}",
        help=softwrap(
            """
            The repository for targets without a `repository` field. Placeholders: `{name}`,
            `{directory}`, `{parent_directory}`, `{build_args.KEY}`, `{pants.hash}`.
            """
        ),
    )
    _registries = DictOption[Any](
        help=softwrap(
            """
            Named registries, referred to as `@alias` in the `registries` field:

                [pun.registries.local]
                address = "127.0.0.1:5000"
                default = true      # used by targets that do not set `registries`
                insecure = false    # plain HTTP (127.0.0.1/localhost always are)
                skip_push = false   # never push to this one

            """
        ),
        fromfile=True,
    )
    env_vars = ShellStrListOption(
        help=softwrap(
            """
            Environment variables for the build process (`NAME=value`, or `NAME` to copy it from
            Pants' environment), e.g. `HTTPS_PROXY` or `DOCKER_CONFIG` for pulling base images
            from a private registry. They are part of the cache key.
            """
        ),
        advanced=True,
    )
    publish_env_vars = ShellStrListOption(
        default=["HOME", "DOCKER_CONFIG"],
        help=softwrap(
            """
            Environment variables for `pants publish` (same syntax as `env_vars`). `HOME` and
            `DOCKER_CONFIG` let pun find registry credentials in `~/.docker/config.json`.
            """
        ),
        advanced=True,
    )
    tailor = BoolOption(
        default=True,
        help="If true, `pants tailor` adds `unikernel_image` targets for Containerfiles.",
        advanced=True,
    )

    def registries(self) -> Registries:
        return Registries.from_options(self._registries)
