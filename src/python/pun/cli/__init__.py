"""pun's command lines: `pun` (main.py: --LLB, --dump, the frontend, and the dispatch to the
subcommands), `pun build` (build.py), `pun push` (push.py), `pun run` (run.py), `pun initrd`
(initrd.py), and the options they share (options.py).

Kept empty: `pun --LLB` imports this package on its hot path (see pun.records).
"""
