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
core=localhost/diracx-tasks:$tag
gubbins=localhost/diracx-tasks-gubbins:$tag
tmp=$(mktemp -d /tmp/diracx-docker-test.XXXX)
containers=()
cleanup() {
  for c in "${containers[@]}"; do podman rm -f "$c" >/dev/null 2>&1 || true; done
  [[ -f $tmp/redis.pid ]] && kill "$(cat "$tmp/redis.pid")" 2>/dev/null || true
  [[ -d $tmp/pg ]] && su postgres -c "$pgbin/pg_ctl -D $tmp/pg -m fast stop" >/dev/null 2>&1 || true
  podman rmi -f "$gubbins" "$core" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "docker/test.sh: $*" >&2; exit 1; }
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
started=$SECONDS

echo "building $core and $gubbins"
podman build -q --network host -f docker/Dockerfile -t "$core" . >/dev/null
podman build -q --network host -f docker/Dockerfile.gubbins --build-arg "TASKS_IMAGE=$core" -t "$gubbins" . >/dev/null
echo "images built in $((SECONDS - started)) s"

podman run --rm "$core" --help | grep -q "^Usage: diracx-tasks" || fail "--help does not print the usage"
podman run --rm "$core" tasks | grep -q "^jobs:CleanTaskQueuesTask " || fail "tasks does not list jobs:CleanTaskQueuesTask"
podman run --rm "$gubbins" entrypoints --json | node -e '
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

podman run --rm --network host "${env[@]}" "$core" db init >/dev/null || fail "db init failed"
containers+=("$tag-scheduler" "$tag-worker")
podman run -d --name "$tag-scheduler" --network host "${env[@]}" "$core" scheduler >/dev/null
grace=20
podman run -d --name "$tag-worker" --stop-timeout $((grace + 10)) --network host "${env[@]}" "$core" worker --size small --concurrency 2 --shutdown-timeout "$grace" >/dev/null

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

t0=$SECONDS
podman kill --signal TERM "$tag-worker" >/dev/null
code=$(timeout $((grace + 10)) podman wait "$tag-worker") || fail "worker did not exit within $((grace + 10)) s of SIGTERM"
((code == 0)) || { podman logs --tail 20 "$tag-worker" >&2; fail "worker exited $code on SIGTERM"; }
echo "worker exited 0 on SIGTERM after $((SECONDS - t0)) s (deadline ${grace} s)"
echo "docker/test.sh: ok in $((SECONDS - started)) s"
