#!/bin/bash
# Stands in for a real unikernel toolchain (rumprun-bake, kraft, ...): "links" hello.c into
# out/hello.hvt, whose bytes change whenever hello.c does.
set -euo pipefail
mkdir -p out
{ printf '\177ELF fake hello unikernel for solo5-hvt\n'; cat hello.c; } > out/hello.hvt
