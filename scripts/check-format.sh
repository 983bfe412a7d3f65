#!/bin/bash
# Format gate: every tracked C++ file must be clang-format clean (.clang-format, Google style).
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.cc' '*.h' 2>/dev/null || true)
[ -n "$files" ] || { echo "check-format: no tracked sources"; exit 0; }
echo "$files" | xargs clang-format --dry-run -Werror
echo "check-format: $(echo "$files" | wc -l) files clean"
