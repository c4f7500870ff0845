#!/usr/bin/env bash
# ./pants runs this with its own arguments before starting Pants. Until fetch-debian.sh has
# fetched examples/linux-hello's Debian files (and written debian/pants.rc), pants.toml's tag
# filter skips the targets tagged `needs-debian-files` without a word, so a command that names
# the example, its boot test or a whole tree gets one line on stderr saying why and what to run.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ -f "$here/debian/pants.rc" ]] && exit 0
for arg in "$@"; do
  case "$arg" in
    :: | //:: | examples:: | examples/:: | tests:: | tests/python:: | tests/python/pun:: | \
      *linux-hello* | tests/python/pun/run*)
      echo "./pants: note: examples/linux-hello and its boot test are skipped: Debian's kernel" \
        "and busybox are not fetched (run: bash examples/linux-hello/fetch-debian.sh)" >&2
      exit 0
      ;;
  esac
done
exit 0
