package nsqd

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dropin/nsq/internal/promtext"
)

// ReplicationStats is the "replication" section of /stats (CONTRACTS C),
// absent when replication is off.
type ReplicationStats struct {
	NodeID uint64                   `json:"node_id"`
	Factor int                      `json:"factor"`
	Groups []*ReplicationGroupStats `json:"groups"`
}

// ReplicationGroupStats is one group this node belongs to.
type ReplicationGroupStats struct {
	ID           uint64               `json:"id"`
	Leader       uint64               `json:"leader"` // 0: none known
	Term         uint64               `json:"term"`
	CommitIndex  uint64               `json:"commit_index"`
	AppliedIndex uint64               `json:"applied_index"`
	HasQuorum    bool                 `json:"has_quorum"`
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

// ReplicationMember is one member of a group as this node knows it: the
// leader knows every member's match index; a follower knows its own, and
// reports lag -1 for the others.
type ReplicationMember struct {
	NodeID     uint64 `json:"node_id"`
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
		st := m.Node().Status()
		g := &ReplicationGroupStats{ID: m.Group(), Leader: st.Lead, Term: st.Term, CommitIndex: st.Commit, AppliedIndex: st.Applied,
			Snapshot: ReplicationSnapshot{Index: st.SnapshotIndex, RetainsFrom: st.SnapshotRetains, LogFirstIndex: st.FirstIndex,
				Taken: st.SnapshotsTaken, Deferred: st.SnapshotsDeferred, Installed: st.SnapshotsInstalled, SegmentsRemoved: st.SegmentsCompacted}}
		leading := st.Lead == rs.cfg.self && st.Progress != nil
		members := rs.cfg.members(m.Group())
		for _, id := range members {
			mem := &ReplicationMember{NodeID: id, Address: rs.cfg.addrs[id], Lag: -1}
			switch {
			case leading:
				pr := st.Progress[id]
				mem.MatchIndex, mem.Active = pr.Match, pr.Active || id == rs.cfg.self
				mem.Lag = int64(st.LastIndex) - int64(pr.Match)
			case id == rs.cfg.self:
				mem.MatchIndex, mem.Active = st.LastIndex, st.Err == nil
				mem.Lag = max(0, int64(st.Commit)-int64(st.LastIndex))
			case id == st.Lead:
				mem.Active = true
			}
			g.Members = append(g.Members, mem)
		}
		g.HasQuorum = groupHasQuorum(st)
		out.Groups = append(out.Groups, g)
	}
	return out
}

// replicationText is the section of the text /stats.
func replicationText(r *ReplicationStats) string {
	if r == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nReplication: node %d, factor %d\n", r.NodeID, r.Factor)
	for _, g := range r.Groups {
		fmt.Fprintf(&b, "   [group %d] leader: %d term: %d commit: %d applied: %d quorum: %t\n",
			g.ID, g.Leader, g.Term, g.CommitIndex, g.AppliedIndex, g.HasQuorum)
		sn := g.Snapshot
		fmt.Fprintf(&b, "      snapshot: %d retains from: %d log from: %d taken: %d deferred: %d installed: %d segments removed: %d\n",
			sn.Index, sn.RetainsFrom, sn.LogFirstIndex, sn.Taken, sn.Deferred, sn.Installed, sn.SegmentsRemoved)
		for _, m := range g.Members {
			fmt.Fprintf(&b, "      [node %d %s] match: %d lag: %d active: %t\n", m.NodeID, m.Address, m.MatchIndex, m.Lag, m.Active)
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
