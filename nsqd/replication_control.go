package nsqd

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"
)

// Control messages between nsqd nodes ride the replication transport as
// raft messages of group 0 (no group has id 0: groups are node ids) whose
// Context is a JSON replCtl:
//
//   - query: "what do you know about groups G?", answered with one
//     replAnswer per group (a starting node with no state of its own for
//     them asks; replication_member.go decides from the answers);
//   - answer: the reply;
//   - hello: sent every replHelloInterval to every peer: the sender's
//     --replication-peers (canonical) and the member id it runs in each of
//     its groups. Group leaders change membership only when every node
//     concerned sent the same peers recently (replication_reconcile.go).
//
// Like raft's own messages they may be lost; the sender repeats them.

// replControlGroup is the transport group id of control messages.
const replControlGroup = 0

// replHelloInterval spaces hellos; replHelloFresh is how old the last one
// of a node may be for the leader to act on it.
const (
	replHelloInterval = time.Second
	replHelloFresh    = 10 * time.Second
)

// replAskShortWait is how long a start that has to ask its peers waits
// for answers before it takes a group nobody answering saw run for new.
const replAskShortWait = 1500 * time.Millisecond

// replCtl is a control message.
type replCtl struct {
	Op      string            `json:"op"` // query, answer, hello
	Node    uint64            `json:"node"`
	Groups  []uint64          `json:"groups,omitempty"`
	Answers []replAnswer      `json:"answers,omitempty"`
	Peers   string            `json:"peers,omitempty"`
	Members map[string]uint64 `json:"members,omitempty"`
}

// replHello is the last hello of a node.
type replHello struct {
	peers   string
	members map[string]uint64
	at      time.Time
}

// sendCtl sends c to node to (fire and forget).
func (rs *replSet) sendCtl(to uint64, c *replCtl) {
	c.Node = rs.cfg.self
	b, err := json.Marshal(c)
	if err != nil {
		return
	}
	rs.tr.Send(replControlGroup, &pb.Message{Type: pb.MsgHeartbeat.Enum(), To: new(to), From: new(rs.cfg.self), Context: b})
}

// onControl handles a control message; it runs on a transport reader and
// does not block.
func (rs *replSet) onControl(m *pb.Message, ready bool) {
	var c replCtl
	if json.Unmarshal(m.GetContext(), &c) != nil || c.Node == 0 || c.Node == rs.cfg.self {
		return
	}
	switch c.Op {
	case "query":
		if !ready && !rs.fresh {
			return // still opening its groups: silent, the asker repeats
		}
		reply := &replCtl{Op: "answer"}
		for _, g := range c.Groups {
			a := replAnswer{Group: g}
			if ready { // byGroup is complete: read only
				if mem := rs.byGroup[g]; mem != nil {
					a.Known = true
					a.Term, a.Voters, a.Learners = mem.Config()
					a.Heard = rs.heard.of(g)
				}
			}
			reply.Answers = append(reply.Answers, a)
		}
		rs.sendCtl(c.Node, reply)
	case "answer":
		rs.ctlMu.Lock()
		if rs.answers[c.Node] == nil {
			rs.answers[c.Node] = map[uint64]replAnswer{}
		}
		for _, a := range c.Answers {
			rs.answers[c.Node][a.Group] = a
		}
		rs.ctlMu.Unlock()
	case "hello":
		rs.ctlMu.Lock()
		rs.hellos[c.Node] = replHello{peers: c.Peers, members: c.Members, at: time.Now()}
		rs.ctlMu.Unlock()
	}
}

// sendHellos sends this node's hello to every peer of the list.
func (rs *replSet) sendHellos() {
	members := map[string]uint64{}
	for _, m := range rs.members {
		_, voters, learners := m.Config()
		if len(voters)+len(learners) > 0 && !slices.Contains(voters, m.ID()) && !slices.Contains(learners, m.ID()) {
			continue // removed from the group: its id must not be added back (it rejoins after a restart, as the next generation)
		}
		members[strconv.FormatUint(m.Group(), 10)] = m.ID()
	}
	for _, id := range rs.cfg.ids {
		if id != rs.cfg.self {
			rs.sendCtl(id, &replCtl{Op: "hello", Peers: rs.cfg.canonical(), Members: members})
		}
	}
}

// helloOf returns node's last hello.
func (rs *replSet) helloOf(node uint64) (replHello, bool) {
	rs.ctlMu.Lock()
	defer rs.ctlMu.Unlock()
	h, ok := rs.hellos[node]
	return h, ok
}

// resolveMembers asks the other ring members of groups (this node has no
// state for them) until decideMember decides each (at most about
// replAskShortWait), and returns the decisions.
func (rs *replSet) resolveMembers(groups []uint64) map[uint64]replJoinDecision {
	start := time.Now()
	out := map[uint64]replJoinDecision{}
	for {
		asks := map[uint64][]uint64{} // peer → groups to ask it about
		for _, g := range groups {
			if _, done := out[g]; done {
				continue
			}
			for _, p := range rs.cfg.members(g) {
				if p != rs.cfg.self {
					asks[p] = append(asks[p], g)
				}
			}
		}
		if len(asks) == 0 {
			return out
		}
		for p, gs := range asks {
			rs.sendCtl(p, &replCtl{Op: "query", Groups: gs})
		}
		time.Sleep(200 * time.Millisecond)
		waited := time.Since(start) > replAskShortWait
		for _, g := range groups {
			if _, done := out[g]; done {
				continue
			}
			answers, all := rs.answersFor(g)
			if d := decideMember(rs.cfg.self, g, rs.cfg.members(g), answers, all, waited); d.decided {
				d.why = fmt.Sprintf("%s (answered: %v)", d.why, slices.Sorted(maps.Keys(answers)))
				out[g] = d
			}
		}
	}
}

// answersFor returns the answers about g received so far from its other
// ring members, and whether all of them answered.
func (rs *replSet) answersFor(g uint64) (map[uint64]replAnswer, bool) {
	rs.ctlMu.Lock()
	defer rs.ctlMu.Unlock()
	out := map[uint64]replAnswer{}
	all := true
	for _, p := range rs.cfg.members(g) {
		if p == rs.cfg.self {
			continue
		}
		a, ok := rs.answers[p][g]
		if !ok {
			all = false
			continue
		}
		out[p] = a
	}
	return out, all
}
