package logstore

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/dropin/nsq/internal/vfs"
)

// appendSized appends n entries whose data is size bytes encoding the index.
func appendSized(t testing.TB, l *Log, n, size int, tag byte) {
	t.Helper()
	next := l.LastIndex() + 1
	ents := make([]Entry, n)
	for i := range ents {
		idx := next + uint64(i)
		ents[i] = Entry{Index: idx, Term: 1, Kind: 1, Data: sizedData(idx, size, tag)}
	}
	if err := l.Append(ents); err != nil {
		t.Fatal(err)
	}
}

func sizedData(idx uint64, size int, tag byte) []byte {
	d := bytes.Repeat([]byte{tag}, size)
	copy(d, fmt.Sprintf("%d:", idx))
	return d
}

// readSequentially reads lo..hi-1 in calls of at most budget bytes, as a
// channel reader does, checking every entry.
func readSequentially(t *testing.T, l *Log, lo, hi uint64, budget uint64, size func(uint64) (int, byte)) {
	t.Helper()
	for next := lo; next < hi; {
		ents, err := l.Entries(next, hi, budget)
		if err != nil {
			t.Fatalf("entries from %d: %v", next, err)
		}
		for _, e := range ents {
			n, tag := size(e.Index)
			if e.Index != next || !bytes.Equal(e.Data, sizedData(e.Index, n, tag)) {
				t.Fatalf("entry %d: index %d, %d bytes", next, e.Index, len(e.Data))
			}
			next++
		}
	}
}

// Sequential reads resume from where the last read ended; after the tail is
// truncated and rewritten with entries of other sizes (so the old offsets
// are wrong), reads must not use a hint from before.
func TestEntriesResumeHints(t *testing.T) {
	l := openTestLog(t, vfs.NewMemFS(), 1<<20)
	defer l.Close()
	appendSized(t, l, 100, 1000, 'a')
	sizeA := func(uint64) (int, byte) { return 1000, 'a' }
	readSequentially(t, l, 1, 101, 3000, sizeA)
	readSequentially(t, l, 1, 101, 3000, sizeA) // again: hints of the first pass are ahead of lo
	// two readers interleaved
	for a, b := uint64(1), uint64(50); a < 50; a, b = a+7, b+7 {
		readSequentially(t, l, a, min(a+7, 101), 2500, sizeA)
		readSequentially(t, l, b, min(b+7, 101), 2500, sizeA)
	}

	if err := l.TruncateSuffix(40); err != nil {
		t.Fatal(err)
	}
	appendSized(t, l, 61, 700, 'b')
	size := func(i uint64) (int, byte) {
		if i < 40 {
			return 1000, 'a'
		}
		return 700, 'b'
	}
	readSequentially(t, l, 38, 101, 3000, size)
	readSequentially(t, l, 45, 101, 1500, size)

	if err := l.Reset(200); err != nil {
		t.Fatal(err)
	}
	appendSized(t, l, 30, 333, 'c')
	readSequentially(t, l, 200, 230, 1000, func(uint64) (int, byte) { return 333, 'c' })
}
