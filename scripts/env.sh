# Sourced by the scripts: the project's tools first on PATH.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$ROOT/end2end/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export YTDLP="${YTDLP:-$ROOT/.venv/bin/yt-dlp}"
