package replication

import (
	"fmt"
	"time"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
)

// maxBatch bounds how many messages or proposals one loop turn takes, so
// ticks are never starved.
const maxBatch = 512

func (n *Node) run() {
	defer n.shutdown()
	// raft panics on a storage error outside its contract (a failed disk
	// read, a crashed disk): stop this node instead of the process.
	defer func() {
		if r := recover(); r != nil {
			n.fail(fmt.Errorf("replication: raft stopped: %v", r))
		}
	}()
	tick := time.NewTicker(n.opts.TickInterval)
	defer tick.Stop()
	for n.Err() == nil {
		select {
		case <-n.stopc:
			return
		case <-tick.C:
			n.rn.Tick()
			n.expire(time.Now())
			n.expireForwarded(time.Now())
		case m := <-n.inbox:
			n.step(m)
			for i := 0; i < maxBatch; i++ {
				select {
				case m = <-n.inbox:
					n.step(m)
					continue
				default:
				}
				break
			}
		case p := <-n.propc:
			ps := []*Proposal{p}
			for len(ps) < maxBatch {
				select {
				case p = <-n.propc:
					ps = append(ps, p)
					continue
				default:
				}
				break
			}
			n.propose(ps)
		case c := <-n.statusc:
			c <- n.statusLocal()
		case f := <-n.ctlc:
			f()
		case r := <-n.reportc:
			n.report(r)
		}
		for i := 0; i < maxBatch && n.Err() == nil && n.rn.HasReady(); i++ {
			n.handleReady(n.rn.Ready())
		}
		if n.reforward && n.Err() == nil {
			n.reproposeForwarded()
		}
		if n.Err() == nil {
			n.maybeSnapshot()
		}
	}
}

func (n *Node) step(m *pb.Message) {
	// Local message types must not come from the network.
	if raft.IsLocalMsg(m.GetType()) {
		return
	}
	// A message for another member id reached this node's address (the
	// previous incarnation of a node whose disk was replaced): not ours.
	if m.GetTo() != n.opts.ID {
		return
	}
	_ = n.rn.Step(m) // errors: a message for an unknown peer; ignorable
}

// propose makes the proposals in order and reads their indexes off the
// Ready that follows: the entries appended by this turn's Propose calls are
// the last ones of its Entries, since nothing else runs in between.
func (n *Node) propose(ps []*Proposal) {
	st := n.rn.BasicStatus()
	if st.RaftState != raft.StateLeader && n.opts.ForwardProposals && st.Lead != raft.None {
		n.proposeForward(ps, st.Lead)
		return
	}
	if st.RaftState != raft.StateLeader {
		for _, p := range ps {
			p.finish(0, &NotLeaderError{Leader: st.Lead})
		}
		return
	}
	var accepted []*Proposal
	for _, p := range ps {
		var err error
		if p.cc != nil {
			err = n.rn.ProposeConfChange(p.cc)
		} else {
			data := make([]byte, 0, 1+len(p.data))
			data = append(append(data, byte(p.kind)), p.data...)
			err = n.rn.Propose(data)
		}
		if err != nil {
			p.finish(0, fmt.Errorf("%w: %v", ErrDropped, err))
			continue
		}
		p.term = st.HardState.GetTerm()
		accepted = append(accepted, p)
	}
	if len(accepted) == 0 {
		return
	}
	rd := n.rn.Ready()
	if len(rd.Entries) < len(accepted) {
		// Cannot happen with raft's synchronous storage mode; fail
		// loudly rather than guess indexes.
		n.fail(fmt.Errorf("replication: %d proposals but %d new entries", len(accepted), len(rd.Entries)))
		for _, p := range accepted {
			p.finish(0, ErrStopped)
		}
		return
	}
	tail := rd.Entries[len(rd.Entries)-len(accepted):]
	for i, p := range accepted {
		n.pending[tail[i].GetIndex()] = p
	}
	n.handleReady(rd)
}

// handleReady persists, sends, applies and advances one Ready.
func (n *Node) handleReady(rd raft.Ready) {
	if rd.SoftState != nil {
		n.lead.Store(rd.SoftState.Lead)
		leading := rd.SoftState.RaftState == raft.StateLeader
		if leading && !n.leading.Load() && len(n.forwarded) > 0 {
			n.reforward = true // after this Ready: reforward.go
		}
		n.leading.Store(leading)
	}
	// The snapshot first: the Ready's entries follow it.
	if !raft.IsEmptySnap(rd.Snapshot) {
		if err := n.installSnapshot(rd.Snapshot); err != nil {
			n.fail(err)
			return
		}
	}
	s := n.opts.Storage
	// Group commit: one write and one sync for everything this Ready
	// appends, before any message that could acknowledge it is sent.
	if err := s.Append(rd.Entries); err != nil {
		n.fail(err)
		return
	}
	if len(rd.Entries) > 0 {
		if err := s.Sync(); err != nil {
			n.fail(err)
			return
		}
	}
	if rd.HardState != nil && !raft.IsEmptyHardState(rd.HardState) {
		if err := s.SetHardState(rd.HardState); err != nil {
			n.fail(err)
			return
		}
	}
	n.send(rd.Messages)
	for _, e := range rd.CommittedEntries {
		if err := n.apply(e); err != nil {
			n.fail(err)
			return
		}
	}
	n.rn.Advance(rd)
}

func (n *Node) apply(e *pb.Entry) error {
	idx := e.GetIndex()
	switch e.GetType() {
	case pb.EntryConfChange:
		var cc pb.ConfChange
		if err := unmarshalConf(e.GetData(), &cc); err != nil {
			return err
		}
		if err := n.opts.Storage.SetConfState(n.rn.ApplyConfChange(&cc)); err != nil {
			return err
		}
	case pb.EntryConfChangeV2:
		var cc pb.ConfChangeV2
		if err := unmarshalConf(e.GetData(), &cc); err != nil {
			return err
		}
		if err := n.opts.Storage.SetConfState(n.rn.ApplyConfChange(&cc)); err != nil {
			return err
		}
	}
	rec := entryToRecord(e)
	if err := n.opts.Apply(rec); err != nil {
		return fmt.Errorf("replication: apply entry %d: %w", idx, err)
	}
	n.applied = idx
	if e.GetType() == pb.EntryNormal {
		n.matchForwarded(idx, e.GetData())
	}
	if isConf := e.GetType() != pb.EntryNormal; isConf && n.opts.StateMachine != nil {
		// A member added now must catch up through a snapshot that lists
		// it (raft ignores one that does not, and the log does not hold
		// the group's first configuration): take one at this entry.
		if _, err := n.snapshotLocal(); err != nil {
			n.opts.Logf("replication: group %d node %d: snapshot after membership change %d: %v", n.opts.Group, n.opts.ID, idx, err)
		}
	}
	if p := n.pending[idx]; p != nil {
		delete(n.pending, idx)
		switch {
		case e.GetTerm() != p.term:
			p.finish(0, ErrDropped)
		case p.cc != nil && e.GetType() != pb.EntryConfChangeV2:
			// raft turned it into an empty entry: a change was pending.
			p.finish(0, ErrConfChangePending)
		default:
			p.finish(idx, nil)
		}
	}
	return nil
}

// expire fails proposals past their deadline.
func (n *Node) expire(now time.Time) {
	for idx, p := range n.pending {
		if now.After(p.deadline) {
			delete(n.pending, idx)
			p.finish(0, ErrTimeout)
		}
	}
}

// shutdown ends the loop: every open proposal fails.
func (n *Node) shutdown() {
	n.leading.Store(false)
	err := n.stoppedErr()
	for idx, p := range n.pending {
		delete(n.pending, idx)
		p.finish(0, err)
	}
	n.failForwarded(err)
	close(n.done)
	for {
		select {
		case p := <-n.propc:
			p.finish(0, err)
		default:
			return
		}
	}
}
