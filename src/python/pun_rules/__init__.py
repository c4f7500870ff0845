"""Pants plugin for pun (placeholder: rules and target types come later)."""
