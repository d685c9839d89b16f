package diskq

import "testing"

// Put cost per 226-byte record (a 200-byte message with its header), in
// batches as nsqd writes an MPUB of 200, and one at a time; go-diskqueue
// alongside for scale. Syncs are left out: they cost the same in both.
func BenchmarkPutBatch200(b *testing.B) { benchmarkPut(b, 200) }
func BenchmarkPut1(b *testing.B)        { benchmarkPut(b, 1) }

func benchmarkPut(b *testing.B, batch int) {
	b.ReportAllocs()
	b.SetBytes(226)
	o := testOpts(b.TempDir())
	o.MaxBytesPerFile, o.MaxMsgSize = 100<<20, 1<<20
	o.SyncEvery = 1 << 40 // the write path, not fsync
	q := Open("b", o)
	defer q.Close()
	recs := make([][]byte, batch)
	for i := range recs {
		recs[i] = make([]byte, 226)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i += batch {
		if err := q.PutBatch(recs[:min(batch, b.N-i)]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGoDiskqueuePut(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(226)
	o := testOpts(b.TempDir())
	o.MaxBytesPerFile, o.MaxMsgSize = 100<<20, 1<<20
	o.SyncEvery = 1 << 40 // the write path, not fsync
	d := openNSQ(o.DataPath, o)
	defer d.Close()
	rec := make([]byte, 226)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := d.Put(rec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRead256 reads back in batches of 256, as a topic's pump does.
// BenchmarkRead64 is a small read (the disk pump topping a channel up):
// its allocation must fit the records, not a whole readChunk.
func BenchmarkRead64(b *testing.B)  { benchmarkRead(b, 64) }
func BenchmarkRead256(b *testing.B) { benchmarkRead(b, 256) }

func benchmarkRead(b *testing.B, limit int) {
	b.ReportAllocs()
	b.SetBytes(226)
	o := testOpts(b.TempDir())
	o.MaxBytesPerFile, o.MaxMsgSize = 100<<20, 1<<20
	o.SyncEvery = 1 << 40 // the write path, not fsync
	q := Open("b", o)
	defer q.Close()
	recs := make([][]byte, 200)
	for i := range recs {
		recs[i] = make([]byte, 226)
	}
	for i := 0; i < b.N; i += 200 {
		q.PutBatch(recs)
	}
	b.ResetTimer()
	for n := 0; n < b.N; {
		got := q.Read(limit)
		if len(got) == 0 {
			b.Fatal("queue ran dry")
		}
		n += len(got)
	}
}
