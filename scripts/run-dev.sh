#!/usr/bin/env bash
# Builds Volley (release preset) and runs it. With no volley.toml in the
# current directory it runs the development instance of SPEC section 1.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target volley
exec build/release/volley serve "$@"
