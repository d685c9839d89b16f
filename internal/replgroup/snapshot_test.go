package replgroup

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/dropin/nsq/internal/brokerlog"
	"github.com/dropin/nsq/internal/replication"
	"github.com/dropin/nsq/internal/testutil"
	"github.com/dropin/nsq/internal/vfs"
)

// group is a test group of members on an in-process network.
type group struct {
	t       *testing.T
	net     *replication.MemNetwork
	fss     map[uint64]*vfs.MemFS
	members map[uint64]*Member
	opts    Options
}

func newGroup(t *testing.T, o Options) *group {
	g := &group{t: t, net: replication.NewMemNetwork(), fss: map[uint64]*vfs.MemFS{}, members: map[uint64]*Member{}, opts: o}
	for id := uint64(1); id <= 3; id++ {
		g.fss[id] = vfs.NewMemFS()
		g.open(id)
	}
	t.Cleanup(func() {
		for _, m := range g.members {
			m.Shutdown()
		}
	})
	return g
}

func (g *group) open(id uint64) *Member {
	g.t.Helper()
	o := g.opts
	o.FS, o.Dir, o.ID, o.Group, o.Peers, o.Transport = g.fss[id], "/g", id, 1, []uint64{1, 2, 3}, g.net
	m, err := Open(o)
	if err != nil {
		g.t.Fatal(err)
	}
	g.members[id] = m
	g.net.Register(id, func(_ uint64, msg *pb.Message) { m.Node().Receive(msg) })
	return m
}

func (g *group) stop(id uint64) {
	g.t.Helper()
	g.net.Unregister(id)
	if err := g.members[id].Shutdown(); err != nil {
		g.t.Fatal(err)
	}
	delete(g.members, id)
}

func (g *group) leader() uint64 {
	g.t.Helper()
	var leader uint64
	testutil.Eventually(g.t, 30*time.Second, func() bool {
		for id, m := range g.members {
			if m.IsLeader() {
				leader = id
			}
		}
		return leader != 0
	}, "no leader")
	return leader
}

// unfinished lists what m's channel t/c would deliver: every message a
// reader from the floor yields, and the requeued ones (nsqd delivers those
// from its deferred heap), by sequence number with the body.
func unfinished(t *testing.T, m *Member) map[uint64]string {
	t.Helper()
	out := map[uint64]string{}
	r, err := m.Engine().NewReader("t", "c", brokerlog.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for {
		ds, err := r.Next(100)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 {
			break
		}
		for _, d := range ds {
			out[d.Seq] = string(d.Body)
		}
	}
	ci, _ := m.Engine().State().Channel("t", "c")
	for _, rq := range ci.Requeued {
		out[rq.Seq] = "requeued"
	}
	return out
}

// TestSnapshotCatchUp: a member is down while 300 messages are published
// and 197 of them finished (one more requeued); the others snapshot and
// compact (segments really go). The returning member is sent the snapshot
// (the log it needs is gone), and delivers exactly the unfinished messages
// with their bodies, none finished; so it does after its own restart from
// its files.
func TestSnapshotCatchUp(t *testing.T) {
	g := newGroup(t, Options{TickInterval: 10 * time.Millisecond, ProposeTimeout: 20 * time.Second,
		SegmentBytes: 4 << 10, CatchUpEntries: 8})
	lead := g.leader()
	down := lead%3 + 1
	e := g.members[lead].Engine()
	if err := e.CreateChannel("t", "c", brokerlog.Start{Mode: brokerlog.StartLatest}).Wait(); err != nil {
		t.Fatal(err)
	}
	g.stop(down)

	const n = 300
	body := func(seq uint64) string { return fmt.Sprintf("message %03d %0100d", seq, seq) }
	for k := uint64(1); k <= n; k++ {
		msg := brokerlog.Message{ID: [16]byte{byte(k >> 8), byte(k)}, Timestamp: int64(k), Body: []byte(body(k))}
		if err := e.Publish("t", []brokerlog.Message{msg}).Wait(); err != nil {
			t.Fatalf("publish %d: %v", k, err)
		}
	}
	want := map[uint64]string{}
	for seq := uint64(1); seq <= n; seq++ {
		switch {
		case seq == 180:
			e.Requeue("t", "c", seq, time.Now().Add(time.Hour).UnixNano(), 1)
			want[seq] = "requeued"
		case seq > 200 || seq == 170 || seq == 190:
			want[seq] = body(seq)
		default:
			e.Finish("t", "c", seq)
		}
	}
	for id, m := range g.members {
		testutil.Eventually(t, 30*time.Second, func() bool {
			ci, ok := m.Engine().State().Channel("t", "c")
			return ok && ci.Depth() == uint64(len(want)) && len(ci.Requeued) == 1
		}, "node %d does not apply the FINs and the REQ", id)
	}
	ctx := context.Background()
	for id, m := range g.members {
		if _, err := m.CreateSnapshot(ctx); err != nil {
			t.Fatalf("snapshot on %d: %v", id, err)
		}
		st := m.Node().Status()
		if st.SegmentsCompacted == 0 || st.FirstIndex <= 1 || st.SnapshotRetains > st.SnapshotIndex {
			t.Fatalf("node %d: nothing compacted: %+v", id, st)
		}
		t.Logf("node %d: snapshot %d retains from %d, log from %d, %d segments removed",
			id, st.SnapshotIndex, st.SnapshotRetains, st.FirstIndex, st.SegmentsCompacted)
		if got := unfinished(t, m); !maps(got, want) {
			t.Fatalf("node %d after compaction delivers %d messages, want %d", id, len(got), len(want))
		}
	}
	// Keep the log moving past the snapshot, so the returning member
	// needs both the snapshot and entries after it.
	if err := e.Publish("t", []brokerlog.Message{{ID: [16]byte{9, 9}, Timestamp: n + 1, Body: []byte(body(n + 1))}}).Wait(); err != nil {
		t.Fatal(err)
	}
	want[n+1] = body(n + 1)

	back := g.open(down)
	testutil.Eventually(t, 60*time.Second, func() bool {
		st := back.Node().Status()
		return st.SnapshotsInstalled > 0 && back.Engine().State().Applied() >= g.members[lead].Engine().State().Applied()
	}, "member %d does not catch up through a snapshot", down)
	if got := unfinished(t, back); !maps(got, want) {
		t.Fatalf("restored member delivers %v, want %v", keys(got), keys(want))
	}
	g.stop(down)
	back = g.open(down)
	testutil.Eventually(t, 30*time.Second, func() bool {
		return back.Engine().State().Applied() >= g.members[lead].Engine().State().Applied()
	}, "member %d does not come back from its files", down)
	if got := unfinished(t, back); !maps(got, want) {
		t.Fatalf("restored member after a restart delivers %v, want %v", keys(got), keys(want))
	}
}

func maps(a, b map[uint64]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func keys(m map[uint64]string) []uint64 {
	out := make([]uint64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestSnapshotDeferred: an unfinished message at the start pins the log;
// a snapshot that would have to carry more than MaxSnapshotBytes of it is
// not taken (ErrSnapshotDeferred, counted) and nothing is removed. Once
// the message is finished the snapshot is small and the log compacts.
func TestSnapshotDeferred(t *testing.T) {
	g := newGroup(t, Options{TickInterval: 10 * time.Millisecond, ProposeTimeout: 20 * time.Second,
		SegmentBytes: 4 << 10, CatchUpEntries: 8, MaxSnapshotBytes: 16 << 10})
	lead := g.leader()
	m := g.members[lead]
	e := m.Engine()
	if err := e.CreateChannel("t", "c", brokerlog.Start{Mode: brokerlog.StartLatest}).Wait(); err != nil {
		t.Fatal(err)
	}
	const n = 200
	for k := uint64(1); k <= n; k++ {
		msg := brokerlog.Message{ID: [16]byte{byte(k >> 8), byte(k)}, Timestamp: int64(k), Body: fmt.Appendf(nil, "%0200d", k)}
		if err := e.Publish("t", []brokerlog.Message{msg}).Wait(); err != nil {
			t.Fatal(err)
		}
	}
	for seq := uint64(2); seq <= n; seq++ {
		e.Finish("t", "c", seq)
	}
	depth := func(want uint64) func() bool {
		return func() bool { ci, ok := e.State().Channel("t", "c"); return ok && ci.Depth() == want }
	}
	testutil.Eventually(t, 30*time.Second, depth(1), "FINs not applied")
	ctx := context.Background()
	if _, err := m.CreateSnapshot(ctx); !errors.Is(err, replication.ErrSnapshotDeferred) {
		t.Fatalf("snapshot pinned by message 1: %v, want ErrSnapshotDeferred", err)
	}
	if st := m.Node().Status(); st.SnapshotsDeferred != 1 || st.SnapshotIndex != 0 || st.FirstIndex != 1 || st.SegmentsCompacted != 0 {
		t.Fatalf("after a deferred snapshot: %+v", st)
	}
	e.Finish("t", "c", 1)
	testutil.Eventually(t, 30*time.Second, depth(0), "FIN of message 1 not applied")
	if _, err := m.CreateSnapshot(ctx); err != nil {
		t.Fatal(err)
	}
	if st := m.Node().Status(); st.SnapshotIndex == 0 || st.SegmentsCompacted == 0 || st.SnapshotRetains != st.SnapshotIndex+1 {
		t.Fatalf("nothing unfinished, yet: %+v", st)
	}
}
