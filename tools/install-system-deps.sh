#!/usr/bin/env bash
# Install the Debian packages the test suite and the dev cluster use:
# PostgreSQL 15 and MariaDB (real servers), promtool (checks our metrics
# exposition), and the node's runtime and image tooling: containerd, runc, the
# CNI plugins, iptables/conntrack for kube-proxy, mmdebstrap + buildah to build
# images without a registry, a static libc to build the pause binary, rsyslog
# with TLS (the audit log's syslog receiver in tests) and Chromium (the Swagger
# UI screenshot test).
# Idempotent and quiet when everything is already present.
set -euo pipefail

missing=()
[[ -x /usr/lib/postgresql/15/bin/initdb ]] || missing+=(postgresql-15)
command -v mariadbd >/dev/null 2>&1 || [[ -x /usr/sbin/mariadbd ]] || missing+=(mariadb-server)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v containerd >/dev/null 2>&1 || missing+=(containerd)
command -v runc >/dev/null 2>&1 || missing+=(runc)
[[ -x /usr/lib/cni/bridge ]] || missing+=(containernetworking-plugins)
command -v iptables >/dev/null 2>&1 || missing+=(iptables)
command -v conntrack >/dev/null 2>&1 || missing+=(conntrack)
command -v mmdebstrap >/dev/null 2>&1 || missing+=(mmdebstrap)
command -v buildah >/dev/null 2>&1 || missing+=(buildah)
command -v nsenter >/dev/null 2>&1 || missing+=(util-linux)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
[[ -e /usr/lib/x86_64-linux-gnu/libc.a ]] || missing+=(libc6-dev)
command -v gcc >/dev/null 2>&1 || missing+=(gcc)
[[ -e /usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so ]] || missing+=(rsyslog rsyslog-gnutls)
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
# Node.js and npm run the OAuth2 (oidc-provider) and OData (CAP) test servers.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
((${#missing[@]})) || exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "install-system-deps: need ${missing[*]}; run as root or install them with apt-get" >&2
  exit 1
fi
echo "install-system-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The packages' own services are not wanted: the suite starts private servers.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
