#!/usr/bin/env bash
# Installs everything Kachay needs to build, run and test, skipping whatever
# is already there at the right version. Safe to run again at any time.
#
#   scripts/setup.sh            everything (system packages need root or sudo)
#
# Pinned versions and the reasons for them are noted next to each one.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CARGO_LEPTOS_VERSION="0.3.5"      # 0.3.11 needs a newer rustc than stable 1.95
YTDLP_VERSION="2026.10.26"
DENO_VERSION="2.9.8"              # the JS runtime yt-dlp uses for YouTube
BGUTIL_POT_VERSION="2.0.2"        # bgutil's own PO-token plugin, only with KACHAY_POT_PROVIDER=1
PYTEST_VERSION="8.3.4"            # the yt-dlp plugin's tests, only with KACHAY_TEST_TOOLS=1
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"

step() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

export PATH="$CARGO_BIN:$PATH"

# --- System packages: ffmpeg (merging, tests), Chromium (browser tests),
# python3-venv, Node.js/npm (Playwright, wasm-opt).
missing=()
have ffmpeg || missing+=(ffmpeg)
have ffprobe || missing+=(ffmpeg)
have chromium || missing+=(chromium)
dpkg -s fonts-noto-color-emoji >/dev/null 2>&1 || missing+=(fonts-noto-color-emoji)  # emoji in titles, in screenshots
have node || missing+=(nodejs)
have npm || missing+=(npm)
have python3 || missing+=(python3)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
have cc || missing+=(build-essential)
have pkg-config || missing+=(pkg-config)
# redis-server for the tests of several nodes (they start their own on a
# loopback port); Kachay itself needs one only with REDIS_URL.
if [ "${KACHAY_TEST_TOOLS:-0}" = "1" ]; then
  have redis-server || missing+=(redis-server)
fi
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if [ "$(id -u)" -eq 0 ]; then
    step "Installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  elif have sudo && sudo -n true 2>/dev/null; then
    step "Installing system packages with sudo: ${missing[*]}"
    sudo DEBIAN_FRONTEND=noninteractive apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    die "missing system packages: ${missing[*]}. Install them with: sudo apt-get install ${missing[*]}"
  fi
else
  step "System packages present (ffmpeg, chromium, node, python3-venv)"
fi

# --- Rust: the WASM target, cargo-leptos, and the wasm-bindgen that matches Cargo.lock.
have cargo || die "Rust is not installed. Install it from https://rustup.rs and run this again."
# rustfmt and clippy: the test command checks formatting and lints.
for component in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
    step "Adding the $component component"
    rustup component add "$component"
  fi
done
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  step "Adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(cargo leptos --version 2>/dev/null || true)" != "cargo-leptos $CARGO_LEPTOS_VERSION" ]; then
  step "Installing cargo-leptos $CARGO_LEPTOS_VERSION (about 17 minutes on 2 cores)"
  cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
else
  step "cargo-leptos $CARGO_LEPTOS_VERSION present"
fi

WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
[ -n "$WASM_BINDGEN_VERSION" ] || die "could not read the wasm-bindgen version from Cargo.lock"
if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  step "Installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (matches Cargo.lock; about 4 minutes)"
  # --locked fails for this version: a locked dependency left the registry.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
else
  step "wasm-bindgen $WASM_BINDGEN_VERSION present"
fi

# --- yt-dlp (and deno, its JS runtime) in a project-local virtualenv.
if [ ! -x .venv/bin/python ]; then
  step "Creating the Python virtualenv in .venv"
  python3 -m venv .venv
fi
# The pinned version is the oldest accepted: a newer one (after
# `.venv/bin/pip install -U "yt-dlp[default]"`, see docs/youtube.md) is kept,
# since YouTube breaks old versions.
installed_ytdlp="$(.venv/bin/yt-dlp --version 2>/dev/null || true)"
if [ -z "$installed_ytdlp" ] || [ "$(printf '%s\n%s\n' "$installed_ytdlp" "$YTDLP_VERSION" | sort -V | head -n1)" != "$YTDLP_VERSION" ]; then
  step "Installing yt-dlp $YTDLP_VERSION into .venv"
  if ! .venv/bin/pip install -q --disable-pip-version-check "yt-dlp[default]==$YTDLP_VERSION" 2>/tmp/kachay-pip.err; then
    # The registry mirror can lag behind yt-dlp's newest certifi pin: install
    # yt-dlp itself and the same [default] extras without that lower bound.
    step "yt-dlp[default] did not resolve ($(grep -m1 -o 'No matching distribution.*' /tmp/kachay-pip.err || echo 'see pip output')); installing its extras one by one"
    .venv/bin/pip install -q --disable-pip-version-check --no-deps "yt-dlp==$YTDLP_VERSION"
    .venv/bin/pip install -q --disable-pip-version-check brotli certifi mutagen pycryptodomex \
      "requests>=2.32.2,<3" "urllib3>=2.0.2,<3" "websockets>=13.0" "yt-dlp-ejs==0.8.0"
  fi
else
  step "yt-dlp $installed_ytdlp present (at least $YTDLP_VERSION)"
fi
if [ "$(.venv/bin/deno --version 2>/dev/null | head -n1 | awk '{print $2}')" != "$DENO_VERSION" ]; then
  step "Installing deno $DENO_VERSION into .venv"
  .venv/bin/pip install -q --disable-pip-version-check "deno==$DENO_VERSION"
else
  step "deno $DENO_VERSION present"
fi

# --- Optional: bgutil's own PO-token provider plugin, with
# KACHAY_POT_PROVIDER=1. Kachay's own plugin (built into the server) has
# replaced it; the tests install it to prove that yt-dlp prefers Kachay's.
if [ "${KACHAY_POT_PROVIDER:-0}" = "1" ]; then
  if [ "$(.venv/bin/pip show bgutil-ytdlp-pot-provider 2>/dev/null | awk '/^Version:/ { print $2 }')" != "$BGUTIL_POT_VERSION" ]; then
    step "Installing bgutil-ytdlp-pot-provider $BGUTIL_POT_VERSION into .venv (PO tokens for YouTube)"
    .venv/bin/pip install -q --disable-pip-version-check "bgutil-ytdlp-pot-provider==$BGUTIL_POT_VERSION"
  else
    step "bgutil-ytdlp-pot-provider $BGUTIL_POT_VERSION present"
  fi
fi

# --- Test tools: pytest for the yt-dlp plugin's tests (ytdlp-plugins/tests),
# with KACHAY_TEST_TOOLS=1 (scripts/test.sh sets it).
if [ "${KACHAY_TEST_TOOLS:-0}" = "1" ]; then
  if [ "$(.venv/bin/python -m pytest --version 2>/dev/null | awk '{ print $2 }')" != "$PYTEST_VERSION" ]; then
    step "Installing pytest $PYTEST_VERSION into .venv (the yt-dlp plugin's tests)"
    .venv/bin/pip install -q --disable-pip-version-check "pytest==$PYTEST_VERSION"
  else
    step "pytest $PYTEST_VERSION present"
  fi
fi

# --- Node tools: Playwright (browser tests) and binaryen's wasm-opt (release
# builds). Debian's binaryen is too old: its wasm-opt output breaks hydration.
if [ ! -f end2end/node_modules/.package-lock.json ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
  step "Installing Playwright and binaryen (npm)"
  (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
else
  step "Playwright and binaryen present"
fi
WASM_OPT="$ROOT/end2end/node_modules/.bin/wasm-opt"
[ -x "$WASM_OPT" ] || die "wasm-opt was not installed by npm ($WASM_OPT)"
current_wasm_opt="$(command -v wasm-opt || true)"
if [ "$(readlink -f "$current_wasm_opt" 2>/dev/null || true)" != "$(readlink -f "$WASM_OPT")" ]; then
  if [ -z "$current_wasm_opt" ] || [ "$current_wasm_opt" = "$CARGO_BIN/wasm-opt" ]; then
    step "Linking wasm-opt into $CARGO_BIN (so cargo-leptos finds it)"
    ln -sf "$WASM_OPT" "$CARGO_BIN/wasm-opt"
  else
    echo "note: another wasm-opt is first on PATH ($current_wasm_opt); scripts put $ROOT/end2end/node_modules/.bin first."
  fi
fi

step "Setup complete"
