"""Pants plugin for pun: the `unikernel_image` target (package, publish, tailor, inference)."""
