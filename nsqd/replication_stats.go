package nsqd

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/dropin/nsq/internal/promtext"
	"github.com/dropin/nsq/internal/replgroup"
	"github.com/dropin/nsq/internal/replication"
)

// ReplicationStats is the "replication" section of /stats (CONTRACTS C),
// absent when replication is off.
type ReplicationStats struct {
	NodeID uint64                   `json:"node_id"`
	Factor int                      `json:"factor"`
	Groups []*ReplicationGroupStats `json:"groups"`
}

// ReplicationGroupStats is one group this node belongs to. Member ids are
// replication.MemberID(node, generation): a node that lost its state for
// the group rejoins as the next generation (docs/replication.md).
type ReplicationGroupStats struct {
	ID           uint64               `json:"id"`
	Leader       uint64               `json:"leader"` // the leader's node id; 0: none known
	LeaderMember uint64               `json:"leader_member"`
	Term         uint64               `json:"term"`
	CommitIndex  uint64               `json:"commit_index"`
	AppliedIndex uint64               `json:"applied_index"`
	HasQuorum    bool                 `json:"has_quorum"`
	MemberID     uint64               `json:"member_id"` // this node's member id in the group
	Generation   uint32               `json:"generation"`
	Role         string               `json:"role"`    // this node's: voter, learner, joining (not added yet), removed
	Retired      bool                 `json:"retired"` // the group's node left the peer list: served until drained
	Members      []*ReplicationMember `json:"members"`
	Snapshot     ReplicationSnapshot  `json:"snapshot"`
}

// ReplicationSnapshot is a group's snapshot and compaction state on this
// node (replgroup): the latest snapshot's index, the first log entry it
// carries along for unfinished messages (index+1: none), the log's first
// index, and counters since start: snapshots taken here, deferred (too
// large with the entries they carry; the log is not compacted meanwhile),
// installed from the leader (a catch-up past the leader's compacted log),
// and log segments removed.
type ReplicationSnapshot struct {
	Index           uint64 `json:"index"`
	RetainsFrom     uint64 `json:"retains_from"`
	LogFirstIndex   uint64 `json:"log_first_index"`
	Taken           uint64 `json:"taken"`
	Deferred        uint64 `json:"deferred"`
	Installed       uint64 `json:"installed"`
	SegmentsRemoved uint64 `json:"segments_removed"`
}

// ReplicationMember is one member of a group's applied configuration as
// this node knows it: the leader knows every member's match index; a
// follower knows its own, and reports lag -1 for the others.
type ReplicationMember struct {
	NodeID     uint64 `json:"node_id"`
	MemberID   uint64 `json:"member_id"`
	Generation uint32 `json:"generation"`
	Role       string `json:"role"` // voter or learner
	Address    string `json:"address"`
	MatchIndex uint64 `json:"match_index"`
	Lag        int64  `json:"lag"`
	Active     bool   `json:"active"`
}

// replicationStats returns the section, nil without replication.
func (n *NSQD) replicationStats() *ReplicationStats {
	if n.lm == nil || n.lm.repl == nil {
		return nil
	}
	rs := n.lm.repl
	out := &ReplicationStats{NodeID: rs.cfg.self, Factor: rs.cfg.factor, Groups: []*ReplicationGroupStats{}}
	for _, m := range rs.members {
		out.Groups = append(out.Groups, rs.groupStats(m))
	}
	return out
}

func (rs *replSet) groupStats(m *replgroup.Member) *ReplicationGroupStats {
	st := m.Node().Status()
	self := m.ID()
	g := &ReplicationGroupStats{ID: m.Group(), Leader: replication.NodeOf(st.Lead), LeaderMember: st.Lead, Term: st.Term,
		CommitIndex: st.Commit, AppliedIndex: st.Applied, MemberID: self, Generation: gen(self),
		Retired: !slices.Contains(rs.cfg.ids, m.Group()),
		Snapshot: ReplicationSnapshot{Index: st.SnapshotIndex, RetainsFrom: st.SnapshotRetains, LogFirstIndex: st.FirstIndex,
			Taken: st.SnapshotsTaken, Deferred: st.SnapshotsDeferred, Installed: st.SnapshotsInstalled, SegmentsRemoved: st.SegmentsCompacted}}
	switch {
	case slices.Contains(st.Voters, self):
		g.Role = "voter"
	case slices.Contains(st.Learners, self):
		g.Role = "learner"
	case len(st.Voters) == 0:
		g.Role = "joining"
	default:
		g.Role = "removed"
	}
	leading := st.Lead == self && st.Progress != nil
	add := func(id uint64, role string) {
		mem := &ReplicationMember{NodeID: replication.NodeOf(id), MemberID: id, Generation: gen(id), Role: role,
			Address: rs.cfg.addrs[replication.NodeOf(id)], Lag: -1}
		switch {
		case leading:
			pr := st.Progress[id]
			mem.MatchIndex, mem.Active = pr.Match, pr.Active || id == self
			mem.Lag = int64(st.LastIndex) - int64(pr.Match)
		case id == self:
			mem.MatchIndex, mem.Active = st.LastIndex, st.Err == nil
			mem.Lag = max(0, int64(st.Commit)-int64(st.LastIndex))
		case id == st.Lead:
			mem.Active = true
		}
		g.Members = append(g.Members, mem)
	}
	for _, id := range st.Voters {
		add(id, "voter")
	}
	for _, id := range st.Learners {
		add(id, "learner")
	}
	g.HasQuorum = groupHasQuorum(st)
	return g
}

// replicationText is the section of the text /stats.
func replicationText(r *ReplicationStats) string {
	if r == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nReplication: node %d, factor %d\n", r.NodeID, r.Factor)
	for _, g := range r.Groups {
		fmt.Fprintf(&b, "   [group %d] leader: %d term: %d commit: %d applied: %d quorum: %t member: %d (generation %d, %s)\n",
			g.ID, g.Leader, g.Term, g.CommitIndex, g.AppliedIndex, g.HasQuorum, g.MemberID, g.Generation, g.Role)
		sn := g.Snapshot
		fmt.Fprintf(&b, "      snapshot: %d retains from: %d log from: %d taken: %d deferred: %d installed: %d segments removed: %d\n",
			sn.Index, sn.RetainsFrom, sn.LogFirstIndex, sn.Taken, sn.Deferred, sn.Installed, sn.SegmentsRemoved)
		for _, m := range g.Members {
			fmt.Fprintf(&b, "      [node %d %s] member: %d generation: %d %s match: %d lag: %d active: %t\n",
				m.NodeID, m.Address, m.MemberID, m.Generation, m.Role, m.MatchIndex, m.Lag, m.Active)
		}
	}
	return b.String()
}

var (
	mReplLeader  = metric{"nsq_replication_group_leader", "Node id of the group's leader as this node knows it, 0 when none.", promtext.Gauge}
	mReplLeading = metric{"nsq_replication_group_is_leader", "1 when this node leads the group.", promtext.Gauge}
	mReplTerm    = metric{"nsq_replication_group_term", "The group's raft term here.", promtext.Gauge}
	mReplCommit  = metric{"nsq_replication_group_commit_index", "Highest log index known committed (on a majority).", promtext.Gauge}
	mReplApplied = metric{"nsq_replication_group_applied_index", "Highest log index applied to this node's topics and channels.", promtext.Gauge}
	mReplQuorum  = metric{"nsq_replication_group_has_quorum", "1 when the group has a leader with a quorum.", promtext.Gauge}
	mReplLag     = metric{"nsq_replication_member_lag", "Entries the member is behind (leader's view), -1 when unknown.", promtext.Gauge}
	mReplActive  = metric{"nsq_replication_member_active", "1 when the member was heard from recently (leader's view).", promtext.Gauge}
	mReplSnap    = metric{"nsq_replication_group_snapshot_index", "Index of the group's latest snapshot here.", promtext.Gauge}
	mReplFirst   = metric{"nsq_replication_group_log_first_index", "First index the group's log still holds here (compaction removed those below).", promtext.Gauge}
	mReplSnapDef = metric{"nsq_replication_group_snapshots_deferred_total", "Snapshots not taken because they would exceed the frame limit with the entries unfinished messages need.", promtext.Counter}
	mReplSnapIns = metric{"nsq_replication_group_snapshots_installed_total", "Snapshots installed from the group's leader.", promtext.Counter}
)

// collectReplMetrics adds the replication section for /metrics (nothing
// when replication is off).
func (n *NSQD) collectReplMetrics(w *promtext.Writer) {
	r := n.replicationStats()
	if r == nil {
		return
	}
	add := func(m metric, v float64, labels ...promtext.Label) { w.Add(m.name, m.help, m.typ, v, labels...) }
	for _, g := range r.Groups {
		gl := promtext.Label{Name: "group", Value: strconv.FormatUint(g.ID, 10)}
		add(mReplLeader, float64(g.Leader), gl)
		add(mReplLeading, boolValue(g.Leader == r.NodeID), gl)
		add(mReplTerm, float64(g.Term), gl)
		add(mReplCommit, float64(g.CommitIndex), gl)
		add(mReplApplied, float64(g.AppliedIndex), gl)
		add(mReplQuorum, boolValue(g.HasQuorum), gl)
		add(mReplSnap, float64(g.Snapshot.Index), gl)
		add(mReplFirst, float64(g.Snapshot.LogFirstIndex), gl)
		add(mReplSnapDef, float64(g.Snapshot.Deferred), gl)
		add(mReplSnapIns, float64(g.Snapshot.Installed), gl)
		for _, m := range g.Members {
			ml := promtext.Label{Name: "member", Value: strconv.FormatUint(m.NodeID, 10)}
			add(mReplLag, float64(m.Lag), gl, ml)
			add(mReplActive, boolValue(m.Active), gl, ml)
		}
	}
}
