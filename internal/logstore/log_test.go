package logstore

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/dropin/nsq/internal/vfs"
)

func openTestLog(t testing.TB, fsys vfs.FS, segBytes int64) *Log {
	t.Helper()
	l, err := Open(Options{FS: fsys, Dir: "/log", SegmentBytes: segBytes, Logf: t.Logf})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return l
}

func appendN(t testing.TB, l *Log, n int, term uint64) []Entry {
	t.Helper()
	next := l.LastIndex() + 1
	ents := make([]Entry, n)
	for i := range ents {
		idx := next + uint64(i)
		ents[i] = Entry{Index: idx, Term: term, Kind: 1, Data: []byte(fmt.Sprintf("entry-%d", idx))}
	}
	if err := l.Append(ents); err != nil {
		t.Fatalf("append: %v", err)
	}
	if err := l.Sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	return ents
}

func checkEntries(t testing.TB, l *Log, lo, hi uint64) {
	t.Helper()
	ents, err := l.Entries(lo, hi, 1<<40)
	if err != nil {
		t.Fatalf("entries %d..%d: %v", lo, hi, err)
	}
	if uint64(len(ents)) != hi-lo {
		t.Fatalf("entries %d..%d: got %d", lo, hi, len(ents))
	}
	for i, e := range ents {
		want := fmt.Sprintf("entry-%d", lo+uint64(i))
		if e.Index != lo+uint64(i) || string(e.Data) != want {
			t.Fatalf("entry %d: index %d data %q", lo+uint64(i), e.Index, e.Data)
		}
	}
}

func TestLogAppendReadAcrossSegments(t *testing.T) {
	fsys := vfs.NewMemFS()
	l := openTestLog(t, fsys, 200)
	if l.FirstIndex() != 1 || l.LastIndex() != 0 {
		t.Fatalf("empty log: first %d last %d", l.FirstIndex(), l.LastIndex())
	}
	for i := 0; i < 30; i++ {
		appendN(t, l, 1+i%5, 1)
	}
	last := l.LastIndex()
	if len(l.Segments()) < 3 {
		t.Fatalf("expected several segments, got %v", l.Segments())
	}
	for lo := uint64(1); lo <= last; lo += 7 {
		checkEntries(t, l, lo, last+1)
	}
	if got, err := l.Entries(3, 50, 1); err != nil || len(got) != 1 {
		t.Fatalf("maxBytes 1: %d entries, %v", len(got), err)
	}
	if _, err := l.Entries(1, last+2, 100); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("beyond last: %v", err)
	}
	if _, err := l.Term(last + 1); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("term beyond last: %v", err)
	}
	if err := l.Append([]Entry{{Index: last + 5, Term: 1}}); err == nil {
		t.Fatal("append with a gap succeeded")
	}
	l.Close()

	l = openTestLog(t, fsys, 200)
	if l.LastIndex() != last {
		t.Fatalf("reopen: last %d want %d", l.LastIndex(), last)
	}
	checkEntries(t, l, 1, last+1)
	l.Close()
}

func TestLogTermsAndTruncateSuffix(t *testing.T) {
	fsys := vfs.NewMemFS()
	l := openTestLog(t, fsys, 150)
	appendN(t, l, 10, 1)
	appendN(t, l, 10, 2)
	appendN(t, l, 10, 3)
	for i, want := range map[uint64]uint64{1: 1, 10: 1, 11: 2, 20: 2, 21: 3, 30: 3} {
		if got, err := l.Term(i); err != nil || got != want {
			t.Fatalf("term(%d) = %d, %v; want %d", i, got, err, want)
		}
	}
	if err := l.Append([]Entry{{Index: 31, Term: 2}}); err == nil {
		t.Fatal("append with a lower term succeeded")
	}
	if err := l.TruncateSuffix(15); err != nil {
		t.Fatal(err)
	}
	if l.LastIndex() != 14 || l.LastTerm() != 2 {
		t.Fatalf("after truncate: last %d term %d", l.LastIndex(), l.LastTerm())
	}
	appendN(t, l, 5, 4)
	checkEntries(t, l, 1, 20)
	fsys.Crash()
	l = openTestLog(t, fsys, 150)
	if l.LastIndex() != 19 {
		t.Fatalf("after crash: last %d", l.LastIndex())
	}
	if got, _ := l.Term(15); got != 4 {
		t.Fatalf("term(15) after crash = %d", got)
	}
	checkEntries(t, l, 1, 20)

	// Snapshot-install reset.
	if err := l.TruncateSuffix(1); err != nil {
		t.Fatal(err)
	}
	if err := l.TruncateSuffix(1000); err != nil { // beyond last: no-op
		t.Fatal(err)
	}
	l.Close()
	l = openTestLog(t, fsys, 150)
	if l.FirstIndex() != 1 || l.LastIndex() != 0 {
		t.Fatalf("after reset: first %d last %d", l.FirstIndex(), l.LastIndex())
	}
}

func TestLogDeletePrefix(t *testing.T) {
	fsys := vfs.NewMemFS()
	l := openTestLog(t, fsys, 100)
	for i := 0; i < 20; i++ {
		appendN(t, l, 2, 1)
	}
	segs := l.Segments()
	cut := segs[2].First
	n, err := l.DeletePrefix(cut)
	if err != nil || n != 2 {
		t.Fatalf("DeletePrefix(%d): removed %d, %v", cut, n, err)
	}
	if l.FirstIndex() != cut {
		t.Fatalf("first %d want %d", l.FirstIndex(), cut)
	}
	if _, err := l.Entries(cut-1, cut+1, 100); !errors.Is(err, ErrCompacted) {
		t.Fatalf("compacted read: %v", err)
	}
	if _, err := l.Term(cut - 1); !errors.Is(err, ErrCompacted) {
		t.Fatalf("compacted term: %v", err)
	}
	last := l.LastIndex()
	if _, err := l.DeletePrefix(last + 100); err != nil {
		t.Fatal(err)
	}
	if len(l.Segments()) != 1 {
		t.Fatalf("active segment must stay: %v", l.Segments())
	}
	fsys.Crash()
	l = openTestLog(t, fsys, 100)
	checkEntries(t, l, l.FirstIndex(), last+1)
}

func TestLogRecoveryCutsTornTail(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for round := 0; round < 100; round++ {
		fsys := vfs.NewMemFS()
		l := openTestLog(t, fsys, 300)
		appendN(t, l, 1+rng.IntN(20), 1)
		synced := l.LastIndex()
		// Written, not synced: may survive partly.
		ents := []Entry{}
		for i := 0; i < 1+rng.IntN(10); i++ {
			idx := synced + 1 + uint64(i)
			ents = append(ents, Entry{Index: idx, Term: 1, Data: []byte(fmt.Sprintf("entry-%d", idx))})
		}
		if err := l.Append(ents); err != nil {
			t.Fatal(err)
		}
		if round%2 == 0 {
			fsys.CrashTorn(rng)
		} else {
			fsys.CrashGarbled(rng)
		}
		l = openTestLog(t, fsys, 300)
		last := l.LastIndex()
		if last < synced || last > synced+uint64(len(ents)) {
			t.Fatalf("round %d: last %d, synced %d, written %d", round, last, synced, synced+uint64(len(ents)))
		}
		checkEntries(t, l, 1, last+1)
		// The cut is clean: appending continues and survives a crash.
		appendN(t, l, 3, 1)
		fsys.Crash()
		l = openTestLog(t, fsys, 300)
		checkEntries(t, l, 1, last+4)
		l.Close()
	}
}

func TestLogRefusesCorruptionBeforeTheTail(t *testing.T) {
	fsys := vfs.NewMemFS()
	l := openTestLog(t, fsys, 100)
	for i := 0; i < 10; i++ {
		appendN(t, l, 2, 1)
	}
	first := l.Segments()[0]
	l.Close()
	// Flip a byte in the first segment, behind the log's back.
	name := "/log/" + segmentName(first.First)
	f, _ := fsys.OpenReadWrite(name)
	size, _ := f.Size()
	data := make([]byte, size)
	f.ReadAt(data, 0)
	data[size-3] ^= 0xff
	f.Truncate(0)
	f.Write(data)
	f.Sync()
	f.Close()
	if _, err := Open(Options{FS: fsys, Dir: "/log", SegmentBytes: 100}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("open over a damaged middle segment: %v", err)
	}
}

func TestLogWriteFailureCutsBack(t *testing.T) {
	ff := vfs.NewFaultFS(vfs.NewMemFS())
	l := openTestLog(t, ff, 1<<20)
	appendN(t, l, 5, 1)
	ff.FailWrite(1)
	err := l.Append([]Entry{{Index: 6, Term: 1, Data: bytes.Repeat([]byte("x"), 100)}})
	if !errors.Is(err, vfs.ErrInjected) {
		t.Fatalf("append: %v", err)
	}
	if l.LastIndex() != 5 || l.Broken() != nil {
		t.Fatalf("after failed write: last %d broken %v", l.LastIndex(), l.Broken())
	}
	appendN(t, l, 2, 1)
	checkEntries(t, l, 1, 8)
	ff.FailSync(1)
	if err := l.Append([]Entry{{Index: 8, Term: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := l.Sync(); !errors.Is(err, vfs.ErrInjected) {
		t.Fatalf("sync: %v", err)
	}
	if err := l.Append([]Entry{{Index: 9, Term: 1}}); !errors.Is(err, ErrBroken) {
		t.Fatalf("append after failed sync: %v", err)
	}
}

// TestLogReset: Reset empties a multi-segment log so that it continues at
// the given index, durably, whether the index is below, inside or past
// the old entries.
func TestLogReset(t *testing.T) {
	for _, next := range []uint64{1, 20, 500} {
		t.Run(fmt.Sprint(next), func(t *testing.T) {
			mem := vfs.NewMemFS()
			l := openTestLog(t, mem, 200)
			for i := 0; i < 12; i++ {
				appendN(t, l, 5, 1)
			}
			if len(l.Segments()) < 3 {
				t.Fatalf("want several segments, got %v", l.Segments())
			}
			if err := l.Reset(next); err != nil {
				t.Fatal(err)
			}
			if l.FirstIndex() != next || l.LastIndex() != next-1 {
				t.Fatalf("after Reset(%d): %d..%d", next, l.FirstIndex(), l.LastIndex())
			}
			appendN(t, l, 3, 2)
			mem.Crash()
			l2 := openTestLog(t, mem, 200)
			defer l2.Close()
			if l2.FirstIndex() != next || l2.LastIndex() != next+2 {
				t.Fatalf("after crash: %d..%d, want %d..%d", l2.FirstIndex(), l2.LastIndex(), next, next+2)
			}
			if term, err := l2.Term(next); err != nil || term != 2 {
				t.Fatalf("Term(%d) = %d, %v", next, term, err)
			}
		})
	}
}
