package clusterinfo

// Replication is the "replication" section of our nsqd's /stats (absent
// when replication is off): the node's id, the replication factor and
// every consensus group the node is a member of, as the node sees it.
type Replication struct {
	NodeID uint64              `json:"node_id"`
	Factor int                 `json:"factor"`
	Groups []*ReplicationGroup `json:"groups"`
}

// ReplicationGroup is one consensus group. Leader is 0 when the node
// knows of no leader. HasQuorum is the node's view of whether a majority
// of the members is active, so whether the group can commit (publish).
type ReplicationGroup struct {
	ID           uint64               `json:"id"`
	Leader       uint64               `json:"leader"`
	Term         uint64               `json:"term"`
	CommitIndex  uint64               `json:"commit_index"`
	AppliedIndex uint64               `json:"applied_index"`
	HasQuorum    bool                 `json:"has_quorum"`
	Members      []*ReplicationMember `json:"members"`
}

// ReplicationMember is one member of a group. The leader knows every
// follower's MatchIndex; a follower reports what it knows, and Lag -1
// when it does not know.
type ReplicationMember struct {
	NodeID     uint64 `json:"node_id"`
	Address    string `json:"address"`
	MatchIndex uint64 `json:"match_index"`
	Lag        int64  `json:"lag"`
	Active     bool   `json:"active"`
}

// WithoutQuorum returns the ids of the groups that have no quorum, in
// the order listed (nil for a nil section).
func (r *Replication) WithoutQuorum() []uint64 {
	if r == nil {
		return nil
	}
	var out []uint64
	for _, g := range r.Groups {
		if g != nil && !g.HasQuorum {
			out = append(out, g.ID)
		}
	}
	return out
}
