#!/usr/bin/env bash
# Installs what `sam local invoke` of the arm64 functions needs on a Debian machine that cannot
# reach a container registry: Docker from Debian's packages, and qemu-user so arm64 containers
# run on x86_64 (../../../../shared/reference/sam-local.md has the facts this relies on).
#
# Idempotent: installed packages are left alone. Versions are pinned to Debian 12 (bookworm)'s;
# when the mirror no longer has a pinned version, the suite's current one is installed and
# named. Needs root (apt-get, mount).
#
# Exit status 77: this machine cannot do it (not root, no apt-get); anything else non-zero is a
# failure.
set -euo pipefail

# Debian 12 (bookworm) versions, as verified with this project.
PINNED=(
  "docker.io=20.10.24+dfsg1-1+deb12u1+b6"
  "containerd=1.6.20~ds1-1+deb12u3"
  "runc=1.1.5+ds1-1+deb12u1"
  "iptables=1.8.9-2"
  "qemu-user-static=1:7.2+dfsg-7+deb12u18+b3"
  "binfmt-support=2.2.2-2"
)

skip() { echo "sam-local: $*" >&2; exit 77; }

command -v dpkg-query >/dev/null || skip "not Debian: install Docker and qemu-user-static by hand"
missing=()
for p in "${PINNED[@]}"; do
  name=${p%%=*}
  dpkg-query -W -f='${Status}' "$name" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
arm64_runs() { [ "$(uname -m)" = aarch64 ] || grep -qs '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64; }
if [ ${#missing[@]} -eq 0 ] && arm64_runs; then
  echo "sam-local: Docker and qemu-user are installed; arm64 binaries run"
  exit 0
fi
[ "$(id -u)" = 0 ] || skip "installing Docker and qemu needs root"

if [ ${#missing[@]} -gt 0 ]; then
  echo "sam-local: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt_get() { apt-get -o Dpkg::Use-Pty=0 -qq "$@"; }
  apt_get update >/dev/null
  if ! apt_get install -y --no-install-recommends "${missing[@]}" >/dev/null; then
    names=("${missing[@]%%=*}")
    echo "sam-local: a pinned version is gone from the mirror; installing the suite's: ${names[*]}" >&2
    apt_get install -y --no-install-recommends "${names[@]}" >/dev/null
  fi
fi

# arm64 executables through qemu: binfmt_misc is not mounted by default on these machines.
if ! arm64_runs; then
  [ -e /proc/sys/fs/binfmt_misc/register ] \
    || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  update-binfmts --enable qemu-aarch64
  arm64_runs || { echo "sam-local: qemu-aarch64 is not enabled in binfmt_misc" >&2; exit 1; }
fi
echo "sam-local: installed: $(dpkg-query -W -f='${Package} ${Version}  ' "${PINNED[@]%%=*}")"
