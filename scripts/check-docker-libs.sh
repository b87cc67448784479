#!/usr/bin/env bash
# Checks that the Dockerfile's runtime stage provides every shared library the binary needs:
# each library `ldd` lists must belong to a Debian package that is either part of
# debian:bookworm-slim or installed on the Dockerfile's `# runtime-packages:` line.
# (No registry is reachable here, so `docker build` cannot run; this is the offline check.)
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-target/release/pictor}"
[ -x "$bin" ] || { echo "check-docker-libs: $bin not built" >&2; exit 1; }
# Essential/required packages of debian:bookworm-slim that carry shared libraries.
base="libc6 libgcc-s1 libstdc++6 zlib1g libzstd1 liblzma5 libbz2-1.0 libselinux1 libpcre2-8-0 libacl1 libattr1 libcap2 libcrypt1 libgmp10 libtinfo6 libudev1 libsystemd0 liblz4-1 libgcrypt20 libgpg-error0 libmd0 libseccomp2 libaudit1 libcap-ng0 libpam0g libsemanage2 libsepol2 libbsd0 debconf"
runtime=$(sed -n 's/^# runtime-packages: *//p' Dockerfile)
status=0
while read -r lib; do
  [ -n "$lib" ] || continue
  # dpkg knows a library under the path it shipped it (/lib or /usr/lib: usrmerge).
  pkg=""
  for candidate in "$lib" "$(realpath "$lib")" "${lib#/usr}" "/usr$lib"; do
    pkg=$( (dpkg -S "$candidate" 2>/dev/null || true) | head -n1 | cut -d: -f1)
    [ -z "$pkg" ] || break
  done
  if [ -z "$pkg" ]; then
    echo "check-docker-libs: no Debian package owns $lib" >&2; status=1; continue
  fi
  if [[ " $base $runtime " == *" $pkg "* ]]; then
    echo "ok   $lib ($pkg)"
  else
    echo "MISSING $lib ($pkg): add it to the runtime stage's apt-get line and '# runtime-packages:'" >&2
    status=1
  fi
done < <(ldd "$bin" | awk '/=>/ {print $3} !/=>/ && /^\s*\// {print $1}' | sort -u)
exit $status
