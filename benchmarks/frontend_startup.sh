#!/usr/bin/env bash
# Measures the frontend inside Docker Engine's BuildKit: start-up (process start -> Ping
# answered, as the frontend logs it) and whole `docker build` wall time, over N builds.
#
# usage: benchmarks/frontend_startup.sh FRONTEND_REF DOCKERD_LOG [N]
#   FRONTEND_REF  the pushed frontend image (./pants publish //:pun-frontend), e.g. 127.0.0.1:5000/pun:0.1.0
#   DOCKERD_LOG   dockerd's stderr (the frontend's stderr ends up there)
# Needs Debian's /usr/bin/docker; DOCKER_HOST as usual.
set -euo pipefail
ref="$1" log="$2" n="${3:-10}"
ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
printf '#syntax=%s\nFROM scratch\nCOPY app.hvt /unikernel/app.hvt\nLABEL com.urunc.unikernel.binary=/unikernel/app.hvt\nLABEL com.urunc.unikernel.unikernelType=rumprun com.urunc.unikernel.hypervisor=hvt\n' \
  "$ref" > "$ctx/Containerfile"
head -c 1048576 /dev/urandom > "$ctx/app.hvt"
export DOCKER_BUILDKIT=1
/usr/bin/docker build -q -f "$ctx/Containerfile" -t pun-measure "$ctx" >/dev/null  # pull once
before="$(grep -c 'pun frontend: ready' "$log" || true)"
walls=()
for i in $(seq 1 "$n"); do
  start="$(date +%s%N)"
  # A fresh build arg per run: the frontend runs every time anyway; this keeps it honest.
  /usr/bin/docker build -q --build-arg "RUN_ID=$i-$start" -f "$ctx/Containerfile" \
    -t pun-measure "$ctx" >/dev/null
  walls+=("$(( ($(date +%s%N) - start) / 1000000 ))")
done
/usr/bin/docker image rm -f pun-measure >/dev/null
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ready="$(grep 'pun frontend: ready' "$log" | tail -n +"$((before + 1))" \
  | sed -E 's/.*ready ([0-9?]+) ms.*/\1/' | median)"
done_ms="$(grep 'pun frontend: returned the result' "$log" | tail -n "$n" \
  | sed -E 's/.*result ([0-9]+) ms.*/\1/' | median)"
echo "builds: $n"
echo "frontend start-up (process start -> Ping answered), median: ${ready} ms"
echo "frontend run (its own start -> result returned), median: ${done_ms} ms"
echo "docker build wall time, median: $(printf '%s\n' "${walls[@]}" | median) ms"
