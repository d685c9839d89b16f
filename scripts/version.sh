#!/bin/sh
# Print the version this build reports in --version (without a leading "v"),
# from `git describe --tags --always --dirty`:
#   on a tag v1.4.0            -> 1.4.0
#   past a tag (v1.4.0-3-gabc) -> 1.4.0-3-gabc
#   no tag yet (abc1234-dirty) -> <Binary>+abc1234-dirty  (semver build metadata)
#   no git at all              -> <Binary>
# where <Binary> is the NSQ version constant in internal/version/version.go.
set -eu
cd "$(dirname "$0")/.."
base=$(sed -n 's/^const Binary = "\(.*\)"$/\1/p' internal/version/version.go)
[ -n "$base" ] || { echo "version.sh: no Binary constant in internal/version/version.go" >&2; exit 1; }
desc=$(git describe --tags --always --dirty 2>/dev/null || true)
case "$desc" in
"") echo "$base" ;;
v[0-9]* | [0-9]*) echo "${desc#v}" ;;
*) echo "$base+$desc" ;;
esac
