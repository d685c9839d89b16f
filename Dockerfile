# The nsq image, laid out like NSQ's own (nsqio/nsq): every binary in
# /usr/local/bin and at / (so `docker run IMAGE /nsqd ...` works as it does
# there), /data as the working directory and so nsqd's default --data-path,
# and NSQ's ports exposed. No ENTRYPOINT or CMD, as in NSQ's image: name the
# program to run.
#
# Build it with `make image` (scripts/image.sh): that builds static binaries
# on the host and lays out the build context this file COPYs from (rootfs/
# with the binaries, links, CA certificates, /tmp, passwd and group; data/,
# an empty directory). Nothing is fetched while the image is built.
FROM scratch

ARG VERSION=unknown
LABEL org.opencontainers.image.title="nsq" \
      org.opencontainers.image.description="NSQ-compatible message broker: nsqd, nsqlookupd, nsqadmin and the nsq_* tools" \
      org.opencontainers.image.version="${VERSION}"

COPY rootfs/ /
# nsqd writes here as the unprivileged user. A named volume mounted at /data
# starts with this directory's owner; a bind mount must be writable by 65532.
COPY --chown=65532:65532 data/ /data/

ENV PATH=/usr/local/bin:/bin
USER 65532:65532
WORKDIR /data

# nsqd TCP/HTTP, nsqlookupd TCP/HTTP, nsqadmin (4170 is exposed by NSQ's
# image too, though nothing listens there by default).
EXPOSE 4150 4151 4160 4161 4170 4171
