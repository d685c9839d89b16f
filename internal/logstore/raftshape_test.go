package logstore

import (
	"errors"
	"testing"

	"github.com/dropin/nsq/internal/vfs"
)

// storageShape is go.etcd.io/raft/v3's Storage without InitialState and
// Snapshot (which live beside the log), with our Entry in place of
// raftpb.Entry. Keeping the log behind this shape is what lets raft sit
// under it later without a second copy of the data.
type storageShape interface {
	Entries(lo, hi, maxSize uint64) ([]Entry, error)
	Term(i uint64) (uint64, error)
	LastIndex() (uint64, error)
	FirstIndex() (uint64, error)
}

// raftAdapter is the whole adapter raft needs for these four methods.
type raftAdapter struct{ *Log }

func (a raftAdapter) LastIndex() (uint64, error)  { return a.Log.LastIndex(), nil }
func (a raftAdapter) FirstIndex() (uint64, error) { return a.Log.FirstIndex(), nil }

var _ storageShape = raftAdapter{}

// TestRaftStorageContract checks the parts of raft.Storage's documented
// contract the log must keep.
func TestRaftStorageContract(t *testing.T) {
	l := openTestLog(t, vfs.NewMemFS(), 200)
	defer l.Close()
	for i := 0; i < 10; i++ {
		appendN(t, l, 3, uint64(1+i/4))
	}
	var s storageShape = raftAdapter{l}
	// "If maxSize is 0, Entries returns at least one entry if any."
	if ents, err := s.Entries(4, 20, 0); err != nil || len(ents) != 1 || ents[0].Index != 4 {
		t.Fatalf("Entries with maxSize 0: %d entries, %v", len(ents), err)
	}
	if _, err := s.Entries(2, 40, 1<<20); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("hi beyond LastIndex+1: %v", err)
	}
	if ents, err := s.Entries(31, 31, 1<<20); err != nil || len(ents) != 0 {
		t.Fatalf("empty range: %v %v", ents, err)
	}
	segs := l.Segments()
	if _, err := l.DeletePrefix(segs[1].First); err != nil {
		t.Fatal(err)
	}
	first, _ := s.FirstIndex()
	if _, err := s.Entries(first-1, first+1, 1<<20); !errors.Is(err, ErrCompacted) {
		t.Fatalf("lo below FirstIndex: %v", err)
	}
	if _, err := s.Term(first - 1); !errors.Is(err, ErrCompacted) {
		t.Fatalf("Term below FirstIndex: %v (raft takes it from the snapshot)", err)
	}
	last, _ := s.LastIndex()
	if term, err := s.Term(last); err != nil || term != 3 {
		t.Fatalf("Term(last) = %d, %v", term, err)
	}
}
