#!/bin/sh
# Build the release archives: for each platform a tarball
#   nsq-<version>.<os>-<arch>.go<goversion>.tar.gz
# holding nsq-<version>.<os>-<arch>.go<goversion>/bin/<every binary>, the
# README and the licence (when the repository has one), plus SHA256SUMS
# over all archives, all in $DISTDIR (default build/dist).
#
#   VERSION     version baked into the binaries and the names (default: scripts/version.sh)
#   PLATFORMS   os/arch list (default: linux/amd64 linux/arm64 darwin/arm64)
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
VERSION=${VERSION:-$(./scripts/version.sh)}
PLATFORMS=${PLATFORMS:-linux/amd64 linux/arm64 darwin/arm64}
DISTDIR=${DISTDIR:-build/dist}
goversion=$($GO env GOVERSION)

sha256() {
	if command -v sha256sum >/dev/null 2>&1; then sha256sum "$@"; else shasum -a 256 "$@"; fi
}
# GNU tar can drop the builder's user and file order from the archive.
tarflags=""
if tar --version 2>/dev/null | grep -q 'GNU tar'; then
	tarflags="--sort=name --owner=0 --group=0 --numeric-owner"
fi

mkdir -p "$DISTDIR"
stage=$DISTDIR/stage
rm -rf "$stage"
archives=""
for p in $PLATFORMS; do
	os=${p%/*}
	arch=${p#*/}
	name=nsq-$VERSION.$os-$arch.$goversion
	echo "--- $name"
	VERSION=$VERSION GO=$GO ./scripts/build-static.sh "$os" "$arch" "$stage/$name/bin"
	cp README.md "$stage/$name/"
	for l in LICENSE LICENSE.md LICENSE.txt COPYING; do
		[ -f "$l" ] && cp "$l" "$stage/$name/"
	done
	# shellcheck disable=SC2086 # $tarflags is a list of flags or empty
	tar $tarflags -C "$stage" -czf "$DISTDIR/$name.tar.gz" "$name"
	archives="$archives $name.tar.gz"
done
rm -rf "$stage"
# shellcheck disable=SC2086 # the archive names contain no spaces
(cd "$DISTDIR" && sha256 $archives >SHA256SUMS)
echo "--- $DISTDIR"
cat "$DISTDIR/SHA256SUMS"
