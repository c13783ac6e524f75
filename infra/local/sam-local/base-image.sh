#!/usr/bin/env bash
# base-image.sh [arm64|x86_64] [--force]: a local stand-in for Lambda's provided.al2023 base image,
# built from Debian packages, for machines that cannot pull public.ecr.aws/lambda/provided.
#
# SAM CLI looks for public.ecr.aws/lambda/provided:al2023-<arch> and builds
# ...:al2023-rapid-<arch> from it by adding its Runtime Interface Emulator (that step runs mv and
# chmod, so the image needs /bin/sh). The stand-in holds busybox, glibc and libgcc from Debian 12
# (glibc 2.36 runs cargo-lambda's builds) and the host's CA bundle where Amazon Linux keeps it.
# Invoke with `sam local invoke --skip-pull-image`: without it SAM asks the registry and fails.
#
# Nothing is done when the image exists (--force rebuilds it and drops the rapid image SAM made
# from the old one, so SAM makes it again).
set -euo pipefail

ARCH=${1:-arm64}
FORCE=${2:-}
case $ARCH in
  arm64) DEB_ARCH=arm64 ;;
  x86_64) DEB_ARCH=amd64 ;;
  *) echo "usage: $0 [arm64|x86_64] [--force]" >&2; exit 2 ;;
esac
IMAGE=public.ecr.aws/lambda/provided:al2023-$ARCH
RAPID=public.ecr.aws/lambda/provided:al2023-rapid-$ARCH
PACKAGES=(busybox-static libc6 libgcc-s1)

if docker image inspect "$IMAGE" >/dev/null 2>&1 && [ "$FORCE" != --force ]; then
  echo "sam-local: $IMAGE is here"
  exit 0
fi

old=$(docker image inspect -f '{{.Id}}' "$IMAGE" 2>/dev/null || true)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work" # apt-get download writes as _apt
if [ "$DEB_ARCH" != "$(dpkg --print-architecture)" ] \
  && ! dpkg --print-foreign-architectures | grep -qx "$DEB_ARCH"; then
  dpkg --add-architecture "$DEB_ARCH"
  apt-get -qq update >/dev/null
fi
(cd "$work" && apt-get download -qq -o APT::Sandbox::User=root "${PACKAGES[@]/%/:$DEB_ARCH}" >/dev/null)

root=$work/rootfs
mkdir -p "$root"/{var/task,var/runtime,var/rapid,opt,tmp,bin,usr/bin,etc/ssl/certs,etc/pki/tls/certs}
chmod 1777 "$root/tmp"
for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$root"; done
# Debian 12 keeps its libraries under /usr/lib with /lib -> usr/lib only through usrmerge,
# which no package here sets up: link what the dynamic loader looks for.
for d in lib lib64; do
  [ -e "$root/usr/$d" ] && [ ! -e "$root/$d" ] && ln -s "usr/$d" "$root/$d"
done
for cmd in sh mv chmod cp ls cat mkdir rm ln env; do
  [ -e "$root/bin/$cmd" ] || ln -s busybox "$root/bin/$cmd"
done
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/pki/tls/certs/ca-bundle.crt"
tar -C "$root" -cf "$work/rootfs.tar" .
cat >"$work/Dockerfile" <<'EOF'
FROM scratch
ADD rootfs.tar /
ENV PATH=/usr/local/bin:/usr/bin:/bin LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime
WORKDIR /var/task
EOF
# Docker 20.10's `docker import --platform` is ignored (the image stays amd64): build instead.
if ! out=$(DOCKER_BUILDKIT=0 docker build -q --platform "linux/$DEB_ARCH" -t "$IMAGE" "$work" 2>&1); then
  echo "$out" >&2
  exit 1
fi
docker image rm "$RAPID" >/dev/null 2>&1 || true
[ -z "$old" ] || docker image rm "$old" >/dev/null 2>&1 || true
echo "sam-local: built $IMAGE ($(docker image inspect -f '{{.Architecture}}' "$IMAGE")) from Debian's ${PACKAGES[*]}"
