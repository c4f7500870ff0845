#!/usr/bin/env bash
# Fetch the Debian files examples/linux-hello needs, into examples/linux-hello/debian/ (git
# ignores it; pants.toml lets Pants see it):
#   debian/vmlinuz   the kernel (bzImage) from linux-image-<abi>-amd64
#   debian/busybox   /bin/busybox from busybox-static
#   debian/SOURCES   which packages (name, version, sha256) they came from
#   debian/pants.rc  turns the `needs-debian-files` tag filter off (pants.toml reads it)
# Packages are fetched with `apt-get download` and unpacked with `dpkg-deb -x`, never installed.
# The kernel is the one Debian's linux-image-amd64 currently depends on, or $LINUX_IMAGE (an
# exact package name such as linux-image-6.1.0-57-amd64). Needs a Debian-family host with
# apt sources for amd64. Re-running replaces the files whole (or leaves them as they were).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest="$here/debian"

for tool in apt-get apt-cache dpkg-deb sha256sum; do
  command -v "$tool" >/dev/null || {
    echo "fetch-debian.sh: $tool is missing: this script needs a Debian-family host (apt, dpkg)" >&2
    exit 1
  }
done

kernel_pkg="${LINUX_IMAGE:-}"
if [[ -z "$kernel_pkg" ]]; then
  kernel_pkg="$(apt-cache depends linux-image-amd64 2>/dev/null \
    | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9].*-amd64$/ { print $2; exit }')"
fi
if [[ -z "$kernel_pkg" ]]; then
  echo "fetch-debian.sh: cannot tell which linux-image-*-amd64 package to fetch" >&2
  echo "  hint: run apt-get update, or set LINUX_IMAGE=linux-image-<abi>-amd64" >&2
  exit 1
fi

work="$(mktemp -d "$here/.debian.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cd "$work"
# apt-get download drops privileges to _apt, which cannot write to a private mktemp dir.
chmod 755 "$work"
apt-get download -q "$kernel_pkg" busybox-static >&2
mkdir unpacked
for deb in ./*.deb; do dpkg-deb -x "$deb" unpacked; done
mkdir out
kernels=(unpacked/boot/vmlinuz-*)
[[ -f "${kernels[0]}" ]] || { echo "fetch-debian.sh: $kernel_pkg has no boot/vmlinuz-*" >&2; exit 1; }
cp "${kernels[0]}" out/vmlinuz
cp unpacked/bin/busybox out/busybox
chmod 644 out/vmlinuz
chmod 755 out/busybox
for deb in ./*.deb; do
  printf '%s %s %s\n' "$(dpkg-deb -f "$deb" Package)" "$(dpkg-deb -f "$deb" Version)" \
    "$(sha256sum "$deb" | cut -d' ' -f1)"
done > out/SOURCES
cat > out/pants.rc <<'RC'
# Written by examples/linux-hello/fetch-debian.sh: the Debian files are here, so Pants no longer
# skips the targets tagged `needs-debian-files`. Delete debian/ to skip them again.
[GLOBAL]
tag.remove = ["-needs-debian-files"]
RC
rm -rf "$dest.old"
[[ -e "$dest" ]] && mv "$dest" "$dest.old"
mv out "$dest"
rm -rf "$dest.old"
echo "fetch-debian.sh: $(tr '\n' ';' < "$dest/SOURCES")" >&2
echo "$dest"
