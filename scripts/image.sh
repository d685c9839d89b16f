#!/bin/sh
# Build the container image (Dockerfile) with podman or docker: static
# binaries built here on the host, then COPYed onto scratch, so the build
# needs no registry and no network.
#
#   IMAGE               image name (default dropin/nsq)
#   VERSION             version baked into the binaries and the tag
#                       (default: scripts/version.sh)
#   IMAGE_ARCH          linux GOARCH to build for (default: go env GOARCH)
#   CONTAINER_RUNTIME   podman or docker (default: podman if found, else docker)
#   CA_CERTS            CA bundle to copy in (default /etc/ssl/certs/ca-certificates.crt)
#
# The image is tagged IMAGE:<version> (a "+" becomes "-", tags allow no "+")
# and IMAGE:latest.
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
IMAGE=${IMAGE:-dropin/nsq}
VERSION=${VERSION:-$(./scripts/version.sh)}
ARCH=${IMAGE_ARCH:-$($GO env GOARCH)}
CA_CERTS=${CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}
BUILDDIR=${BUILDDIR:-build}

rt=${CONTAINER_RUNTIME:-}
if [ -z "$rt" ]; then
	if command -v podman >/dev/null 2>&1; then
		rt=podman
	elif command -v docker >/dev/null 2>&1; then
		rt=docker
	else
		echo "image.sh: neither podman nor docker found; install one (Debian: apt-get install podman) or set CONTAINER_RUNTIME" >&2
		exit 2
	fi
fi
command -v "$rt" >/dev/null 2>&1 || { echo "image.sh: container runtime $rt not found" >&2; exit 2; }
[ -r "$CA_CERTS" ] || { echo "image.sh: no CA bundle at $CA_CERTS (Debian: apt-get install ca-certificates, or set CA_CERTS)" >&2; exit 2; }

ctx=$BUILDDIR/image/linux-$ARCH
rm -rf "$ctx"
root=$ctx/rootfs
mkdir -p "$root/usr/local/bin" "$root/bin" "$root/etc/ssl/certs" "$root/tmp" "$ctx/data"
chmod 1777 "$root/tmp"
chmod 755 "$ctx/data"

echo "--- static binaries for linux/$ARCH, version $VERSION"
VERSION=$VERSION GO=$GO ./scripts/build-static.sh linux "$ARCH" "$root/usr/local/bin"
for f in "$root"/usr/local/bin/*; do
	b=$(basename "$f")
	ln -s "/usr/local/bin/$b" "$root/$b"
	ln -s "/usr/local/bin/$b" "$root/bin/$b"
done

cp "$CA_CERTS" "$root/etc/ssl/certs/ca-certificates.crt"
chmod 644 "$root/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnsq:x:65532:65532:nsq:/data:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nnsq:x:65532:\n' >"$root/etc/group"
# Go's resolver reads this to order /etc/hosts before DNS.
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"

tag=$(printf '%s' "$VERSION" | tr '+' '-')
platform=""
[ "$ARCH" = "$($GO env GOARCH)" ] || platform="--platform=linux/$ARCH"
echo "--- $rt build $IMAGE:$tag"
# shellcheck disable=SC2086 # $platform is empty or one word
"$rt" build $platform -f Dockerfile --build-arg "VERSION=$VERSION" \
	-t "$IMAGE:$tag" -t "$IMAGE:latest" "$ctx"
echo "built $IMAGE:$tag (also $IMAGE:latest); try: $rt run --rm $IMAGE:$tag /nsqd --version"
