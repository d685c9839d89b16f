// Package deploy holds no code of its own, only tests of how the project is
// shipped: the container image (../Dockerfile, scripts/image.sh), the compose
// topology (compose.yaml), the release archives (scripts/dist.sh) and
// `go install` of every program under apps/.
//
// The image test needs podman or docker; it skips, saying so, where neither
// is found, unless NSQ_REQUIRE_IMAGE=1 (set by .ci/run) makes that a
// failure. Where the runtime cannot start containers (some sandboxes refuse
// the rlimits a runtime sets) only the part that runs them is skipped.
package deploy
