package nsqd

import (
	"fmt"

	"github.com/dropin/nsq/internal/replication"
)

// groupHasQuorum tells whether group status st shows a leader with a
// quorum. Raft runs with CheckQuorum, so a leader that has not heard from
// a majority within an election timeout steps down, and a follower that
// has not heard from its leader as long becomes a (pre-)candidate without
// one: a known leader is the quorum signal, at most an election timeout
// late. (Counting the leader's recently active followers instead flickers:
// raft clears those marks at every quorum check, until the next
// heartbeat's answers.)
func groupHasQuorum(st replication.Status) bool {
	return st.Lead != 0 && st.Err == nil
}

// quorumHealth returns "" when this node can serve, else what /ping
// reports: its own group (where every publish to it goes) has no leader
// with a quorum, or one of its groups stopped on an error. A group it
// leads has a quorum by the rule above, so the own group is the one that
// can lack one while this node runs.
func (rs *replSet) quorumHealth() string {
	for i, m := range rs.members {
		st := m.Node().Status()
		switch {
		case st.Err != nil:
			return fmt.Sprintf("replication group %d stopped: %v", m.Group(), st.Err)
		case i == 0 && !groupHasQuorum(st):
			return fmt.Sprintf("replication group %d has no quorum (no leader among members %v)", m.Group(), rs.cfg.members(m.Group()))
		}
	}
	return ""
}
