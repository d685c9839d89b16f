#!/bin/sh
# Build every binary under apps/ as a static executable (CGO_ENABLED=0) for
# one platform, with the version baked in:
#   scripts/build-static.sh GOOS GOARCH OUTDIR
# VERSION defaults to the output of scripts/version.sh.
set -eu
[ $# -eq 3 ] || { echo "usage: $0 GOOS GOARCH OUTDIR" >&2; exit 2; }
cd "$(dirname "$0")/.."
GO=${GO:-go}
VERSION=${VERSION:-$(./scripts/version.sh)}
mkdir -p "$3"
CGO_ENABLED=0 GOOS=$1 GOARCH=$2 $GO build -trimpath \
	-ldflags "-s -w -X github.com/dropin/nsq/internal/version.Build=$VERSION" \
	-o "$3/" ./apps/...
