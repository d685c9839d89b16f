package logstore

import (
	"testing"

	"github.com/dropin/nsq/internal/vfs"
)

// Benchmarks run on the OS file system, in the test's temp dir: each
// iteration is real fsyncs. Run them short: go test -run X -bench . -benchtime 200x

func benchmarkAppendSync(b *testing.B, batch, size int) {
	l, err := Open(Options{FS: vfs.OS(), Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	data := make([]byte, size)
	ents := make([]Entry, batch)
	b.ReportAllocs()
	b.SetBytes(int64(batch * size))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		next := l.LastIndex() + 1
		for k := range ents {
			ents[k] = Entry{Index: next + uint64(k), Term: 1, Kind: 1, Data: data}
		}
		if err := l.Append(ents); err != nil {
			b.Fatal(err)
		}
		if err := l.Sync(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendSync1x200(b *testing.B)   { benchmarkAppendSync(b, 1, 200) }
func BenchmarkAppendSync200x200(b *testing.B) { benchmarkAppendSync(b, 200, 200) }

// BenchmarkGroupCommit200: many goroutines each propose one 200-byte record
// and wait for it; the committer folds them into shared write+sync rounds.
func BenchmarkGroupCommit200(b *testing.B) {
	l, err := Open(Options{FS: vfs.OS(), Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	c, err := StartCommitter(CommitterOptions{Log: l})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	data := make([]byte, 200)
	b.ReportAllocs()
	b.SetBytes(200)
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := c.Propose(1, data).Wait(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkEntriesSequential reads a log of MPUB-sized entries (48 KiB,
// about 200 messages of 200 B) in order with a 256 KiB budget per call, as
// a channel reader does. Bytes are entry bytes returned.
func BenchmarkEntriesSequential(b *testing.B) {
	l, err := Open(Options{FS: vfs.OS(), Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	const n, size = 512, 48 << 10
	data := make([]byte, size)
	ents := make([]Entry, 0, 16)
	for i := 0; i < n; i += 16 {
		ents = ents[:0]
		for k := 0; k < 16; k++ {
			ents = append(ents, Entry{Index: uint64(i + k + 1), Term: 1, Kind: 1, Data: data})
		}
		if err := l.Append(ents); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.SetBytes(n * size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for next := uint64(1); next <= n; {
			got, err := l.Entries(next, n+1, 256<<10)
			if err != nil {
				b.Fatal(err)
			}
			next += uint64(len(got))
		}
	}
}
