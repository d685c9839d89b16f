package replication

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/dropin/nsq/internal/testutil"
	"github.com/dropin/nsq/internal/vfs"
)

// TestSnapshotBuiltOffLoop: a snapshot with retained entries is built in
// the background (the first ask answers "temporarily unavailable"), then
// carries exactly the retained entries; a newer snapshot that compacts
// what an older build read replaces it, and asking again yields the newer
// one, never an error.
func TestSnapshotBuiltOffLoop(t *testing.T) {
	s, err := OpenStorage(StorageOptions{FS: vfs.NewMemFS(), Dir: "/d", Peers: []uint64{1, 2, 3}, SegmentBytes: 256})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := uint64(1); i <= 60; i++ {
		appendSync(t, s, ent(i, 1, fmt.Sprintf("\x01e%02d", i)))
	}
	if err := s.SetHardState(&pb.HardState{Term: new(uint64(1)), Vote: new(uint64(1)), Commit: new(uint64(60))}); err != nil {
		t.Fatal(err)
	}
	cs := &pb.ConfState{Voters: []uint64{1, 2, 3}}
	if err := s.CreateSnapshot(40, cs, []byte("at 40"), 30); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Snapshot(); !errors.Is(err, raft.ErrSnapshotTemporarilyUnavailable) {
		t.Fatalf("first ask: %v, want ErrSnapshotTemporarilyUnavailable", err)
	}
	get := func(index uint64) snapPayload {
		t.Helper()
		var sn *pb.Snapshot
		testutil.Eventually(t, 30*time.Second, func() bool {
			sn, err = s.Snapshot()
			return !errors.Is(err, raft.ErrSnapshotTemporarilyUnavailable)
		}, "snapshot %d never built", index)
		if err != nil || sn.GetMetadata().GetIndex() != index {
			t.Fatalf("snapshot: index %d, %v; want %d", sn.GetMetadata().GetIndex(), err, index)
		}
		p, err := decodePayload(sn.GetData(), index)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if p := get(40); string(p.state) != "at 40" || p.keep != 30 || len(p.entries) != 11 || string(p.entries[0].Data) != "e30" {
		t.Fatalf("snapshot 40: keep %d, %d entries, state %q", p.keep, len(p.entries), p.state)
	}
	// A build of 40 starts; 55 replaces it and compacts below 50.
	s.Snapshot()
	if err := s.CreateSnapshot(55, cs, []byte("at 55"), 50); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Compact(50); err != nil {
		t.Fatal(err)
	}
	if p := get(55); string(p.state) != "at 55" || p.keep != 50 || len(p.entries) != 6 {
		t.Fatalf("snapshot 55: keep %d, %d entries, state %q", p.keep, len(p.entries), p.state)
	}
}
