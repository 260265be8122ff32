#!/usr/bin/env bash
# Sets up scaleup on a fresh Debian/Ubuntu machine that has Node 20+ and npm: the native tools
# (nginx, h2load, wrk, a C compiler) from apt where we may install them, pnpm at the pinned
# version, the workspace's dependencies from the lockfile, and the server's zero-copy addon.
# Safe to run again: it skips what is already there.
#   scripts/setup.sh          what `pnpm bench:all` needs
#   scripts/setup.sh --test   also what the test suite needs (report readers, the seed's Twisted
#                             stack, Chromium, sshd for test hosts)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test_tools=false
for arg in "$@"; do
  case "$arg" in
    --test) want_test_tools=true ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$arg' (use --test or --help)" >&2; exit 2 ;;
  esac
done

pnpm_version=$(node -p "require('./package.json').packageManager.split('@')[1]")

# gcc and libc6-dev build the server's zero-copy send addon (packages/server/native/zerocopy.c);
# zlib1g-dev the constant-rate load tool (packages/driver/native/openloop.c); linux-perf the CPU
# profiles (scaleup profile).
apt_packages=(nginx-light nghttp2-client wrk gcc libc6-dev zlib1g-dev linux-perf)
if $want_test_tools; then
  # poppler-utils and LibreOffice read the reports back; pypy3 and python3-twisted run the seed's
  # own server (scenarios/seed-2013); chromium renders results.html; openssh and iproute2 make
  # the network-namespace test hosts.
  apt_packages+=(poppler-utils libreoffice-calc-nogui pypy3 python3-twisted chromium openssh-server openssh-client iproute2)
fi

missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then sudo=(); elif command -v sudo >/dev/null; then sudo=(sudo); else sudo=(none); fi
  if [ "${sudo[0]:-}" = none ] || ! command -v apt-get >/dev/null; then
    echo "setup.sh: cannot install ${missing[*]} (needs apt-get as root); scaleup will skip what needs them" >&2
  else
    echo "setup.sh: installing ${missing[*]} with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

if [ "$(pnpm --version 2>/dev/null || true)" != "$pnpm_version" ]; then
  echo "setup.sh: installing pnpm $pnpm_version with npm" >&2
  npm install -g --allow-scripts=pnpm "pnpm@$pnpm_version" >/dev/null 2>&1 || npm install -g "pnpm@$pnpm_version" >/dev/null
fi

pnpm install --frozen-lockfile --reporter=silent

# Without the addon the server still runs, sending every response with write(); the tests check
# the sendfile path, so there a failed build is fatal.
if ! pnpm --silent build:native >&2; then
  if $want_test_tools; then exit 1; fi
  echo "setup.sh: the server will send every response with write() (see docs/performance.md)" >&2
fi
# The constant-rate load tool (packages/driver/native/openloop.c; `scaleup load --rate`).
if ! pnpm --silent build:openloop >&2; then
  if $want_test_tools; then exit 1; fi
  echo "setup.sh: scaleup load --rate will not run (openloop did not build)" >&2
fi
echo "setup.sh: ready (node $(node --version), pnpm $(pnpm --version))" >&2
