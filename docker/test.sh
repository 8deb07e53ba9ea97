#!/usr/bin/env bash
# Builds the tasks and gubbins images and runs them as a deployment would, against a Redis and
# a PostgreSQL started here on the host (free ports, a temp dir): db init, a scheduler and a
# small worker container (--network host); a task submitted from the host must complete; the
# images answer --help and tasks; gubbins' find_compatible_platforms is active in the gubbins
# image; the worker exits 0 on SIGTERM within its --shutdown-timeout. Cleans up on exit.
#   bash docker/test.sh          (needs podman and the node:24-slim image: ../shared/scripts/node-base-image.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
tag=diracx-tasks-test-$$
# A registry prefix of its own, so the test's images (built by docker/build.sh with the release
# tags) never replace an operator's and are all removed at the end.
registry=localhost/diracx-test-$$
tmp=$(mktemp -d /tmp/diracx-docker-test.XXXX)
containers=()
cleanup() {
  for c in "${containers[@]}"; do podman rm -f "$c" >/dev/null 2>&1 || true; done
  [[ -f $tmp/redis.pid ]] && kill "$(cat "$tmp/redis.pid")" 2>/dev/null || true
  [[ -d $tmp/pg ]] && su postgres -c "$pgbin/pg_ctl -D $tmp/pg -m fast stop" >/dev/null 2>&1 || true
  podman images --format '{{.Repository}}:{{.Tag}}' | grep "^$registry/" | xargs -r podman rmi -f >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "docker/test.sh: $*" >&2; exit 1; }
http_get() { node -e 'fetch(process.argv[1]).then(async (r) => { process.stdout.write(await r.text()); process.exit(r.ok ? 0 : 1); }, (e) => { console.error(e.message); process.exit(1); })' "$1"; }
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
started=$SECONDS

echo "building the base, tasks and gubbins images with docker/build.sh"
built=$(DIRACX_IMAGE_BUILD_ARGS="--network host" bash docker/build.sh --engine podman --registry "$registry") || fail "docker/build.sh failed"
image_of() { sed -n "s/^$1=//p" <<<"$built"; }
base=$(image_of base)
core=$(image_of tasks)
gubbins=$(image_of gubbins)
version=$(node -p 'require("./package.json").version')
[[ $base =~ ^$registry/diracx-tasks-base:[0-9]{4}\.[0-9]{2}\.[0-9]{2}\.[0-9]+$ ]] || fail "base image tag $base is not YYYY.MM.DD.P"
[[ $core == "$registry/diracx-tasks:v$version" && $gubbins == "$registry/diracx-tasks-gubbins:v$version" ]] || fail "image tags $core $gubbins are not v$version"
podman image exists "$registry/diracx-tasks:latest" || fail "no :latest tag for the tasks image"
podman image inspect "$core" | grep -q '"Healthcheck"' || fail "the tasks image has no HEALTHCHECK"
echo "images built in $((SECONDS - started)) s"

podman run --health-interval=disable --rm "$core" --help | grep -q "^Usage: diracx-tasks" || fail "--help does not print the usage"
podman run --health-interval=disable --rm "$core" tasks | grep -q "^jobs:CleanTaskQueuesTask " || fail "tasks does not list jobs:CleanTaskQueuesTask"
podman run --health-interval=disable --rm "$gubbins" entrypoints --json | node -e '
  const eps = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const list = Array.isArray(eps) ? eps : eps.entryPoints ?? Object.values(eps).flat();
  const hit = list.find((e) => e.group === "diracx.resources" && e.name === "find_compatible_platforms" && e.active);
  if (!hit || !/gubbins/.test(JSON.stringify(hit))) { console.error("gubbins find_compatible_platforms is not the active entry"); process.exit(1); }
' || fail "gubbins image: find_compatible_platforms of gubbins is not active"

redis_port=$(free_port)
pg_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes --pidfile "$tmp/redis.pid" --dir "$tmp" >/dev/null
pgbin=$(dirname "$(ls /usr/lib/postgresql/*/bin/postgres | sort -V | tail -1)")
mkdir -p "$tmp/pg" && chown postgres "$tmp" "$tmp/pg"
su postgres -c "$pgbin/initdb -D $tmp/pg -U diracx --auth=trust" >/dev/null
su postgres -c "$pgbin/pg_ctl -D $tmp/pg -o '-p $pg_port -k $tmp -c listen_addresses=127.0.0.1' -w start" >/dev/null
url=postgresql://diracx@127.0.0.1:$pg_port/postgres
env=(-e "DIRACX_TASKS_REDIS_URL=redis://127.0.0.1:$redis_port" -e "DIRACX_CONFIG_BACKEND_URL=/config/default.yml" -v "$PWD/docker/config:/config:ro")
for db in JOBDB JOBLOGGINGDB TASKQUEUEDB PILOTAGENTSDB SANDBOXMETADATADB TASKDB; do env+=(-e "DIRACX_DB_URL_$db=$url"); done

podman run --health-interval=disable --rm --network host "${env[@]}" "$core" db init >/dev/null || fail "db init failed"
containers+=("$tag-scheduler" "$tag-worker")
# On the host network each long-running container needs a health port of its own.
scheduler_health=$(free_port)
worker_health=$(free_port)
podman run --health-interval=disable -d --name "$tag-scheduler" --network host "${env[@]}" -e "DIRACX_TASKS_HEALTH_PORT=$scheduler_health" "$core" scheduler >/dev/null
grace=20
podman run --health-interval=disable -d --name "$tag-worker" --stop-timeout $((grace + 10)) --network host "${env[@]}" -e "DIRACX_TASKS_HEALTH_PORT=$worker_health" "$core" worker --size small --concurrency 2 --shutdown-timeout "$grace" >/dev/null

export DIRACX_TASKS_REDIS_URL=redis://127.0.0.1:$redis_port
id=$(DIRACX_TASKS_COMPILED=1 node bin/diracx-tasks.mjs submit jobs:CleanTaskQueuesTask 2>/dev/null || node bin/diracx-tasks.mjs submit jobs:CleanTaskQueuesTask)
echo "submitted $id from the host"
for ((i = 0; i < 120; i++)); do
  key=$(redis-cli -p "$redis_port" --scan --pattern "*tasks-small:$id" | head -1)
  [[ -n $key && -n $(redis-cli -p "$redis_port" HGET "$key" finishedOn) ]] && break
  sleep 0.5
done
[[ -n ${key:-} && -n $(redis-cli -p "$redis_port" HGET "$key" finishedOn) ]] || { podman logs --tail 20 "$tag-worker" >&2; fail "task $id did not finish within 60 s"; }
reason=$(redis-cli -p "$redis_port" HGET "$key" failedReason)
[[ -z $reason ]] || fail "task $id failed: $reason"
echo "task $id completed in the worker container"

# The image's HEALTHCHECK (the worker's /healthz) passes, and /readyz says it takes work.
podman healthcheck run "$tag-worker" >/dev/null || fail "the worker container's health check failed"
http_get "http://127.0.0.1:$worker_health/readyz" >/dev/null || fail "the worker's /readyz is not ready"
http_get "http://127.0.0.1:$scheduler_health/metrics" | grep -q "^diracx_tasks_" || fail "the scheduler's /metrics has no diracx_tasks_ series"
echo "health check, readiness and metrics answer in the containers"

t0=$SECONDS
podman kill --signal TERM "$tag-worker" >/dev/null
code=$(timeout $((grace + 10)) podman wait "$tag-worker") || fail "worker did not exit within $((grace + 10)) s of SIGTERM"
((code == 0)) || { podman logs --tail 20 "$tag-worker" >&2; fail "worker exited $code on SIGTERM"; }
echo "worker exited 0 on SIGTERM after $((SECONDS - t0)) s (deadline ${grace} s)"
echo "docker/test.sh: ok in $((SECONDS - started)) s"
