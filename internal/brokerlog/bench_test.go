package brokerlog

import (
	"testing"

	"github.com/dropin/nsq/internal/vfs"
)

// Publish benchmarks run on the OS file system with real fsyncs; keep them
// short: go test -run X -bench Publish -benchtime 2000x

func benchmarkPublish(b *testing.B, batch, size int) {
	e, err := Open(Options{FS: vfs.OS(), Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	body := make([]byte, size)
	b.ReportAllocs()
	b.SetBytes(int64(batch * size))
	b.SetParallelism(2) // 2×GOMAXPROCS publishers: 4 connections on this 2-core machine
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ms := make([]Message, batch)
		for i := range ms {
			ms[i] = Message{Timestamp: 1, Body: body}
		}
		for pb.Next() {
			if err := e.Publish("bench", ms).Wait(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkPublish1x200(b *testing.B)   { benchmarkPublish(b, 1, 200) }
func BenchmarkPublish20x200(b *testing.B)  { benchmarkPublish(b, 20, 200) }
func BenchmarkPublish200x200(b *testing.B) { benchmarkPublish(b, 200, 200) }

// BenchmarkReader200 drains a backlog of 200-byte messages through a reader.
func BenchmarkReader200(b *testing.B) {
	e, err := Open(Options{FS: vfs.OS(), Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	if err := e.CreateChannel("bench", "c", Start{}).Wait(); err != nil {
		b.Fatal(err)
	}
	body := make([]byte, 200)
	ms := make([]Message, 200)
	for i := range ms {
		ms[i] = Message{Body: body}
	}
	var p interface{ Wait() error }
	for n := 0; n < b.N; n += len(ms) {
		p = e.Publish("bench", ms)
	}
	if err := p.Wait(); err != nil {
		b.Fatal(err)
	}
	st := e.Status()
	for e.Status().Applied < st.Committed {
	}
	r, err := e.NewReader("bench", "c", ReaderOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(200)
	b.ResetTimer()
	for got := 0; got < b.N; {
		ds, err := r.Next(256)
		if err != nil || len(ds) == 0 {
			b.Fatalf("reader stopped at %d of %d: %v", got, b.N, err)
		}
		got += len(ds)
	}
}
