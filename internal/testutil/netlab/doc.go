// Package netlab builds a test network out of Linux network namespaces
// (root only) for partition tests: one namespace per member, each with an
// eth0 at 10.251.0.<id>/24, linked by a veth pair to a bridge in a
// "switch" namespace. Cutting a member's switch-side link (Cut) isolates
// it; Heal restores it. Addresses exist only inside the namespaces the lab
// creates, which all carry the prefix nsqreplt-<pid>- and are deleted at
// the test's cleanup; namespaces of earlier runs whose process is gone are
// deleted first. Used by internal/replication's TestPartition; nsqd-level
// tests run their daemons inside the namespaces with Command.
//
// No locks: a Lab is used from the test goroutine (Cut and Heal may be
// called from any goroutine; they only run ip).
//
// It holds no locks of its own.
package netlab
