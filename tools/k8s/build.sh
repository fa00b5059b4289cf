#!/usr/bin/env bash
# Build the local cluster's Kubernetes parts (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kubelet, kube-proxy) from the Go
# module proxy into a cache outside the repository.
#
# Why: the test machines have no container engine and cannot download release
# binaries, but they do reach the Go module proxy. The versions are pinned by the
# go.mod/go.sum of the two wrapper modules beside this script; the cache key is a
# hash of those files, so a version bump rebuilds and nothing else does.
#
# Prints the cache directory on stdout when the binaries are ready.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
k8s_version="v1.33.13"
key="$(cat "$here"/controlplane/go.mod "$here"/controlplane/go.sum \
          "$here"/etcd/go.mod "$here"/etcd/go.sum "$here"/build.sh | sha256sum | cut -c1-12)"
cache_root="${SYNCLINE_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/syncline/k8s}"
out="$cache_root/$k8s_version-$key"

binaries=(etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)
ready=1
for b in "${binaries[@]}"; do [[ -x "$out/$b" ]] || ready=0; done
if ((ready)); then
  echo "$out"
  exit 0
fi

command -v go >/dev/null || { echo "build.sh: Go is required to build the control plane" >&2; exit 1; }
mkdir -p "$out.partial"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

ldflags="-s -w \
 -X k8s.io/component-base/version.gitVersion=$k8s_version \
 -X k8s.io/component-base/version.gitMajor=1 \
 -X k8s.io/component-base/version.gitMinor=33 \
 -X k8s.io/component-base/version.gitTreeState=clean \
 -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z \
 -X k8s.io/client-go/pkg/version.gitVersion=$k8s_version"

started=$(date +%s)
echo "build.sh: building etcd and Kubernetes $k8s_version into $out (first build takes 15-30 min)" >&2
(cd "$here/etcd" && go build -trimpath -ldflags "-s -w" -o "$out.partial/etcd" .)
(cd "$here/controlplane" && go build -trimpath -tags selinux,notest -ldflags "$ldflags" \
   -o "$out.partial/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
   k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy)
rm -rf "$out"
mv "$out.partial" "$out"
echo "build.sh: built in $(( $(date +%s) - started ))s" >&2
echo "$out"
