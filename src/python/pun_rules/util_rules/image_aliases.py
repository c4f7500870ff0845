"""Names in FROM / COPY --from that are Pants addresses, before their images exist."""

from __future__ import annotations

from typing import Iterator, Mapping

from pun.reference import InvalidReference, normalize

_PLACEHOLDER = "pun.invalid/pants-address:unresolved"


class AddressPlaceholders(Mapping[str, str]):
    """`image_aliases` for reading a plan before any upstream is built: a name that is a Pants
    address but no image reference (`//examples/base:img`, `:img`) reads as a placeholder, so
    the plan keeps the name as written for inference instead of failing to parse."""

    def __getitem__(self, name: str) -> str:
        if name.startswith(("//", ":")) and not _is_reference(name):
            return _PLACEHOLDER
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def _is_reference(name: str) -> bool:
    try:
        normalize(name)
    except InvalidReference:
        return False
    return True
