"""pun: package unikernels as OCI images for urunc.

The package root stays import-free so that `pun --LLB` starts fast; the public API lives in
`pun.api`. For the same reason the core's immutable records (plan, LLB states, options) are
`typing.NamedTuple`s rather than frozen dataclasses: just as immutable and typed, but importing
and applying `dataclasses` cost more than all the rest of `pun --LLB`'s start-up on our
machines (README, Performance). Code off that path (`pun.solve`, `pun.oci`, `pun.frontend`,
the Pants plugin) uses frozen dataclasses.
"""

__version__ = "0.1.0"
