"""Pants plugin entry points (placeholder until the plugin's rules land)."""

from __future__ import annotations

from typing import Any, Iterable


def rules() -> Iterable[Any]:
    return []


def target_types() -> Iterable[Any]:
    return []
