#!/usr/bin/env bash
# Build toxiproxy's server (a TCP proxy that injects faults: resets, latency,
# timeouts, cut streams) from the Go module proxy into a cache outside the
# repository, for the engine's network-fault tests (tests/fixtures/toxiproxy.py).
#
# Why: the test machines cannot download release binaries but do reach the Go
# module proxy. The version is pinned below; the cache key is a hash of this
# script, so a version bump rebuilds and nothing else does. `go install
# module@version` builds with the module's own go.mod and go.sum, so no wrapper
# module is needed.
#
# Prints the path of the binary on stdout when it is ready.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version="v2.12.0"
key="$(sha256sum "$here/build.sh" | cut -c1-12)"
cache_root="${SYNCLINE_TOXIPROXY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/syncline/toxiproxy}"
out="$cache_root/$version-$key"
binary="$out/toxiproxy-server"

if [[ -x "$binary" ]]; then
  echo "$binary"
  exit 0
fi

command -v go >/dev/null || { echo "build.sh: Go is required to build toxiproxy" >&2; exit 1; }
rm -rf "$out.partial"
mkdir -p "$out.partial"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod GOBIN="$out.partial"

started=$(date +%s)
echo "build.sh: building toxiproxy $version into $out" >&2
go install -trimpath -ldflags "-s -w -X github.com/Shopify/toxiproxy/v2.Version=$version" \
  "github.com/Shopify/toxiproxy/v2/cmd/server@$version"
mv "$out.partial/server" "$out.partial/toxiproxy-server"
rm -rf "$out"
mv "$out.partial" "$out"
echo "build.sh: built in $(( $(date +%s) - started ))s" >&2
echo "$binary"
