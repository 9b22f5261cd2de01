#!/usr/bin/env bash
# Runs every test: Rust unit and integration tests (engine, server, fixture
# site) and the Playwright suite in Chromium. Installs what is missing first.
set -euo pipefail
# bgutil's plugin is optional for users; the tests prove yt-dlp prefers
# Kachay's own to it. pytest runs the plugin's tests.
export KACHAY_POT_PROVIDER=1 KACHAY_TEST_TOOLS=1
"$(dirname "${BASH_SOURCE[0]}")/setup.sh"
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

step() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
t0=$SECONDS

step "Formatting and lints (rustfmt.toml; clippy with warnings as errors, server and browser builds)"
cargo fmt --all -- --check
# Not --workspace: that would build the app with ssr and hydrate at once.
cargo clippy --locked --tests -p contract -p netguard -p engine -p fixture -p app -p server -p cli -- -D warnings
cargo clippy --locked -p frontend --target wasm32-unknown-unknown -- -D warnings
t_lint=$SECONDS

step "Rust tests (contract, netguard, engine, fixture site, server, app, CLI)"
cargo test --locked -p contract -p netguard -p engine -p fixture -p app -p server -p cli

step "yt-dlp plugin tests (pytest, against the real server binary and a fake minter)"
cargo build --locked -p server
KACHAY_SERVER_BIN="$ROOT/target/debug/server" .venv/bin/python -m pytest -q -p no:cacheprovider ytdlp-plugins/tests
t1=$SECONDS

step "Browser tests (cargo leptos end-to-end: build, serve, Playwright)"
# cargo leptos end-to-end leaves its server running when Playwright fails, and
# the next run on this machine then finds port 3000 taken. Stop such a server:
# only ours (a process listening there whose working directory is this tree).
stop_our_server() {
  command -v ss > /dev/null || return 0
  local pid
  for pid in $(ss -ltnpH 'sport = :3000' 2> /dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u); do
    if [ "$(readlink -f "/proc/$pid/cwd")" = "$(readlink -f "$ROOT")" ]; then
      kill "$pid" 2> /dev/null || true
    fi
  done
}
stop_our_server
trap stop_our_server EXIT
cargo build --locked -p fixture
# The fixture site is on 127.0.0.1, which the egress guard refuses by default.
# TRUSTED_PROXIES: each browser test acts as its own client (X-Forwarded-For, see
# end2end/tests/helpers.ts), so the server-side download history of one test
# never shows up in another.
ALLOW_PRIVATE_NETWORKS=127.0.0.0/8 TRUSTED_PROXIES=127.0.0.1/32 cargo leptos end-to-end
t2=$SECONDS

step "All tests passed: lints $((t_lint - t0)) s, Rust $((t1 - t_lint)) s, browser $((t2 - t1)) s"
