package nsqd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/replgroup"
	"github.com/dropin/nsq/internal/replication"
)

// groupPlan is how this node opens one group.
type groupPlan struct {
	g, member uint64
	join      bool // Join storage: the group's leader adds this member
	retired   bool // not in the ring of the peer list: served until drained
	why       string
}

// replGroupsDir is where the groups' directories are.
func replGroupsDir(dataPath string) string { return filepath.Join(dataPath, "groups") }

func replGroupDir(dataPath string, g uint64) string {
	return filepath.Join(replGroupsDir(dataPath), strconv.FormatUint(g, 10))
}

// hasGroupState tells whether dir holds a group's raft state file.
func hasGroupState(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "raftstate"))
	return err == nil
}

// moveAside renames a group directory that must not be used any more (a
// removed member's, or one without its state file) out of the way, so an
// operator can still look at it.
func moveAside(dir, why string) error {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	to := fmt.Sprintf("%s.%s-%d", dir, why, time.Now().Unix())
	if err := os.Rename(dir, to); err != nil {
		return fmt.Errorf("move %s aside: %w", dir, err)
	}
	return syncDir(filepath.Dir(dir))
}

// openReplicated opens the transport and every group member of this node.
func openReplicated(n *NSQD, rc *replConfig) (_ *logMode, retErr error) {
	dataPath := n.opts.DataPath
	ident, hadIdent, err := loadReplIdentity(dataPath)
	if err != nil {
		return nil, err
	}
	if hadIdent && ident.NodeID != rc.self {
		return nil, fmt.Errorf("--data-path %s belongs to node %d (%s), not to --node-id %d", dataPath, ident.NodeID, replIdentityFile, rc.self)
	}
	_, statErr := os.Stat(replGroupsDir(dataPath))
	rs := &replSet{cfg: rc, byGroup: map[uint64]*replgroup.Member{}, log: n.log,
		proposed: map[string]time.Time{}, deleted: map[string]time.Time{},
		fresh: !hadIdent && errors.Is(statErr, os.ErrNotExist), heard: newReplHeard(),
		answers: map[uint64]map[uint64]replAnswer{}, hellos: map[uint64]replHello{}}
	ready := make(chan struct{})   // closed once byGroup is complete: the handler reads it after
	trReady := make(chan struct{}) // closed once rs.tr is set: control replies need it
	peers := map[uint64]string{}
	for id, a := range rc.addrs {
		if id != rc.self {
			peers[id] = a
		}
	}
	tr, err := replication.NewTCPTransport(replication.TCPOptions{
		Listen: rc.address, Peers: peers,
		Handler: func(group uint64, m *pb.Message) {
			isReady := false
			select {
			case <-ready:
				isReady = true
			default:
			}
			if group == replControlGroup {
				select {
				case <-trReady:
					rs.onControl(m, isReady)
				default: // the sender repeats
				}
				return
			}
			if !isReady {
				return // still starting: raft retries
			}
			if mem := rs.byGroup[group]; mem != nil && rs.heard.record(group, m.GetFrom()) {
				mem.Node().Receive(m)
			}
		},
		Logf: func(f string, args ...any) { n.log.Logf(lg.DEBUG, "REPLICATION: "+f, args...) },
	})
	if err != nil {
		return nil, fmt.Errorf("--replication-address %s: %w", rc.address, err)
	}
	rs.tr = tr
	close(trReady)
	defer func() {
		if retErr != nil {
			rs.close()
		}
	}()
	ident.NodeID = rc.self
	plans, err := rs.planGroups(dataPath, ident)
	if err != nil {
		return nil, err
	}
	for _, p := range plans {
		m, err := rs.openGroup(n, dataPath, ident, p)
		if err != nil {
			return nil, err
		}
		if m == nil {
			continue
		}
		rs.members = append(rs.members, m)
		rs.byGroup[p.g] = m
	}
	close(ready)
	n.log.Logf(lg.INFO, "REPLICATION: node %d, factor %d, groups %v, listening on %s", rc.self, rc.factor, rc.myGroups(), tr.Addr())
	return &logMode{eng: rs.members[0].Engine(), syncAck: true, log: n.log, repl: rs}, nil
}

// planGroups decides, for every group of the ring and every retired group
// this node has state for, which member id it opens it as.
func (rs *replSet) planGroups(dataPath string, ident *replIdentity) ([]groupPlan, error) {
	self := rs.cfg.self
	ring := rs.cfg.myGroups()
	var plans []groupPlan
	var ask []uint64
	for _, g := range ring {
		dir := replGroupDir(dataPath, g)
		if hasGroupState(dir) {
			member, ok := ident.member(g)
			if !ok {
				member = self // a data directory from before replication.json: generation 0
			}
			plans = append(plans, groupPlan{g: g, member: member, why: "restart with its state"})
			continue
		}
		if err := moveAside(dir, "nostate"); err != nil {
			return nil, err
		}
		if members := rs.cfg.members(g); len(members) == 1 {
			// No one else holds the group (--replication-factor 1): there
			// is nobody to rejoin and no vote to protect; it starts anew.
			why := "new group"
			if _, ok := ident.member(g); ok {
				why = "its state is gone and it has no other member: it starts anew, what it held is lost"
			}
			plans = append(plans, groupPlan{g: g, member: self, why: why})
			continue
		}
		if member, ok := ident.member(g); ok {
			plans = append(plans, groupPlan{g: g, member: replication.MemberID(self, gen(member)+1), join: true,
				why: fmt.Sprintf("its state for the group is gone (was member %d)", member)})
			continue
		}
		ask = append(ask, g)
	}
	if len(ask) > 0 {
		ds := rs.resolveMembers(ask)
		for _, g := range ask {
			d := ds[g]
			plans = append(plans, groupPlan{g: g, member: d.member, join: d.join, why: d.why})
		}
	}
	slices.SortStableFunc(plans, func(a, b groupPlan) int { // the own group first, then ring order
		return slices.Index(ring, a.g) - slices.Index(ring, b.g)
	})
	entries, err := os.ReadDir(replGroupsDir(dataPath))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	for _, e := range entries {
		g, perr := strconv.ParseUint(e.Name(), 10, 64)
		if perr != nil || g == 0 || slices.Contains(ring, g) || !hasGroupState(filepath.Join(replGroupsDir(dataPath), e.Name())) {
			continue
		}
		member, ok := ident.member(g)
		if !ok {
			member = self
		}
		plans = append(plans, groupPlan{g: g, member: member, retired: true, why: "not in this node's ring any more: served until its members remove it"})
	}
	return plans, nil
}

// openGroup opens one group as planned; nil (and no error) for a group
// this node was removed from and does not rejoin.
func (rs *replSet) openGroup(n *NSQD, dataPath string, ident *replIdentity, p groupPlan) (*replgroup.Member, error) {
	dir := replGroupDir(dataPath, p.g)
	// A later generation is recorded before its storage exists (a restart
	// must not take that storage for generation 0's); generation 0 after,
	// so a crash in between leaves no record of a member that never ran.
	record := func() error {
		if cur, ok := ident.member(p.g); !ok || cur != p.member {
			ident.set(p.g, p.member)
			return ident.save(dataPath)
		}
		return nil
	}
	if gen(p.member) > 0 {
		if err := record(); err != nil {
			return nil, err
		}
	}
	timeout := n.opts.ReplicationProposeTimeout
	if timeout <= 0 {
		timeout = defaultReplicationProposeTimeout
	}
	snapEvery := uint64(n.opts.ReplicationSnapshotEntries)
	if snapEvery == 0 {
		snapEvery = defaultReplicationSnapshotEntries
	}
	m, err := replgroup.Open(replgroup.Options{
		Dir: dir, ID: p.member, Group: p.g, Peers: rs.cfg.members(p.g), Join: p.join, Transport: rs.tr,
		ProposeTimeout:  timeout,
		SnapshotEntries: snapEvery, CatchUpEntries: min(replicationCatchUpEntries, snapEvery),
		SegmentBytes: n.opts.LogSegmentBytes,
		Logf: func(f string, args ...any) {
			n.log.Logf(lg.DEBUG, "REPLICATION(group %d): "+f, append([]any{p.g}, args...)...)
		},
	})
	if err != nil {
		return nil, err
	}
	_, voters, learners := m.Config()
	if len(voters)+len(learners) > 0 && !slices.Contains(voters, p.member) && !slices.Contains(learners, p.member) {
		// The group removed this member. Its state must not be used again
		// under this id: leave it, or join again as the next generation.
		if err := m.Shutdown(); err != nil {
			return nil, err
		}
		if err := moveAside(dir, "removed"); err != nil {
			return nil, err
		}
		if p.retired {
			n.log.Logf(lg.INFO, "REPLICATION(group %d): member %d was removed from the group; its directory is moved aside", p.g, p.member)
			return nil, nil
		}
		p = groupPlan{g: p.g, member: replication.MemberID(rs.cfg.self, gen(p.member)+1), join: true,
			why: fmt.Sprintf("member %d was removed from the group; joining again", p.member)}
		return rs.openGroup(n, dataPath, ident, p)
	}
	if err := rs.heard.open(p.g, dir); err != nil {
		m.Shutdown()
		return nil, err
	}
	if err := record(); err != nil {
		m.Shutdown()
		return nil, err
	}
	n.log.Logf(lg.INFO, "REPLICATION(group %d): member %d (node %d, generation %d)%s: %s", p.g, p.member,
		replication.NodeOf(p.member), gen(p.member), map[bool]string{true: ", joining", false: ""}[p.join], p.why)
	return m, nil
}
