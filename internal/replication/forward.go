package replication

import (
	"bytes"
	"hash/maphash"
	"slices"
	"time"
)

// Forwarding (Options.ForwardProposals): a follower that knows its leader
// hands a proposal to raft, which sends it to the leader (MsgProp). The
// follower never learns the entry's index, so it matches the proposal by
// content when an applied entry carries the same kind and data. Payloads
// that must be told apart need something unique in them (brokerlog's
// publishes carry message IDs; topic and channel changes are idempotent, so
// matching an equal one is right). A forwarded proposal that is lost on the
// way (a leader change) fails with ErrTimeout: unknown, never OK.

var fwdSeed = maphash.MakeSeed()

type fwdKey uint64

func fwdHash(data []byte) fwdKey { return fwdKey(maphash.Bytes(fwdSeed, data)) }

// proposeForward forwards ps to leader lead; called by the loop on a
// follower. data is the entry data (kind byte + payload).
func (n *Node) proposeForward(ps []*Proposal, lead uint64) {
	for _, p := range ps {
		data := make([]byte, 0, 1+len(p.data))
		data = append(append(data, byte(p.kind)), p.data...)
		if err := n.rn.Propose(data); err != nil {
			p.finish(0, &NotLeaderError{Leader: lead})
			continue
		}
		if n.forwarded == nil {
			n.forwarded = map[fwdKey][]*Proposal{}
		}
		p.fwdData = data
		k := fwdHash(data)
		n.forwarded[k] = append(n.forwarded[k], p)
	}
}

// matchForwarded completes the oldest forwarded proposal equal to the
// applied entry data, if any.
func (n *Node) matchForwarded(idx uint64, data []byte) {
	if len(n.forwarded) == 0 || len(data) == 0 {
		return
	}
	k := fwdHash(data)
	list := n.forwarded[k]
	for i, p := range list {
		if bytes.Equal(p.fwdData, data) {
			list = append(list[:i], list[i+1:]...)
			if len(list) == 0 {
				delete(n.forwarded, k)
			} else {
				n.forwarded[k] = list
			}
			p.finish(idx, nil)
			return
		}
	}
}

// expireForwarded fails forwarded proposals past their deadline.
func (n *Node) expireForwarded(now time.Time) {
	for k, list := range n.forwarded {
		kept := list[:0]
		for _, p := range list {
			if now.After(p.deadline) {
				p.finish(0, ErrTimeout)
				continue
			}
			kept = append(kept, p)
		}
		if len(kept) == 0 {
			delete(n.forwarded, k)
		} else {
			n.forwarded[k] = kept
		}
	}
}

// failForwarded fails every forwarded proposal (the node stops).
func (n *Node) failForwarded(err error) {
	for k, list := range n.forwarded {
		for _, p := range list {
			p.finish(0, err)
		}
		delete(n.forwarded, k)
	}
}

// reproposeForwarded runs on a node that just became leader while some of
// its forwarded proposals are open. The new leader's log is the group's
// log from now on: a forwarded entry that is in it (after the applied
// index) will commit and be matched as usual; one that is not can never
// commit anywhere (the old leader dropped it, e.g. during a leadership
// transfer to this node, or it sat only in logs this leader overwrites),
// so proposing it again here cannot make a duplicate.
func (n *Node) reproposeForwarded() {
	n.reforward = false
	inLog := map[fwdKey][][]byte{}
	last, _ := n.opts.Storage.LastIndex()
	for lo := n.applied + 1; lo <= last; {
		ents, err := n.opts.Storage.Entries(lo, last+1, 8<<20)
		if err != nil || len(ents) == 0 {
			return // keep waiting: they time out as before
		}
		for _, e := range ents {
			if d := e.GetData(); len(d) > 0 {
				k := fwdHash(d)
				inLog[k] = append(inLog[k], d)
			}
		}
		lo = ents[len(ents)-1].GetIndex() + 1
	}
	var again []*Proposal
	for k, list := range n.forwarded {
		kept := list[:0]
		for _, p := range list {
			found := false
			for i, d := range inLog[k] {
				if bytes.Equal(d, p.fwdData) {
					inLog[k] = append(inLog[k][:i], inLog[k][i+1:]...) // one log entry answers one proposal
					found = true
					break
				}
			}
			if found {
				kept = append(kept, p)
			} else {
				p.fwdData = nil
				again = append(again, p)
			}
		}
		if len(kept) == 0 {
			delete(n.forwarded, k)
		} else {
			n.forwarded[k] = kept
		}
	}
	if len(again) > 0 {
		slices.SortFunc(again, func(a, b *Proposal) int { return a.deadline.Compare(b.deadline) })
		n.opts.Logf("replication: group %d node %d: leading with %d forwarded proposals not in the log, proposing them again", n.opts.Group, n.opts.ID, len(again))
		n.propose(again)
	}
}
