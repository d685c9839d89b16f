package replication

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/dropin/nsq/internal/logstore"
	"github.com/dropin/nsq/internal/testutil"
	"github.com/dropin/nsq/internal/vfs"
)

// testSM is a test member's applied list as a StateMachine: the snapshot
// is the whole list, so checks over applied entries see every entry ever
// committed, whether it arrived through the log or a snapshot.
type testSM testMember

func (s *testSM) Snapshot() ([]byte, error) {
	m := (*testMember)(s)
	return encodeEntries(m.appliedCopy()), nil
}

func (s *testSM) Restore(data []byte, index uint64) error {
	ents, err := decodeEntries(data)
	if err != nil {
		return err
	}
	if len(ents) > 0 && ents[len(ents)-1].Index != index {
		return fmt.Errorf("snapshot at %d ends with entry %d", index, ents[len(ents)-1].Index)
	}
	m := (*testMember)(s)
	m.mu.Lock()
	m.applied = ents
	m.mu.Unlock()
	m.restores.Add(1)
	return nil
}

func encodeEntries(ents []logstore.Entry) []byte {
	var b []byte
	for _, e := range ents {
		b = binary.LittleEndian.AppendUint64(b, e.Index)
		b = binary.LittleEndian.AppendUint64(b, e.Term)
		b = append(b, byte(e.Kind))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(e.Data)))
		b = append(b, e.Data...)
	}
	return b
}

func decodeEntries(b []byte) ([]logstore.Entry, error) {
	var out []logstore.Entry
	for len(b) > 0 {
		if len(b) < 21 {
			return nil, errors.New("short snapshot entry")
		}
		e := logstore.Entry{Index: binary.LittleEndian.Uint64(b), Term: binary.LittleEndian.Uint64(b[8:]), Kind: logstore.Kind(b[16])}
		n := int(binary.LittleEndian.Uint32(b[17:]))
		if len(b) < 21+n {
			return nil, errors.New("snapshot entry overruns")
		}
		e.Data = slices.Clone(b[21 : 21+n])
		out = append(out, e)
		b = b[21+n:]
	}
	return out, nil
}

// TestSnapshotCatchUp: with snapshots every 100 entries and small
// segments, a follower down while 1000 entries commit finds the leader's
// log compacted past its own and catches up through a snapshot sent over
// the network, then through the log.
func TestSnapshotCatchUp(t *testing.T) {
	testSnapshotCatchUp(t, false)
}

// TestSnapshotCatchUpTCP is TestSnapshotCatchUp over TCPTransport: the
// snapshot travels as a MsgSnap frame and its outcome is reported to raft.
func TestSnapshotCatchUpTCP(t *testing.T) { testSnapshotCatchUp(t, true) }

func testSnapshotCatchUp(t *testing.T, tcp bool) {
	g := startGroup(&testGroup{t: t, tcp: tcp, snapEvery: 100, catchUp: 20, segBytes: 2 << 10}, 1, 2, 3)
	acked := g.proposeAll("a", 100)
	lead := g.waitLeader()
	var victim *testMember
	for _, m := range g.running() {
		if m.id != lead.id {
			victim = m
		}
	}
	g.stop(victim.id)
	acked = append(acked, g.proposeAll("b", 1000)...)
	lead = g.waitLeader()
	st := lead.n.Load().Status()
	if st.SnapshotIndex < 1000 || st.FirstIndex <= 100 {
		t.Fatalf("leader did not snapshot and compact: %+v", st)
	}
	g.start(victim.id)
	atStart := victim.restores.Load() // its own snapshot, if it took one
	acked = append(acked, g.proposeAll("c", 50)...)
	checkAcked(t, g.waitConverged(), acked)
	if victim.restores.Load() == atStart {
		t.Fatal("the returning follower caught up without a snapshot from the leader")
	}
	if st := victim.n.Load().Status(); st.SnapshotIndex < 1000 || st.FirstIndex <= 100 {
		t.Fatalf("returning follower: %+v", st)
	}
	// Restart everyone: each restores its own snapshot, replays its log's
	// tail and the group goes on.
	for _, id := range g.peers() {
		g.stop(id)
	}
	for _, id := range g.peers() {
		g.start(id)
	}
	acked = append(acked, g.proposeAll("d", 50)...)
	checkAcked(t, g.waitConverged(), acked)
}

// crashFS counts mutating operations on an FS and cuts the power of the
// MemFS below at the at-th one: that call and every later call fail, as if
// the process died with the machine.
type crashFS struct {
	mem  *vfs.MemFS
	mu   sync.Mutex // guards n, at, dead
	n    int
	at   int // 0: never
	dead bool
}

var errPowerCut = errors.New("power cut")

// op counts one mutating call; false means the call must fail.
func (c *crashFS) op() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return false
	}
	c.n++
	if c.n == c.at {
		c.mem.Crash()
		c.dead = true
		return false
	}
	return true
}

func (c *crashFS) alive() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.dead
}

func (c *crashFS) arm(at int) {
	c.mu.Lock()
	c.n, c.at = 0, at
	c.mu.Unlock()
}

func (c *crashFS) Create(name string) (vfs.File, error) {
	if !c.op() {
		return nil, errPowerCut
	}
	f, err := c.mem.Create(name)
	return wrapFile(c, f, err)
}
func (c *crashFS) Open(name string) (vfs.File, error) {
	if !c.alive() {
		return nil, errPowerCut
	}
	f, err := c.mem.Open(name)
	return wrapFile(c, f, err)
}
func (c *crashFS) OpenReadWrite(name string) (vfs.File, error) {
	if !c.alive() {
		return nil, errPowerCut
	}
	f, err := c.mem.OpenReadWrite(name)
	return wrapFile(c, f, err)
}
func (c *crashFS) Remove(name string) error { return c.do(func() error { return c.mem.Remove(name) }) }
func (c *crashFS) Rename(a, b string) error { return c.do(func() error { return c.mem.Rename(a, b) }) }
func (c *crashFS) MkdirAll(dir string) error {
	return c.do(func() error { return c.mem.MkdirAll(dir) })
}
func (c *crashFS) SyncDir(dir string) error { return c.do(func() error { return c.mem.SyncDir(dir) }) }
func (c *crashFS) List(dir string) ([]string, error) {
	if !c.alive() {
		return nil, errPowerCut
	}
	return c.mem.List(dir)
}

func (c *crashFS) do(f func() error) error {
	if !c.op() {
		return errPowerCut
	}
	return f()
}

func wrapFile(c *crashFS, f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return &crashFile{File: f, c: c}, nil
}

type crashFile struct {
	vfs.File
	c *crashFS
}

func (f *crashFile) Write(p []byte) (int, error) {
	if !f.c.op() {
		return 0, errPowerCut
	}
	return f.File.Write(p)
}
func (f *crashFile) Sync() error { return f.c.do(f.File.Sync) }
func (f *crashFile) Truncate(size int64) error {
	return f.c.do(func() error { return f.File.Truncate(size) })
}

// TestSnapshotInstallPowerCut cuts the power at every mutating file
// operation of a snapshot install (and of a local snapshot with
// compaction) in turn: after the reboot the storage opens, and holds
// either the old state or the whole new one, never a mix.
func TestSnapshotInstallPowerCut(t *testing.T) {
	const old, snapAt = 50, 80
	data := []byte("state machine at 80")
	setup := func() (*crashFS, *Storage) {
		c := &crashFS{mem: vfs.NewMemFS()}
		s, err := OpenStorage(StorageOptions{FS: c, Dir: "/data", Peers: []uint64{1, 2, 3}, SegmentBytes: 256})
		if err != nil {
			t.Fatal(err)
		}
		for i := uint64(1); i <= old; i++ {
			appendSync(t, s, ent(i, 1, fmt.Sprintf("\x01e%02d", i)))
		}
		if err := s.SetHardState(&pb.HardState{Term: new(uint64(1)), Vote: new(uint64(2)), Commit: new(uint64(old))}); err != nil {
			t.Fatal(err)
		}
		return c, s
	}
	// The installed snapshot carries entries 76..80 (a LogRetainer's).
	sent := snapPayload{keep: snapAt - 4, state: data}
	for i := sent.keep; i <= snapAt; i++ {
		sent.entries = append(sent.entries, logstore.Entry{Index: i, Term: 2, Kind: 1, Data: fmt.Appendf(nil, "r%02d", i)})
	}
	snap := &pb.Snapshot{Data: sent.encode(), Metadata: &pb.SnapshotMetadata{Index: new(uint64(snapAt)), Term: new(uint64(2)),
		ConfState: &pb.ConfState{Voters: []uint64{1, 2, 3}, Learners: []uint64{4}}}}
	ops := []struct {
		name string
		run  func(s *Storage) error
		// check the rebooted storage in its new state
		isNew func(s *Storage) bool
	}{
		{"install", func(s *Storage) error { return s.ApplySnapshot(snap) }, func(s *Storage) bool {
			i, _ := s.SnapshotIndex()
			return i == snapAt
		}},
		{"create+compact", func(s *Storage) error {
			if err := s.CreateSnapshot(40, &pb.ConfState{Voters: []uint64{1, 2, 3}}, data, 35); err != nil {
				return err
			}
			_, err := s.Compact(35)
			return err
		}, func(s *Storage) bool {
			i, _ := s.SnapshotIndex()
			return i == 40
		}},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			var sawOld, sawNew bool
			for at := 1; at < 200; at++ {
				c, s := setup()
				c.arm(at)
				err := op.run(s)
				crashed := !c.alive()
				if !crashed {
					if err != nil {
						t.Fatalf("no crash, yet: %v", err)
					}
					c.mem.Crash() // the power goes after the operation returned
				}
				s2, err := OpenStorage(StorageOptions{FS: c.mem, Dir: "/data", SegmentBytes: 256})
				if err != nil {
					t.Fatalf("cut at op %d: reopen: %v", at, err)
				}
				checkRebooted(t, s2, op.isNew(s2), old, data)
				if op.isNew(s2) {
					sawNew = true
				} else {
					sawOld = true
				}
				s2.Close()
				if !crashed {
					t.Logf("%s: %d mutating operations, power cut after each", op.name, at-1)
					break
				}
			}
			if !sawOld || !sawNew {
				t.Fatalf("saw old %v, new %v", sawOld, sawNew)
			}
		})
	}
}

// checkRebooted checks a rebooted storage is wholly old or wholly new.
func checkRebooted(t *testing.T, s *Storage, isNew bool, old uint64, data []byte) {
	t.Helper()
	hs, cs, _ := s.InitialState()
	first, _ := s.FirstIndex()
	last, _ := s.LastIndex()
	snapIndex, snapTerm := s.SnapshotIndex()
	if !isNew {
		if snapIndex != 0 || first != 1 || last != old || hs.GetTerm() != 1 {
			t.Fatalf("old state damaged: snap %d first %d last %d hs %v", snapIndex, first, last, hs)
		}
		return
	}
	if hs.GetCommit() < snapIndex || hs.GetTerm() != 1 || hs.GetVote() != 2 {
		t.Fatalf("hard state %v with snapshot %d", hs, snapIndex)
	}
	if first > snapIndex+1 || last < snapIndex {
		t.Fatalf("log %d..%d around snapshot %d", first, last, snapIndex)
	}
	if term, err := s.Term(snapIndex); err != nil || term != snapTerm {
		t.Fatalf("Term(snapshot %d) = %d, %v; want %d", snapIndex, term, err, snapTerm)
	}
	if _, err := s.Entries(first, last+1, 1<<20); err != nil && first <= last {
		t.Fatalf("entries %d..%d: %v", first, last, err)
	}
	keep := s.SnapshotRetains()
	if keep >= snapIndex || first > keep {
		t.Fatalf("snapshot %d retains from %d, log starts at %d", snapIndex, keep, first)
	}
	var sn *pb.Snapshot
	var err error
	// Retained entries make it a build off the loop: ask until it is done.
	testutil.Eventually(t, 30*time.Second, func() bool {
		sn, err = s.Snapshot()
		return !errors.Is(err, raft.ErrSnapshotTemporarilyUnavailable)
	}, "snapshot %d not built", snapIndex)
	if err != nil || sn.GetMetadata().GetIndex() != snapIndex {
		t.Fatalf("snapshot: %v, %v", sn, err)
	}
	p, err := decodePayload(sn.GetData(), snapIndex)
	if err != nil || string(p.state) != string(data) || p.keep != keep || uint64(len(p.entries)) != snapIndex+1-keep {
		t.Fatalf("snapshot payload: keep %d, %d entries, state %q, %v", p.keep, len(p.entries), p.state, err)
	}
	for _, e := range p.entries {
		if tm, err := s.Term(e.Index); err != nil || tm != e.Term {
			t.Fatalf("retained entry %d: term %d in the log, %d in the snapshot (%v)", e.Index, tm, e.Term, err)
		}
	}
	if fmt.Sprint(cs.GetVoters()) != "[1 2 3]" {
		t.Fatalf("conf %v", cs)
	}
}

// TestCreateSnapshotAPI: CreateSnapshot on a running node compacts, and a
// node whose state machine is older than the storage's snapshot is
// restored from it at start.
func TestCreateSnapshotAPI(t *testing.T) {
	g := startGroup(&testGroup{t: t, catchUp: 5, segBytes: 1 << 10}, 1, 2, 3)
	acked := g.proposeAll("a", 300)
	g.waitConverged()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, m := range g.running() {
		idx, err := m.n.Load().CreateSnapshot(ctx)
		if err != nil || idx < 300 {
			t.Fatalf("node %d: CreateSnapshot = %d, %v", m.id, idx, err)
		}
		if st := m.n.Load().Status(); st.FirstIndex <= 1 || st.SnapshotIndex != idx {
			t.Fatalf("node %d not compacted: %+v", m.id, st)
		}
	}
	m := g.running()[0]
	g.stop(m.id)
	before := m.restores.Load()
	g.start(m.id)
	if m.restores.Load() != before+1 {
		t.Fatal("restart did not restore the snapshot")
	}
	acked = append(acked, g.proposeAll("b", 50)...)
	checkAcked(t, g.waitConverged(), acked)
}
