#!/usr/bin/env bash
# Says at the end of `make test` what was skipped and why. Its steps append
# one line per skip to the log named by $NSQ_SKIP_LOG: "where<TAB>what<TAB>why"
# (see internal/testutil/skip.go). Skips with the same reason are listed
# together.
#
#   scripts/skipped.sh SKIP_LOG
set -u
log=${1:?usage: scripts/skipped.sh SKIP_LOG}
if [ ! -s "$log" ]; then
    echo "make test: nothing skipped"
    exit 0
fi
echo "make test: $(wc -l <"$log" | tr -d ' ') skipped:"
awk -F'\t' '
    !($3 in which) { order[++n] = $3 }
    $1 == last[$3] { which[$3] = which[$3] ", " $2; next }
    { which[$3] = which[$3] (which[$3] == "" ? "" : "; ") $1 ": " $2; last[$3] = $1 }
    END { for (i = 1; i <= n; i++) printf "  - %s\n      %s\n", order[i], which[order[i]] }
' "$log"
