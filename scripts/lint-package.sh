#!/usr/bin/env bash
# Lints one publishable package as users receive it: packed by pnpm, so `publishConfig.exports`
# (dist) replaces the workspace `exports` (src). Run from the package directory after `build`.
set -euo pipefail
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
publint --strict --pack pnpm
pnpm pack --pack-destination "$out" >/dev/null
attw --profile esm-only --format table-flipped "$out"/*.tgz
