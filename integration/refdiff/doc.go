// Package refdiff holds differential tests: the same requests are sent to
// our daemons and to the NSQ v1.3.0 reference binaries, and the replies are
// compared field by field (HTTP status, headers, JSON key sets, null versus
// empty, scalar values, text bodies, TCP response frames).
//
// The reference binaries are looked up in $NSQ_REF_DIR, else in
// ../shared/ref beside the repository. Without them every test here skips,
// saying so; the permanent, non-differential pins of the same facts live in
// the daemons' own packages.
//
// Differences we keep on purpose are listed in allowedDiffs with the reason
// (each is also in docs/differences.md); any other difference fails.
//
// The package has no non-test code.
package refdiff
