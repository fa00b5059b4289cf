#!/usr/bin/env bash
# Build the Syncline image and the pod sandbox (pause) image without a
# registry, and export both as OCI archives that containerd can import.
#
# Why this way: the dev and test machines have no Docker engine and reach no
# container registry, only the Debian mirror and PyPI. So:
#   - the base image is bootstrapped from Debian packages with mmdebstrap and
#     turned into an image with buildah (no `FROM python:...` pull);
#   - the repository's Containerfile, the one users build with `docker build .`,
#     is built by buildah with that base passed as BASE_IMAGE;
#   - the pause image is a static binary (pause.c) in a FROM-scratch image;
#   - buildah keeps its storage in a cache outside the repository, and the
#     images leave it as OCI archives for `ctr -n k8s.io images import`.
#
# The archives are named after a hash of every input (Containerfile, context
# allowlist, pyproject.toml, the operator/ sources, crds/, this directory), and
# the image ref is localhost/syncline:<key>: a new build gets a new tag, so a
# kubelet with imagePullPolicy IfNotPresent never runs a stale image. When the
# archives for the current key exist the script only prints their description.
#
# Output: one line of JSON on stdout (also written to $cache/current.json):
#   {"key", "image", "image_archive", "image_size_bytes", "pause_image", "pause_archive"}
# image_size_bytes is the uncompressed size (sum of the layer tars). All
# progress goes to stderr.
#
# Needs root (mmdebstrap and buildah create chroots), buildah, mmdebstrap, gcc
# with a static libc and python3; `make system-deps` installs them.
set -euo pipefail
export LC_ALL=C

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${SYNCLINE_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/syncline/images}"

image_repo=localhost/syncline
pause_ref=localhost/syncline/pause:3.10
base_ref=localhost/syncline-base:bookworm-py311
build_base_ref=localhost/syncline-base:bookworm-py311-build
deps_ref=localhost/syncline-deps:latest
# The mirrors this machine's apt already uses (deb822 or one-line sources), so the
# image base comes from where the machine's own packages come from.
apt_uris() {
  { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}'
    grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2}'
  } | grep -E "$1" | head -n1 || true
}
debian_mirror="${SYNCLINE_DEBIAN_MIRROR:-$(apt_uris '/debian/?$')}"
security_mirror="${SYNCLINE_DEBIAN_SECURITY_MIRROR:-$(apt_uris '/debian-security/?$')}"
if [[ -z "$debian_mirror" || -z "$security_mirror" ]]; then
  echo "image/build.sh: no Debian mirror in /etc/apt; set SYNCLINE_DEBIAN_MIRROR and" \
       "SYNCLINE_DEBIAN_SECURITY_MIRROR" >&2
  exit 1
fi

log() { echo "image/build.sh: $*" >&2; }

# --- cache keys -------------------------------------------------------------
# Hash file names and contents, in a fixed order. Python bytecode and egg-info
# are local byproducts that .dockerignore keeps out of the build context too.
hash_inputs() {
  (cd "$repo" && find "$@" -type f ! -path '*/__pycache__/*' ! -name '*.py[cod]' \
     ! -path '*.egg-info/*' -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-12
}
key="$(hash_inputs Containerfile .dockerignore pyproject.toml README.md operator crds tools/image)"
pause_key="$(hash_inputs tools/image/pause.c tools/image/build.sh)"
image_ref="$image_repo:$key"
image_tar="$cache/syncline-$key.oci.tar"
pause_tar="$cache/pause-$pause_key.oci.tar"
meta="$cache/syncline-$key.json"

# Fast path: nothing changed since the last build.
publish_if_ready() {
  [[ -s "$image_tar" && -s "$pause_tar" && -s "$meta" ]] || return 1
  cmp -s "$meta" "$cache/current.json" || cp "$meta" "$cache/current.json"
  cat "$meta"
}
publish_if_ready && exit 0

# --- preconditions ----------------------------------------------------------
[[ $(id -u) -eq 0 ]] || { log "needs root (mmdebstrap and buildah create chroots)"; exit 1; }
for tool in buildah mmdebstrap gcc python3 flock; do
  command -v "$tool" >/dev/null || { log "$tool is missing; run make system-deps"; exit 1; }
done

mkdir -p "$cache"
# One build at a time per cache: a second `make image` waits, then finds the
# archives ready.
exec 9>"$cache/.lock"
flock 9
publish_if_ready && exit 0

started=$(date +%s)
rm -rf "$cache"/tmp.*     # left by a killed build; we hold the lock
work="$(mktemp -d "$cache/tmp.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# buildah with its own storage under the cache, one directory per storage
# driver. overlay is fast (a layer is a directory of changes) but needs kernel
# overlayfs on the cache's filesystem, which nested containers often lack; vfs
# works everywhere but copies the whole filesystem for every layer and build
# step (a source change rebuilds in ~60 s instead of ~20 s). containers/storage
# test-mounts overlay when it starts, so a failing `buildah images` means "use
# vfs". SYNCLINE_IMAGE_STORAGE_DRIVER=vfs|overlay skips the probe.
bh() {
  buildah --root "$cache/storage-$driver" --runroot "$cache/runroot-$driver" --storage-driver "$driver" "$@"
}
driver="${SYNCLINE_IMAGE_STORAGE_DRIVER:-overlay}"
if [[ -z "${SYNCLINE_IMAGE_STORAGE_DRIVER:-}" ]] && ! bh images >/dev/null 2>&1; then
  log "overlay storage does not work here; using vfs"
  driver=vfs
fi

# --- base images --------------------------------------------------------------
# Debian bookworm's own Python 3.11, the `essential` package set (no apt: the
# final image never installs packages) and no docs, man pages, locales or
# iconv modules (Python has its own codecs). merged-usr hook: without it apt
# satisfies init-system-helpers with the usrmerge package, which drags in ~45
# MB of Perl. The build variant adds python3-venv (ensurepip) and binutils
# (strip); both variants install the same python3 packages from the same
# mirror state, so a venv made in one runs in the other.
# shellcheck disable=SC2016  # "$1" is the chroot, expanded by mmdebstrap's hook shell
debstrap_args=(
  --variant=essential
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
  --aptopt='APT::Install-Recommends "false"'
  --aptopt='Acquire::Languages "none"'
  --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-exclude=/usr/share/lintian/*'
  --dpkgopt='path-exclude=/usr/lib/x86_64-linux-gnu/gconv/*'
  --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/var/log/*.log'
)
runtime_packages=python3,ca-certificates,libstdc++6   # libstdc++: pyarrow, duckdb
build_packages=$runtime_packages,python3-venv,binutils

# Rebuild a base only when its recipe changes (recorded as an image label), not
# on every change to this script. Delete the cache directory to pick up Debian
# security updates.
make_base() {
  local ref=$1 packages=$2 recipe current ctr
  recipe="$(printf '%s\n' "${debstrap_args[@]}" "$packages" "$debian_mirror" "$security_mirror" \
              | sha256sum | cut -c1-12)"
  current="$(bh inspect --type image --format '{{index .OCIv1.Config.Labels "io.syncline.base-recipe"}}' \
               "$ref" 2>/dev/null || true)"
  [[ "$current" == "$recipe" ]] && return 0
  log "bootstrapping $ref from Debian bookworm (mmdebstrap)"
  mmdebstrap --quiet "${debstrap_args[@]}" --include="$packages" bookworm "$work/rootfs.tar" \
    "deb $debian_mirror bookworm main" \
    "deb $debian_mirror bookworm-updates main" \
    "deb $security_mirror bookworm-security main" >&2
  ctr="$(bh from --quiet scratch)"
  bh add --quiet "$ctr" "$work/rootfs.tar" / >&2      # a local tar is unpacked, like ADD
  bh config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env LANG=C.UTF-8 --cmd '["python3"]' --label "io.syncline.base-recipe=$recipe" "$ctr"
  bh commit --quiet --rm "$ctr" "$ref" >/dev/null
  rm -f "$work/rootfs.tar"
}
make_base "$base_ref" "$runtime_packages"
make_base "$build_base_ref" "$build_packages"

# --- the Syncline image -------------------------------------------------------
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/pyproject.toml" | head -n1)"
# --layers: reuse the cached dependency layers when only the sources changed.
# --isolation chroot: RUN steps without runc or network namespaces, so pip
#   reaches PyPI exactly as the host does (with --network host).
# --force-rm: no leftover working containers after a failed step.
bud=(bh bud --layers --force-rm --isolation chroot --network host --format oci
     --build-arg "BASE_IMAGE=$base_ref" --build-arg "BUILD_BASE_IMAGE=$build_base_ref"
     --build-arg "SYNCLINE_VERSION=$version" -f "$repo/Containerfile")
# Trust what the host trusts: behind a TLS-intercepting proxy pip needs the
# proxy's CA. RUN steps see the host's bundle at Debian's path, which Debian's
# pip reads; a build volume is never committed into the image.
ca_bundle="${SYNCLINE_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
[[ -s "$ca_bundle" ]] && bud+=(--volume "$ca_bundle:/etc/ssl/certs/ca-certificates.crt:ro")
log "building $image_ref (a few minutes when the dependencies change, seconds otherwise)"
# The deps stage gets a name so the cleanup below keeps it: it is the cache
# that spares a reinstall of pyarrow & co. on the next source change.
"${bud[@]}" --target deps -t "$deps_ref" "$repo" >&2
"${bud[@]}" -t "$image_ref" "$repo" >&2

# --- the pause image --------------------------------------------------------
# Its own key (pause.c and this script): a source change does not touch it.
build_pause() {
  local ctr
  gcc -static -Os -s -Wall -Wextra -Werror -o "$work/pause" "$here/pause.c"
  ctr="$(bh from --quiet scratch)"
  bh copy --quiet "$ctr" "$work/pause" /pause >/dev/null
  # 65535: the user the upstream pause image runs as.
  bh config --entrypoint '["/pause"]' --cmd '[]' --user 65535:65535 \
    --label org.opencontainers.image.title=pause \
    --label org.opencontainers.image.description="Syncline dev cluster pod sandbox (tools/image/pause.c)" "$ctr"
  bh commit --quiet --rm "$ctr" "$pause_ref" >/dev/null
}

# --- export -------------------------------------------------------------------
# `buildah push oci-archive:FILE:REF` stores REF as the manifest's
# org.opencontainers.image.ref.name annotation in index.json. containerd keeps a
# full reference there as the image name (only a bare tag would be prefixed,
# with --base-name or "import-<date>"), so a plain
# `ctr -n k8s.io images import FILE` yields exactly REF: no --base-name,
# --index-name or extra annotation needed.
# Layers are gzipped (buildah 1.28 ignores --disable-compression for the oci
# transports); the archive is written under a temporary name and renamed, so a
# reader never sees half an archive.
export_archive() {
  local ref=$1 out=$2
  rm -f "$out.partial"
  bh push --quiet "$ref" "oci-archive:$out.partial:$ref" >&2
  mv "$out.partial" "$out"
}
log "exporting OCI archives"
export_archive "$image_ref" "$image_tar"
if [[ ! -s "$pause_tar" ]]; then
  build_pause
  export_archive "$pause_ref" "$pause_tar"
fi

# The uncompressed size, i.e. what the layers unpack to: the manifest records
# only the gzipped sizes, so gunzip the layer tars and count.
size="$(python3 - "$image_tar" <<'EOF'
import json, sys, tarfile, zlib
with tarfile.open(sys.argv[1]) as tar:
    def blob(digest):
        return tar.extractfile("blobs/" + digest.replace(":", "/"))
    index = json.load(tar.extractfile("index.json"))
    manifest = json.load(blob(index["manifests"][0]["digest"]))
    total = 0
    for layer in manifest["layers"]:
        stream = blob(layer["digest"])
        gunzip = zlib.decompressobj(wbits=47) if layer["mediaType"].endswith("gzip") else None
        while chunk := stream.read(1 << 20):
            total += len(gunzip.decompress(chunk)) if gunzip else len(chunk)
    print(total)
EOF
)"

printf '{"key":"%s","image":"%s","image_archive":"%s","image_size_bytes":%s,"pause_image":"%s","pause_archive":"%s"}\n' \
  "$key" "$image_ref" "$image_tar" "$size" "$pause_ref" "$pause_tar" > "$meta"

# --- cleanup ----------------------------------------------------------------
# Keep the newest three Syncline archives (switching branches back and forth
# stays cheap) and drop older images and untagged intermediate layers from the
# buildah storage; with vfs each layer is a full copy of the filesystem.
kept=0
while read -r old; do
  [[ "$old" == "$image_tar" ]] && continue
  if (( ++kept > 2 )); then rm -f "$old" "${old%.oci.tar}.json"; fi
done < <(ls -1t "$cache"/syncline-*.oci.tar)
for old in "$cache"/pause-*.oci.tar; do
  if [[ "$old" != "$pause_tar" ]]; then rm -f "$old"; fi
done
while read -r old; do
  if [[ "$old" =~ ^$image_repo:[0-9a-f]+$ && "$old" != "$image_ref" ]]; then bh rmi "$old" >/dev/null; fi
done < <(bh images --format '{{.Name}}:{{.Tag}}')
for _ in 1 2 3 4 5 6 7 8; do   # each round removes one level of untagged parents
  [[ -n "$(bh images --quiet --filter dangling=true)" ]] || break
  bh rmi --prune >/dev/null 2>&1 || break
done

log "done in $(( $(date +%s) - started ))s: $image_ref, $(( size / 1024 / 1024 )) MiB uncompressed"
cp "$meta" "$cache/current.json"
cat "$meta"
