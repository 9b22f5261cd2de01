#!/usr/bin/env bash
# Installs what is missing, builds a release and serves Kachay at
# http://127.0.0.1:3000 (set LEPTOS_SITE_ADDR / PORT to change).
set -euo pipefail
"$(dirname "${BASH_SOURCE[0]}")/setup.sh"
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
exec cargo leptos serve --release
