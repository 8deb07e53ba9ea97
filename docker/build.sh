#!/usr/bin/env bash
# Builds the three images in order, with the tags docker/tags.mjs decides:
#   diracx-tasks-base:YYYY.MM.DD.P   (Dockerfile.base; P counts the day's builds)
#   diracx-tasks:vX.Y.Z              (Dockerfile, FROM that base)
#   diracx-tasks-gubbins:vX.Y.Z      (Dockerfile.gubbins, FROM that tasks image)
# each also tagged :latest. Prints the images it made, one `role=image` line each.
#   docker/build.sh [--engine podman|docker] [--registry host/org] [--base IMAGE] [--no-gubbins]
# --base IMAGE builds on an existing base image instead of making a new one. Extra build
# options (e.g. --network host) go in DIRACX_IMAGE_BUILD_ARGS.
set -euo pipefail
cd "$(dirname "$0")/.."
engine=$(command -v podman >/dev/null && echo podman || echo docker)
registry=""
use_base=""
gubbins=1
while (($#)); do
  case $1 in
    --engine) engine=${2:?--engine needs podman or docker}; shift 2 ;;
    --registry) registry=${2:?--registry needs a value}; shift 2 ;;
    --base) use_base=${2:?--base needs an image}; shift 2 ;;
    --no-gubbins) gubbins=0; shift ;;
    *) echo "docker/build.sh: unknown option $1 (known: --engine, --registry, --base, --no-gubbins)" >&2; exit 2 ;;
  esac
done
read -r -a extra <<<"${DIRACX_IMAGE_BUILD_ARGS:-}"
# podman keeps HEALTHCHECK only in the docker image format (OCI has no such field).
[[ $engine == podman ]] && extra+=(--format docker)
prefix=${registry:+${registry%/}/}
existing=$("$engine" images --format '{{.Tag}}' "${prefix}diracx-tasks-base" 2>/dev/null | tr '\n' ' ' || true)
tags=$(node docker/tags.mjs --existing "$existing" ${registry:+--registry "$registry"}) || exit 1
tag_of() { sed -n "s/^$1=//p" <<<"$tags"; }
base=${use_base:-$(tag_of base)}
tasks=$(tag_of tasks)
ext=$(tag_of gubbins)
latest() { echo "${1%:*}:latest"; }

if [[ -z $use_base ]]; then
  "$engine" build -q "${extra[@]}" -f docker/Dockerfile.base -t "$base" -t "$(latest "$base")" docker/ >/dev/null
fi
echo "base=$base"
"$engine" build -q "${extra[@]}" --build-arg "BASE_IMAGE=$base" -f docker/Dockerfile -t "$tasks" -t "$(latest "$tasks")" . >/dev/null
echo "tasks=$tasks"
if ((gubbins)); then
  "$engine" build -q "${extra[@]}" --build-arg "TASKS_IMAGE=$tasks" -f docker/Dockerfile.gubbins -t "$ext" -t "$(latest "$ext")" . >/dev/null
  echo "gubbins=$ext"
fi
