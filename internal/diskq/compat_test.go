package diskq

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	diskqueue "github.com/nsqio/go-diskqueue"
)

// NSQ's own disk queue (go-diskqueue v1.1.0, as in NSQ's nsqd) and ours
// must read each other's files and write the same bytes.

func openNSQ(dir string, o Options) diskqueue.Interface {
	return diskqueue.New("t", dir, o.MaxBytesPerFile, o.MinMsgSize, o.MaxMsgSize, o.SyncEvery, o.SyncTimeout,
		func(diskqueue.LogLevel, string, ...any) {})
}

func readNSQ(t *testing.T, d diskqueue.Interface, n int) [][]byte {
	t.Helper()
	out := make([][]byte, 0, n)
	for len(out) < n {
		select {
		case b := <-d.ReadChan():
			out = append(out, b)
		case <-time.After(10 * time.Second):
			t.Fatalf("go-diskqueue yielded %d of %d records", len(out), n)
		}
	}
	return out
}

func TestReadsFilesOfNSQ(t *testing.T) {
	dir := t.TempDir()
	o := testOpts(dir)
	want := records(200, "nsq")
	d := openNSQ(dir, o)
	for _, r := range want {
		if err := d.Put(r); err != nil {
			t.Fatal(err)
		}
	}
	sameRecords(t, readNSQ(t, d, 30), want[:30]) // a read position inside a file
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	q := Open("t", o)
	if q.Depth() != 170 {
		t.Fatalf("depth %d, want 170", q.Depth())
	}
	sameRecords(t, readAll(t, q, 9), want[30:])
	q.Close()
}

func TestNSQReadsOurFiles(t *testing.T) {
	dir := t.TempDir()
	o := testOpts(dir)
	want := records(200, "ours")
	q := Open("t", o)
	for i := 0; i < len(want); i += 17 {
		if err := q.PutBatch(want[i:min(i+17, len(want))]); err != nil {
			t.Fatal(err)
		}
	}
	sameRecords(t, q.Read(30), want[:30])
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}

	d := openNSQ(dir, o)
	defer d.Close()
	if d.Depth() != 170 {
		t.Fatalf("go-diskqueue depth %d, want 170", d.Depth())
	}
	sameRecords(t, readNSQ(t, d, 170), want[30:])
}

// TestSameBytesAsNSQ: the same records written by both (then closed) give
// identical file names and contents, metadata included.
func TestSameBytesAsNSQ(t *testing.T) {
	want := records(300, "same")
	dirNSQ, dirOurs := t.TempDir(), t.TempDir()
	o := testOpts(dirNSQ)
	d := openNSQ(dirNSQ, o)
	for _, r := range want {
		d.Put(r)
	}
	readNSQ(t, d, 100)
	d.Close()

	o.DataPath = dirOurs
	q := Open("t", o)
	q.PutBatch(want[:150])
	q.Read(60)
	q.Read(40)
	q.PutBatch(want[150:])
	q.Close()

	a, b := dataFiles(t, dirNSQ), dataFiles(t, dirOurs)
	if len(a) != len(b) {
		t.Fatalf("files differ: NSQ %v, ours %v", a, b)
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("files differ: NSQ %v, ours %v", a, b)
		}
		x, _ := os.ReadFile(filepath.Join(dirNSQ, a[i]))
		y, _ := os.ReadFile(filepath.Join(dirOurs, b[i]))
		if !bytes.Equal(x, y) {
			t.Fatalf("%s differs: NSQ %d bytes %.60q, ours %d bytes %.60q", a[i], len(x), x, len(y), y)
		}
	}
}
