"""Containerfile text -> PackPlan."""
