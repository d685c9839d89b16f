// Package netlab builds a test network out of Linux network namespaces
// (root only) for partition tests: one namespace per member, each with an
// eth0 at 10.251.0.<id>/24, linked by a veth pair to a bridge in a
// "switch" namespace; AddNetwork adds further networks (eth<k> at
// 10.251.<k>.<id>, a bridge of their own) so that, say, replication and
// client traffic can be cut apart. Cutting a member's switch-side links
// (Cut, CutNet) isolates it; Heal and HealNet restore them. Addresses exist
// only inside the namespaces the lab creates, which all carry the prefix
// nsqreplt-<pid>- and are deleted at the test's cleanup, after killing
// what still runs in them; namespaces of earlier runs whose process is gone
// are cleaned the same way first.
//
// Daemons run inside the namespaces through Command. A test that needs its
// own clients inside (go-nsq dials from goroutines of its own, and a Go
// socket belongs to the namespace of the thread that made it) re-runs
// itself there with Reexec and finds the Lab again with Inside. Used by
// internal/replication's TestPartition and integration/replication's
// TestReplicatedPartition.
//
// It holds no locks of its own: a Lab is used from the test goroutine
// (Cut and Heal may be called from any goroutine; they only run ip).
package netlab
