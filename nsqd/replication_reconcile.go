package nsqd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/replgroup"
	"github.com/dropin/nsq/internal/replication"
)

// The leader of each group moves the group's configuration, one raft
// conf change at a time, toward its target: for a group of the peer list,
// the current incarnation of every node of its ring (the member id each
// node announces in its hellos); for a retired group (its node left the
// list), its members that are still in the list. A new incarnation (a
// replaced disk) or a node new to the group is added as a learner; once
// its match index reaches the commit index seen when it was added, the
// member it replaces (an older incarnation of the same node, else a node
// that left the ring) is removed, then the learner is promoted. Members of
// nodes outside the target are removed last; a leader that must go hands
// its leadership to a member that stays first.
//
// Nothing changes while a node concerned (of the target or a current
// member, still in the list) that is up (sent a hello lately) announces
// another peer list: during a rolling restart with a new list, nodes still
// on the old list would undo what the others did. A node that is down is
// not waited for (a rejoin must not wait for every member); when it comes
// back with another list, its own hellos stop the changes.

// replReconcileInterval spaces reconciliation rounds.
const replReconcileInterval = time.Second

// replReconcileState is the reconcile loop's memory (owned by it).
type replReconcileState struct {
	targets map[uint64]uint64 // learner member id → commit index to reach
	lastLog map[uint64]string // group → last reason logged for waiting
}

// memberChange is one planned conf change.
type memberChange struct {
	op string // "add-learner", "promote", "remove", "transfer", "" for none
	id uint64
}

// planMembership picks the next change for a group with configuration
// voters/learners led by member self, whose target is the nodes target
// with incarnations inc (node → member id it runs, where known).
// caughtUp tells whether a learner has caught up.
func planMembership(self uint64, target []uint64, inc map[uint64]uint64, voters, learners []uint64, caughtUp func(uint64) bool) memberChange {
	inTarget := func(member uint64) bool { return slices.Contains(target, replication.NodeOf(member)) }
	superseded := func(member uint64) bool {
		i, ok := inc[replication.NodeOf(member)]
		return ok && i > member
	}
	for _, l := range learners {
		if !inTarget(l) || superseded(l) {
			return memberChange{"remove", l}
		}
	}
	for _, node := range target {
		i, ok := inc[node]
		if !ok || slices.Contains(voters, i) || slices.Contains(learners, i) {
			continue
		}
		newer := false
		for _, m := range slices.Concat(voters, learners) {
			if replication.NodeOf(m) == node && m > i {
				newer = true // the node announces an older id than the group has: never go back
			}
		}
		if !newer {
			return memberChange{"add-learner", i}
		}
	}
	for _, l := range learners {
		if !caughtUp(l) {
			continue
		}
		for _, v := range voters {
			if replication.NodeOf(v) == replication.NodeOf(l) && v != l {
				return memberChange{"remove", v}
			}
		}
		for _, v := range voters {
			if !inTarget(v) && v != self {
				return memberChange{"remove", v}
			}
		}
		return memberChange{"promote", l}
	}
	if len(learners) > 0 {
		return memberChange{} // waiting for a learner to catch up
	}
	for _, v := range voters {
		if inTarget(v) || len(voters) < 2 {
			continue
		}
		if v != self {
			return memberChange{"remove", v}
		}
		for _, w := range voters {
			if w != self && inTarget(w) {
				return memberChange{"transfer", w}
			}
		}
	}
	return memberChange{}
}

// replReconcile runs the reconcile loop (and the hellos) until exit.
func (n *NSQD) replReconcile() {
	rs := n.lm.repl
	rs.rec = replReconcileState{targets: map[uint64]uint64{}, lastLog: map[uint64]string{}}
	tick := time.NewTicker(replReconcileInterval)
	defer tick.Stop()
	for {
		rs.sendHellos()
		for _, m := range rs.members {
			if m.IsLeader() {
				rs.reconcileGroup(m)
			}
		}
		select {
		case <-tick.C:
		case <-n.exitCh:
			return
		}
	}
}

// waitLog logs why group g waits, once per reason.
func (rs *replSet) waitLog(g uint64, why string) {
	if rs.rec.lastLog[g] != why {
		rs.rec.lastLog[g] = why
		if why != "" {
			rs.log.Logf(lg.INFO, "REPLICATION(group %d): membership: %s", g, why)
		}
	}
}

// reconcileGroup makes at most one membership change in a group this node
// leads.
func (rs *replSet) reconcileGroup(m *replgroup.Member) {
	g := m.Group()
	st := m.Node().Status()
	if st.State != "StateLeader" || st.Err != nil {
		return
	}
	var target []uint64
	if slices.Contains(rs.cfg.ids, g) {
		target = rs.cfg.members(g)
	} else {
		for _, v := range st.Voters {
			if _, listed := rs.cfg.addrs[replication.NodeOf(v)]; listed && !slices.Contains(target, replication.NodeOf(v)) {
				target = append(target, replication.NodeOf(v))
			}
		}
	}
	inc := map[uint64]uint64{rs.cfg.self: m.ID()}
	concerned := slices.Clone(target)
	for _, id := range slices.Concat(st.Voters, st.Learners) {
		concerned = append(concerned, replication.NodeOf(id))
	}
	key := strconv.FormatUint(g, 10)
	for _, node := range concerned {
		if _, listed := rs.cfg.addrs[node]; !listed || node == rs.cfg.self {
			continue
		}
		h, ok := rs.helloOf(node)
		if !ok || time.Since(h.at) > replHelloFresh {
			continue // down: it learns the configuration when it is back (and is gated then)
		}
		if h.peers != rs.cfg.canonical() {
			rs.waitLog(g, "node "+strconv.FormatUint(node, 10)+" has another --replication-peers ("+h.peers+"); waiting until every node runs the same list")
			return
		}
		if id, ok := h.members[key]; ok {
			inc[node] = id
		}
	}
	for _, l := range st.Learners {
		if _, ok := rs.rec.targets[l]; !ok {
			rs.rec.targets[l] = st.Commit
		}
	}
	caughtUp := func(id uint64) bool {
		pr, ok := st.Progress[id]
		return ok && pr.Match >= rs.rec.targets[id]
	}
	ch := planMembership(m.ID(), target, inc, st.Voters, st.Learners, caughtUp)
	if ch.op == "" {
		rs.waitLog(g, "")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	node := m.Node()
	var err error
	switch ch.op {
	case "add-learner":
		err = node.AddLearner(ctx, ch.id)
	case "promote":
		err = node.PromoteMember(ctx, ch.id)
		delete(rs.rec.targets, ch.id)
	case "remove":
		err = node.RemoveMember(ctx, ch.id)
		delete(rs.rec.targets, ch.id)
	case "transfer":
		err = node.TransferLeader(ctx, ch.id)
	}
	if err != nil {
		why := fmt.Sprintf("%s %d: %s", ch.op, ch.id, err)
		if errors.Is(err, replication.ErrNoStateMachine) {
			why += " (a new member starts from a snapshot, which this build cannot take)"
		}
		rs.waitLog(g, why) // once per reason: the loop retries every second
		return
	}
	rs.rec.lastLog[g] = ""
	rs.log.Logf(lg.INFO, "REPLICATION(group %d): membership: %s %d done (voters were %v, learners %v)", g, ch.op, ch.id, st.Voters, st.Learners)
}
