package replication

import (
	"errors"
	"fmt"
	"testing"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/dropin/nsq/internal/logstore"
	"github.com/dropin/nsq/internal/vfs"
)

func openTestStorage(t testing.TB, fs vfs.FS, segBytes int64) *Storage {
	t.Helper()
	s, err := OpenStorage(StorageOptions{FS: fs, Dir: "/data", Peers: []uint64{1, 2, 3}, SegmentBytes: segBytes})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ent(index, term uint64, data string) *pb.Entry {
	e := &pb.Entry{Index: new(index), Term: new(term), Type: pb.EntryNormal.Enum()}
	if data != "" {
		e.Data = []byte(data)
	}
	return e
}

func appendSync(t testing.TB, s *Storage, ents ...*pb.Entry) {
	t.Helper()
	if err := s.Append(ents); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
}

// TestStorageContract checks raft.Storage's documented contract.
func TestStorageContract(t *testing.T) {
	s := openTestStorage(t, vfs.NewMemFS(), 300)
	defer s.Close()
	hs, cs, err := s.InitialState()
	if err != nil || hs.GetTerm() != 0 || fmt.Sprint(cs.GetVoters()) != "[1 2 3]" {
		t.Fatalf("initial state %v %v %v", hs, cs, err)
	}
	if first, _ := s.FirstIndex(); first != 1 {
		t.Fatalf("FirstIndex of empty storage = %d", first)
	}
	if last, _ := s.LastIndex(); last != 0 {
		t.Fatalf("LastIndex of empty storage = %d", last)
	}
	if term, err := s.Term(0); err != nil || term != 0 {
		t.Fatalf("Term(0) = %d, %v", term, err)
	}
	if _, err := s.Term(1); !errors.Is(err, raft.ErrUnavailable) {
		t.Fatalf("Term past last: %v", err)
	}
	if _, err := s.Entries(1, 2, 1<<20); !errors.Is(err, raft.ErrUnavailable) {
		t.Fatalf("Entries past last: %v", err)
	}
	for i := uint64(1); i <= 30; i++ {
		appendSync(t, s, ent(i, 1+i/10, fmt.Sprintf("\x01entry-%02d", i)))
	}
	// "If maxSize is 0, Entries returns at least one entry if any."
	if ents, err := s.Entries(4, 20, 0); err != nil || len(ents) != 1 || ents[0].GetIndex() != 4 {
		t.Fatalf("Entries maxSize 0: %v %v", ents, err)
	}
	ents, err := s.Entries(1, 31, 1<<20)
	if err != nil || len(ents) != 30 {
		t.Fatalf("Entries(1,31): %d, %v", len(ents), err)
	}
	for i, e := range ents {
		want := ent(uint64(i+1), 1+uint64(i+1)/10, fmt.Sprintf("\x01entry-%02d", i+1))
		if e.GetIndex() != want.GetIndex() || e.GetTerm() != want.GetTerm() || string(e.GetData()) != string(want.GetData()) {
			t.Fatalf("entry %d = %v, want %v", i+1, e, want)
		}
	}
	if _, err := s.Entries(2, 40, 1<<20); !errors.Is(err, raft.ErrUnavailable) {
		t.Fatalf("hi beyond LastIndex+1: %v", err)
	}
	if term, err := s.Term(25); err != nil || term != 3 {
		t.Fatalf("Term(25) = %d, %v", term, err)
	}
	// A conflicting suffix is replaced.
	appendSync(t, s, ent(28, 4, "\x01new-28"))
	if last, _ := s.LastIndex(); last != 28 {
		t.Fatalf("LastIndex after conflict = %d", last)
	}
	if term, _ := s.Term(28); term != 4 {
		t.Fatalf("Term(28) after conflict = %d", term)
	}
	// Compacted prefix: ErrCompacted for entries and terms below it.
	segs := s.Log().Segments()
	if _, err := s.Log().DeletePrefix(segs[1].First); err != nil {
		t.Fatal(err)
	}
	first, _ := s.FirstIndex()
	if first <= 1 {
		t.Fatalf("FirstIndex after DeletePrefix = %d", first)
	}
	if _, err := s.Entries(first-1, first+1, 1<<20); !errors.Is(err, raft.ErrCompacted) {
		t.Fatalf("Entries below FirstIndex: %v", err)
	}
	if _, err := s.Term(first - 1); !errors.Is(err, raft.ErrCompacted) {
		t.Fatalf("Term below FirstIndex without snapshot: %v", err)
	}
}

// TestStorageEntryKinds checks the raft entry ↔ log record mapping.
func TestStorageEntryKinds(t *testing.T) {
	cases := []*pb.Entry{
		ent(1, 1, ""),         // leader's empty entry
		ent(2, 1, "\x07chan"), // application kind 7
		ent(3, 1, "\x00x"),    // kind 0 with data survives the round trip
		{Index: new(uint64(4)), Term: new(uint64(1)), Type: pb.EntryConfChange.Enum(), Data: []byte("cc")},
		{Index: new(uint64(5)), Term: new(uint64(1)), Type: pb.EntryConfChangeV2.Enum(), Data: []byte("cc2")},
	}
	for _, e := range cases {
		rec := entryToRecord(e)
		back := recordToEntry(&rec)
		if back.GetType() != e.GetType() || string(back.GetData()) != string(e.GetData()) || back.GetIndex() != e.GetIndex() {
			t.Errorf("%v → %+v → %v", e, rec, back)
		}
	}
	if rec := entryToRecord(cases[1]); rec.Kind != 7 || string(rec.Data) != "chan" {
		t.Errorf("application entry stored as %+v", rec)
	}
	if rec := entryToRecord(cases[0]); rec.Kind != logstore.KindNoop || len(rec.Data) != 0 {
		t.Errorf("empty entry stored as %+v", rec)
	}
}

// TestStorageHardStateDurable: a term or vote change is durable at once;
// entries survive a power cut once synced; the commit index may lag.
func TestStorageHardStateDurable(t *testing.T) {
	fs := vfs.NewMemFS()
	s := openTestStorage(t, fs, 0)
	appendSync(t, s, ent(1, 2, ""), ent(2, 2, "\x01a"))
	if err := s.SetHardState(&pb.HardState{Term: new(uint64(2)), Vote: new(uint64(3)), Commit: new(uint64(1))}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetHardState(&pb.HardState{Term: new(uint64(2)), Vote: new(uint64(3)), Commit: new(uint64(2))}); err != nil {
		t.Fatal(err)
	}
	if err := s.Append([]*pb.Entry{ent(3, 2, "\x01unsynced")}); err != nil {
		t.Fatal(err)
	}
	fs.Crash()
	s = openTestStorage(t, fs, 0) // the old handles are dead; do not Close them onto the rebooted disk
	defer s.Close()
	hs, cs, _ := s.InitialState()
	if hs.GetTerm() != 2 || hs.GetVote() != 3 || hs.GetCommit() != 1 {
		t.Fatalf("hard state after crash: %v", hs)
	}
	if fmt.Sprint(cs.GetVoters()) != "[1 2 3]" {
		t.Fatalf("conf state after crash: %v", cs)
	}
	if last, _ := s.LastIndex(); last != 2 {
		t.Fatalf("LastIndex after crash = %d, want 2 (3 was never synced)", last)
	}
}

func TestStorageCorruptState(t *testing.T) {
	fs := vfs.NewMemFS()
	s := openTestStorage(t, fs, 0)
	s.Close()
	f, err := fs.OpenReadWrite("/data/" + stateFile)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("x")) // trailing garbage breaks the checksum
	f.Close()
	if _, err := OpenStorage(StorageOptions{FS: fs, Dir: "/data", Peers: []uint64{1}}); !errors.Is(err, ErrCorruptState) {
		t.Fatalf("open with corrupt state file: %v", err)
	}
	if _, err := OpenStorage(StorageOptions{FS: vfs.NewMemFS(), Dir: "/data"}); err == nil {
		t.Fatal("new storage without peers accepted")
	}
}
