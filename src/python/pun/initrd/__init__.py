"""Deterministic initrds: newc cpio archives that are the same bytes on every machine."""
