#!/usr/bin/env bash
# setup.sh: everything `sam local invoke` of hookloop's arm64 functions needs on a machine that
# cannot reach a container registry (make sam-local-setup; tests/sam_local.rs runs it too):
#   install.sh     Docker and qemu-user from Debian's packages, arm64 binaries through binfmt_misc
#   dockerd.sh     a Docker engine (started with --userland-proxy=false when none answers)
#   base-image.sh  the stand-in for public.ecr.aws/lambda/provided:al2023-arm64
# Idempotent; a second run does nothing. Exit status 77: Docker cannot run on this machine (the
# message says why); anything else non-zero is a failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# A machine whose Docker engine answers and reaches the registry (Docker Desktop, docker-ce, an
# arm64 host) needs nothing from here: SAM uses Lambda's own image, pulled now.
if docker info >/dev/null 2>&1 \
  && timeout 120 docker pull -q public.ecr.aws/lambda/provided:al2023-arm64 >/dev/null 2>&1; then
  echo "sam-local: Docker answers and Lambda's provided:al2023-arm64 image is pulled"
  exit 0
fi
"$here/install.sh"
"$here/dockerd.sh" start
"$here/base-image.sh" arm64
