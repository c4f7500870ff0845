"""`[pun].registries` and the `registries` field: which registry addresses an image is named for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterator, Mapping, Tuple

from pants.option.parser import Parser
from pants.util.frozendict import FrozenDict

from pun_rules.target_types import ALL_DEFAULT_REGISTRIES


class RegistryError(ValueError):
    pass


@dataclass(frozen=True)
class Registry:
    address: str
    alias: str = ""
    default: bool = False
    insecure: bool = False
    skip_push: bool = False


_KEYS = frozenset({"address", "default", "insecure", "skip_push"})


def _registry(alias: str, value: Any) -> Registry:
    if not isinstance(value, Mapping) or "address" not in value:
        raise RegistryError(
            f"[pun].registries.{alias} needs at least an address, e.g. "
            f'{{"{alias}": {{"address": "127.0.0.1:5000"}}}}'
        )
    unknown = sorted(set(value) - _KEYS)
    if unknown:
        raise RegistryError(
            f"[pun].registries.{alias} has unknown keys {unknown}; known: {sorted(_KEYS)}"
        )
    return Registry(
        address=str(value["address"]).rstrip("/"),
        alias=alias,
        default=Parser.ensure_bool(value.get("default", False)),
        insecure=Parser.ensure_bool(value.get("insecure", False)),
        skip_push=Parser.ensure_bool(value.get("skip_push", False)),
    )


@dataclass(frozen=True)
class Registries:
    by_alias: FrozenDict[str, Registry]

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> "Registries":
        return cls(FrozenDict({alias: _registry(alias, v) for alias, v in options.items()}))

    def select(self, values: Tuple[str, ...], owner: str) -> Tuple[Registry, ...]:
        """The registries a `registries` field value names, in order, without duplicates."""
        seen: Dict[str, Registry] = {}
        for registry in self._expand(values, owner):
            seen.setdefault(registry.address, registry)
        return tuple(seen.values())

    def _expand(self, values: Tuple[str, ...], owner: str) -> Iterator[Registry]:
        by_address = {r.address: r for r in self.by_alias.values()}
        for value in values:
            if value == ALL_DEFAULT_REGISTRIES:
                yield from sorted(
                    (r for r in self.by_alias.values() if r.default), key=lambda r: r.address
                )
            elif value.startswith("@"):
                if value[1:] not in self.by_alias:
                    known = ", ".join(f"@{a}" for a in sorted(self.by_alias)) or "none"
                    raise RegistryError(
                        f"{owner} names registry {value}, which [pun].registries does not "
                        f"define (defined: {known}). Add [pun.registries.{value[1:]}] with an "
                        "address to pants.toml, or use an address in the `registries` field."
                    )
                yield self.by_alias[value[1:]]
            else:
                address = value.rstrip("/")
                yield by_address.get(address, Registry(address=address))
