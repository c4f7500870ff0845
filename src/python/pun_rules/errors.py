"""Errors that name the target, the Containerfile line and the fix."""

from __future__ import annotations

from typing import Iterable

from pants.engine.addresses import Address

from pun.diagnostics import Diagnostic, PunError


class UnikernelImageError(Exception):
    """A user-facing failure of one image target (`unikernel_image`, `pun_frontend_image`)."""

    def __init__(
        self, address: Address, message: str, hint: str = "", alias: str = "unikernel_image"
    ) -> None:
        self.address = address
        separator = "" if message.startswith("\n") else " "
        text = f"{alias} {address}:{separator}{message}"
        if hint:
            text += f"\n  hint: {hint}"
        super().__init__(text)

    @classmethod
    def from_diagnostics(
        cls, address: Address, diagnostics: Iterable[Diagnostic]
    ) -> "UnikernelImageError":
        rendered = [d.render() for d in diagnostics]
        if len(rendered) == 1:
            return cls(address, rendered[0])
        return cls(address, "\n" + "\n".join(rendered))

    @classmethod
    def from_pun(cls, address: Address, error: PunError) -> "UnikernelImageError":
        return cls.from_diagnostics(address, error.diagnostics)
