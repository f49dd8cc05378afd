#!/bin/bash
# Checks that the C sources and headers are formatted as .clang-format says:
# lists every file clang-format would change and exits 1 when there is one
# (0 when all are formatted, 2 when clang-format is missing).  Writes nothing.
# usage: scripts/format-check.sh [FILE...]    (default: every tracked .c and .h
#        under src/ cli/ include/ tests/ examples/)
# To format a file: clang-format -i FILE
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
cf=${CLANG_FORMAT:-clang-format}
if ! command -v "$cf" >/dev/null 2>&1; then
    echo "format-check: $cf not found (Debian package clang-format; scripts/install-deps.sh)" >&2
    exit 2
fi
if [ "$#" -gt 0 ]; then
    files=("$@")
else
    mapfile -t files < <(git ls-files -- 'src/*.[ch]' 'cli/*.[ch]' 'include/*.[ch]' \
                                          'tests/*.[ch]' 'examples/*.[ch]')
fi
bad=0
for f in "${files[@]}"; do
    if ! "$cf" --style=file --dry-run --Werror "$f" >/dev/null 2>&1; then
        echo "$f"
        bad=$((bad + 1))
    fi
done
if [ "$bad" -ne 0 ]; then
    echo "format-check: $bad file(s) not formatted as .clang-format says (clang-format -i FILE)" >&2
    exit 1
fi
echo "format-check: ${#files[@]} files formatted"
