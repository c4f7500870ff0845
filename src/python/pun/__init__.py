"""pun: package unikernels as OCI images for urunc.

The package root stays import-free so that `pun --LLB` starts fast; the public API lives in
`pun.api`.
"""

__version__ = "0.1.0"
