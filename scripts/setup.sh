#!/usr/bin/env bash
# Installs everything manuel-migrate needs on a fresh Debian machine, then builds the workspace.
# Idempotent: a second run only checks stamps and lets cargo see that nothing changed.
#
#   scripts/setup.sh            install + debug build of the workspace + release function binaries
#   SKIP_BUILD=1 scripts/setup.sh   install only
#   SKIP_RELEASE=1 scripts/setup.sh debug build only (what CI uses: the tests run debug binaries)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
PY=${PYTHON:-python3}
say() { printf '\033[1m== %s\033[0m\n' "$*"; }

# 1. Debian packages: the real redis-server (not started by apt here; the stack starts it),
#    libfaketime (fixtures that pin the clock run the function processes under it) and libmagic
#    (file type detection of the transcribe function's upload check, python-magic and Rust alike).
pkgs=()
command -v redis-server >/dev/null 2>&1 || pkgs+=(redis-server)
ls /usr/lib/*/faketime/libfaketime.so.1 >/dev/null 2>&1 || pkgs+=(libfaketime)
ls /usr/lib/*/libmagic.so.1 /lib/*/libmagic.so.1 >/dev/null 2>&1 || pkgs+=(libmagic1)
if [ ${#pkgs[@]} -gt 0 ]; then
  say "installing ${pkgs[*]} (apt)"
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${pkgs[@]}" >/dev/null
fi

# 2. Python environments, each rebuilt only when its requirements change.
venv() { # venv DIR REQUIREMENTS
  local dir=$1 req=$2 stamp
  stamp=$(sha256sum "$req" | cut -c1-16)
  if [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$stamp" ]; then return; fi
  say "creating $dir from $req"
  rm -rf "$dir"
  "$PY" -m venv "$dir"
  "$dir/bin/pip" install -q --disable-pip-version-check -r "$req"
  echo "$stamp" >"$dir/.stamp"
}
layer() { # layer NAME REQUIREMENTS — laid out as Lambda's /opt/python
  local dir=.layers/$1 req=$2 stamp
  stamp=$(sha256sum "$req" | cut -c1-16)
  if [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$stamp" ]; then return; fi
  say "building layer $1 from $req"
  rm -rf "$dir"
  mkdir -p "$dir"
  .venv-lambda/bin/pip install -q --disable-pip-version-check --target "$dir/python" -r "$req"
  echo "$stamp" >"$dir/.stamp"
}
venv .venv scripts/python/tools.txt
venv .venv-lambda scripts/python/lambda-runtime.txt
layer redis scripts/python/layer-redis.txt
layer pdf-processing scripts/python/layer-pdf-processing.txt
layer file-security scripts/python/layer-file-security.txt

# PDFium for the Rust pdf-page function, for this machine and for Lambda's arm64.
pdfium() { # pdfium ARCH — .pdfium/ARCH/lib/libpdfium.so (a layer's /opt/lib) out of the pypdfium2 wheel
  local arch=$1 req=scripts/python/pdfium.txt dir=.pdfium/$1 stamp tmp
  stamp=$(sha256sum "$req" | cut -c1-16)
  if [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$stamp" ]; then return; fi
  say "fetching libpdfium.so for $arch"
  tmp=$(mktemp -d)
  .venv/bin/pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
    --platform "manylinux_2_17_$arch" --python-version 3.11 -r "$req" -d "$tmp"
  rm -rf "$dir" && mkdir -p "$dir/lib"
  .venv/bin/python -c 'import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
open(sys.argv[2], "wb").write(z.read("pypdfium2_raw/libpdfium.so"))' "$tmp"/*.whl "$dir/lib/libpdfium.so.tmp"
  mv "$dir/lib/libpdfium.so.tmp" "$dir/lib/libpdfium.so"
  rm -rf "$tmp"
  echo "$stamp" >"$dir/.stamp"
}
pdfium x86_64
pdfium aarch64

# 3. The arm64 standard library for `functions build --arch arm64` (Lambda's default here).
if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  say "adding the aarch64-unknown-linux-gnu target"
  rustup target add aarch64-unknown-linux-gnu || echo "warning: no aarch64 target; functions build --arch arm64 will fail" >&2
fi

# 4. cargo-deny for the offline supply-chain checks (scripts/audit.sh), pinned, into .tools/.
# A debug build: 1 min here instead of 3 for an optimised one, and the check takes 4 s either way.
deny_version=0.20.2
if [ "$(.tools/bin/cargo-deny --version 2>/dev/null || true)" != "cargo-deny $deny_version" ]; then
  say "installing cargo-deny $deny_version"
  cargo install --quiet --locked --debug --root .tools --version "$deny_version" cargo-deny
fi

# 5. The workspace: debug build (tests, CLI) and release binaries of the functions.
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  say "building the workspace"
  cargo build --workspace --all-targets --quiet
  # Release binaries of the functions (bench, run-local); the tests use the debug ones, so CI
  # skips this with SKIP_RELEASE=1.
  if [ "${SKIP_RELEASE:-0}" != 1 ]; then
    fns=$(for d in functions/*/; do printf ' -p %s' "$(basename "$d")"; done)
    # shellcheck disable=SC2086
    cargo build --release --quiet $fns
  fi
fi
say "ready: $root"
