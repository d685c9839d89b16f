package nsqd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dropin/nsq/internal/replication"
	"github.com/dropin/nsq/internal/testutil"
)

func TestDecideMember(t *testing.T) {
	ring := []uint64{3, 1, 2}
	m31 := replication.MemberID(3, 1)
	pristine := replAnswer{Group: 3, Known: true, Voters: []uint64{1, 2, 3}}
	running := replAnswer{Group: 3, Known: true, Term: 4, Voters: []uint64{1, 2, 3}, Heard: []uint64{1, 2}}
	heard3 := replAnswer{Group: 3, Known: true, Term: 4, Voters: []uint64{1, 2, 3}, Heard: []uint64{1, 2, 3}}
	gen1 := replAnswer{Group: 3, Known: true, Term: 9, Voters: []uint64{1, 2, m31}, Heard: []uint64{1, 2, 3, m31}}
	without3 := replAnswer{Group: 3, Known: true, Term: 2, Voters: []uint64{1, 2, 4}}
	unknown := replAnswer{Group: 3}
	for _, tc := range []struct {
		name          string
		answers       map[uint64]replAnswer
		all, waited   bool
		member        uint64
		join, decided bool
	}{
		{"nobody answered yet", map[uint64]replAnswer{}, false, false, 0, false, false},
		{"nobody answered, short wait over: new cluster", map[uint64]replAnswer{}, false, true, 3, false, true},
		{"all fresh", map[uint64]replAnswer{1: unknown, 2: unknown}, true, false, 3, false, true},
		{"pristine peer, other silent, waited", map[uint64]replAnswer{1: pristine}, false, true, 3, false, true},
		{"group ran without 3, all answered", map[uint64]replAnswer{1: running, 2: running}, true, false, 3, false, true},
		{"group ran, one silent, nobody heard 3: join under a new id", map[uint64]replAnswer{1: running}, false, false, m31, true, true},
		{"group without 3 ran, one silent: join, not as generation 0", map[uint64]replAnswer{1: without3}, false, false, m31, true, true},
		{"a peer heard 3: replaced disk", map[uint64]replAnswer{1: heard3}, false, false, m31, true, true},
		{"heard by one, not the other", map[uint64]replAnswer{1: running, 2: heard3}, true, false, m31, true, true},
		{"second replacement", map[uint64]replAnswer{2: gen1}, false, false, replication.MemberID(3, 2), true, true},
		{"group runs without node 3: join", map[uint64]replAnswer{1: without3, 2: without3}, true, false, 3, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := decideMember(3, 3, ring, tc.answers, tc.all, tc.waited)
			if d.decided != tc.decided || (d.decided && (d.member != tc.member || d.join != tc.join)) {
				t.Fatalf("got %+v, want member %d join %t decided %t", d, tc.member, tc.join, tc.decided)
			}
		})
	}
}

func TestPlanMembership(t *testing.T) {
	m31 := replication.MemberID(3, 1)
	yes := func(uint64) bool { return true }
	no := func(uint64) bool { return false }
	for _, tc := range []struct {
		name             string
		self             uint64
		target           []uint64
		inc              map[uint64]uint64
		voters, learners []uint64
		caughtUp         func(uint64) bool
		want             memberChange
	}{
		{"in shape", 1, []uint64{1, 2, 3}, map[uint64]uint64{1: 1, 2: 2, 3: 3}, []uint64{1, 2, 3}, nil, yes, memberChange{}},
		{"unknown incarnations change nothing", 1, []uint64{1, 2, 3}, map[uint64]uint64{1: 1}, []uint64{1, 2, 3}, nil, yes, memberChange{}},
		{"rejoin: add the new incarnation as learner", 1, []uint64{1, 2, 3}, map[uint64]uint64{1: 1, 3: m31}, []uint64{1, 2, 3}, nil, yes, memberChange{"add-learner", m31}},
		{"rejoin: wait for catch-up", 1, []uint64{1, 2, 3}, map[uint64]uint64{1: 1, 3: m31}, []uint64{1, 2, 3}, []uint64{m31}, no, memberChange{}},
		{"rejoin: remove the old incarnation", 1, []uint64{1, 2, 3}, map[uint64]uint64{1: 1, 3: m31}, []uint64{1, 2, 3}, []uint64{m31}, yes, memberChange{"remove", 3}},
		{"rejoin: promote", 1, []uint64{1, 2, 3}, map[uint64]uint64{1: 1, 3: m31}, []uint64{1, 2}, []uint64{m31}, yes, memberChange{"promote", m31}},
		{"never back to an older id", 1, []uint64{1, 2, 3}, map[uint64]uint64{3: 3}, []uint64{1, 2, m31}, nil, yes, memberChange{}},
		{"stale learner of an older incarnation", 1, []uint64{1, 2, 3}, map[uint64]uint64{3: replication.MemberID(3, 2)}, []uint64{1, 2}, []uint64{m31}, yes, memberChange{"remove", m31}},
		{"new node: learner first", 1, []uint64{1, 2, 4}, map[uint64]uint64{4: 4}, []uint64{1, 2, 3}, nil, yes, memberChange{"add-learner", 4}},
		{"new node caught up: the leaving node goes first", 1, []uint64{1, 2, 4}, map[uint64]uint64{4: 4}, []uint64{1, 2, 3}, []uint64{4}, yes, memberChange{"remove", 3}},
		{"new node promoted", 1, []uint64{1, 2, 4}, map[uint64]uint64{4: 4}, []uint64{1, 2}, []uint64{4}, yes, memberChange{"promote", 4}},
		{"leaving node removed", 2, []uint64{2, 4, 1}, map[uint64]uint64{}, []uint64{2, 3, 4, 1}, nil, yes, memberChange{"remove", 3}},
		{"leaving leader hands over", 3, []uint64{4, 1}, map[uint64]uint64{}, []uint64{3, 4, 1}, nil, yes, memberChange{"transfer", 4}},
		{"learner of a node outside the target", 1, []uint64{1, 2, 3}, map[uint64]uint64{}, []uint64{1, 2, 3}, []uint64{4}, yes, memberChange{"remove", 4}},
		{"last voter stays", 1, []uint64{}, map[uint64]uint64{}, []uint64{1}, nil, yes, memberChange{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := planMembership(tc.self, tc.target, tc.inc, tc.voters, tc.learners, tc.caughtUp)
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestReplIdentityAndHeard(t *testing.T) {
	dir := t.TempDir()
	id, ok, err := loadReplIdentity(dir)
	if err != nil || ok {
		t.Fatalf("empty dir: ok %t err %v", ok, err)
	}
	id.NodeID = 3
	id.set(3, replication.MemberID(3, 1))
	if err := id.save(dir); err != nil {
		t.Fatal(err)
	}
	id2, ok, err := loadReplIdentity(dir)
	if m, _ := id2.member(3); err != nil || !ok || m != replication.MemberID(3, 1) || id2.NodeID != 3 {
		t.Fatalf("reloaded %+v ok %t err %v", id2, ok, err)
	}
	h := newReplHeard()
	if err := h.open(3, dir); err != nil {
		t.Fatal(err)
	}
	for _, m := range []uint64{2, 1, 2} {
		if !h.record(3, m) {
			t.Fatal("record failed")
		}
	}
	if !h.record(7, 1) { // a group not opened: nothing to record
		t.Fatal("record of an unknown group failed")
	}
	h2 := newReplHeard()
	if err := h2.open(3, dir); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(h2.of(3)); got != "[1 2]" {
		t.Fatalf("heard after reopen %s", got)
	}
}

// TestReplicationIdentityStart: a replicated node (a group of one) records
// its member id, keeps it across a restart, refuses a data directory of
// another node id, and, alone in its group, starts the group anew when its
// directory is gone (nobody to rejoin).
func TestReplicationIdentityStart(t *testing.T) {
	opts := testOptions(t)
	addr := testutil.FreeAddrs(t, 1)[0]
	opts.ID = 1
	opts.ReplicationPeers = "1=" + addr
	opts.ReplicationAddress = addr
	start := func() *NSQD {
		t.Helper()
		n, err := New(opts)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	member := func(n *NSQD) (uint64, string) {
		t.Helper()
		g := n.replicationStats().Groups[0]
		return g.MemberID, g.Role
	}
	n := start()
	if id, role := member(n); id != 1 || role != "voter" {
		t.Fatalf("first start: member %d role %s", id, role)
	}
	n.Exit()
	id, ok, err := loadReplIdentity(opts.DataPath)
	if m, _ := id.member(1); err != nil || !ok || m != 1 || id.NodeID != 1 {
		t.Fatalf("identity %+v ok %t err %v", id, ok, err)
	}
	n = start()
	if id, _ := member(n); id != 1 {
		t.Fatalf("restart: member %d", id)
	}
	n.Exit()

	other := *opts
	other.ID = 2
	other.ReplicationPeers = "2=" + addr
	if _, err := New(&other); err == nil || !strings.Contains(err.Error(), "belongs to node 1") {
		t.Fatalf("another node id on this data dir: %v", err)
	}

	if err := os.RemoveAll(filepath.Join(opts.DataPath, "groups", "1")); err != nil {
		t.Fatal(err)
	}
	n = start()
	defer n.Exit()
	if id, role := member(n); id != 1 || role != "voter" {
		t.Fatalf("group of one, directory gone: member %d role %s", id, role)
	}
}
