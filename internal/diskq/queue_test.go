package diskq

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

func testOpts(dir string) Options {
	return Options{DataPath: dir, MaxBytesPerFile: 1024, MinMsgSize: 1, MaxMsgSize: 512,
		SyncEvery: 2500, SyncTimeout: time.Second}
}

func records(n int, prefix string) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte(fmt.Sprintf("%s-%04d-%s", prefix, i, strings.Repeat("x", i%50)))
	}
	return out
}

func readAll(t testing.TB, q *Queue, batch int) [][]byte {
	t.Helper()
	var out [][]byte
	for {
		recs := q.Read(batch)
		if len(recs) == 0 {
			return out
		}
		out = append(out, recs...)
	}
}

func sameRecords(t testing.TB, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range got {
		if string(got[i]) != string(want[i]) {
			t.Fatalf("record %d: %q, want %q", i, got[i], want[i])
		}
	}
}

func dataFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	sort.Strings(m)
	return m
}

func TestRoundTripRolloverReopen(t *testing.T) {
	for _, batch := range []int{1, 7, 1000} {
		t.Run(fmt.Sprint("batch", batch), func(t *testing.T) {
			dir := t.TempDir()
			q := Open("t", testOpts(dir))
			want := records(300, "r")
			for i := 0; i < len(want); i += batch {
				if err := q.PutBatch(want[i:min(i+batch, len(want))]); err != nil {
					t.Fatal(err)
				}
			}
			if d := q.Depth(); d != 300 {
				t.Fatalf("depth %d", d)
			}
			got := q.Read(100)
			sameRecords(t, got, want[:100])
			if err := q.Close(); err != nil {
				t.Fatal(err)
			}
			if q.Put([]byte("x")) != ErrClosed {
				t.Fatal("closed queue took a put")
			}
			q = Open("t", testOpts(dir))
			if d := q.Depth(); d != 200 {
				t.Fatalf("depth after reopen %d", d)
			}
			sameRecords(t, readAll(t, q, 13), want[100:])
			if d := q.Depth(); d != 0 {
				t.Fatalf("depth after drain %d", d)
			}
			// fully read files are removed; one (empty or current) stays
			if files := dataFiles(t, dir); len(files) > 2 {
				t.Fatalf("files left after drain: %v", files)
			}
			if err := q.Delete(); err != nil {
				t.Fatal(err)
			}
			if files := dataFiles(t, dir); len(files) != 0 {
				t.Fatalf("Delete left %v", files)
			}
		})
	}
}

func TestFilesEndAtRecordBoundary(t *testing.T) {
	dir := t.TempDir()
	q := Open("t", testOpts(dir))
	defer q.Close()
	rec := make([]byte, 300) // 304 bytes framed: 3 per 1024-byte file
	for i := 0; i < 10; i++ {
		if err := q.Put(rec); err != nil {
			t.Fatal(err)
		}
	}
	for n := 0; n < 3; n++ {
		st, err := os.Stat(q.fileName(int64(n)))
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() != 3*304 {
			t.Fatalf("file %d is %d bytes", n, st.Size())
		}
	}
}

func TestSizeLimitsRefuseWholeBatch(t *testing.T) {
	q := Open("t", testOpts(t.TempDir()))
	defer q.Close()
	if err := q.PutBatch([][]byte{[]byte("ok"), make([]byte, 513)}); err == nil {
		t.Fatal("oversized record accepted")
	}
	if err := q.PutBatch([][]byte{[]byte("ok"), {}}); err == nil {
		t.Fatal("empty record accepted with MinMsgSize 1")
	}
	if q.Depth() != 0 || len(q.Read(10)) != 0 {
		t.Fatal("a refused batch left records behind")
	}
}

func TestEmpty(t *testing.T) {
	dir := t.TempDir()
	q := Open("t", testOpts(dir))
	defer q.Close()
	q.PutBatch(records(50, "a"))
	if err := q.Empty(); err != nil {
		t.Fatal(err)
	}
	if q.Depth() != 0 || len(q.Read(10)) != 0 {
		t.Fatal("Empty kept records")
	}
	if files := dataFiles(t, dir); len(files) != 0 {
		t.Fatalf("Empty left %v", files)
	}
	want := records(5, "b")
	q.PutBatch(want)
	sameRecords(t, readAll(t, q, 2), want)
}

// TestCorruptFileSetAside: a record length out of range makes the reader
// rename the file to .bad and go on with the next file.
func TestCorruptFileSetAside(t *testing.T) {
	dir := t.TempDir()
	q := Open("t", testOpts(dir))
	rec := make([]byte, 300)
	for i := 0; i < 6; i++ { // files 0 and 1, 3 records each
		rec[0] = byte(i)
		q.Put(rec)
	}
	q.Close()
	name := filepath.Join(dir, "t.diskqueue.000000.dat")
	b, _ := os.ReadFile(name)
	b[0] = 0xff // first length: negative
	os.WriteFile(name, b, 0o600)

	q = Open("t", testOpts(dir))
	defer q.Close()
	got := readAll(t, q, 10)
	if len(got) != 3 || got[0][0] != 3 {
		t.Fatalf("read %d records after a corrupt file", len(got))
	}
	if _, err := os.Stat(name + ".bad"); err != nil {
		t.Fatalf("corrupt file not set aside: %v", err)
	}
	if q.Depth() != 0 {
		t.Fatalf("depth %d at tail", q.Depth())
	}
}

// TestTruncatedTailSetAside: a file that ends inside a record (a torn
// write) is set aside too; new writes go to a new file and are read.
func TestTruncatedTailSetAside(t *testing.T) {
	dir := t.TempDir()
	q := Open("t", testOpts(dir))
	q.PutBatch(records(3, "a"))
	q.Close()
	// the metadata claims more than the file holds
	name := filepath.Join(dir, "t.diskqueue.000000.dat")
	st, _ := os.Stat(name)
	os.Truncate(name, st.Size()-3)
	os.WriteFile(filepath.Join(dir, "t.diskqueue.meta.dat"), []byte(fmt.Sprintf("3\n0,0\n0,%d\n", st.Size())), 0o600)

	q = Open("t", testOpts(dir))
	defer q.Close()
	got := readAll(t, q, 10)
	if len(got) != 2 {
		t.Fatalf("read %d records of a torn file, want 2", len(got))
	}
	want := records(2, "b")
	if err := q.PutBatch(want); err != nil {
		t.Fatal(err)
	}
	sameRecords(t, readAll(t, q, 10), want)
}

// TestUnsyncedTailSkipped: writes after the last metadata sync are beyond
// the metadata's write position; writing resumes in a new file and the
// reader still reads the old one to its end, as NSQ's does.
func TestUnsyncedTailSkipped(t *testing.T) {
	dir := t.TempDir()
	q := Open("t", testOpts(dir))
	q.PutBatch(records(3, "a"))
	q.mu.Lock()
	q.syncLocked()
	q.mu.Unlock()
	q.PutBatch(records(2, "late")) // not synced: "kill -9" here
	q.mu.Lock()
	q.closeFilesLocked()
	q.closed = true
	q.mu.Unlock()

	q = Open("t", testOpts(dir))
	defer q.Close()
	q.Put([]byte("new"))
	got := readAll(t, q, 10)
	if len(got) != 6 || string(got[3]) != "late-0000-" || string(got[5]) != "new" {
		t.Fatalf("got %q", got)
	}
}

func TestSyncEveryPersistsPositions(t *testing.T) {
	dir := t.TempDir()
	o := testOpts(dir)
	o.SyncEvery = 1
	q := Open("t", o)
	q.PutBatch(records(4, "a"))
	q.Read(1)
	meta, err := os.ReadFile(filepath.Join(dir, "t.diskqueue.meta.dat"))
	if err != nil {
		t.Fatal(err)
	}
	first := 4 + len(records(1, "a")[0])
	var total int
	for _, r := range records(4, "a") {
		total += 4 + len(r)
	}
	if want := fmt.Sprintf("3\n0,%d\n0,%d\n", first, total); string(meta) != want {
		t.Fatalf("metadata %q, want %q", meta, want)
	}
	q.Close()
}

func TestSyncTimeout(t *testing.T) {
	dir := t.TempDir()
	o := testOpts(dir)
	o.SyncTimeout = 10 * time.Millisecond
	q := Open("t", o)
	defer q.Close()
	q.Put([]byte("a"))
	meta := filepath.Join(dir, "t.diskqueue.meta.dat")
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(meta)
		if err == nil && string(b) == "1\n0,0\n0,5\n" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("metadata not synced by the timeout: %q %v", b, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestReadySignalled(t *testing.T) {
	q := Open("t", testOpts(t.TempDir()))
	defer q.Close()
	done := make(chan []byte)
	go func() {
		for {
			if recs := q.Read(1); len(recs) > 0 {
				done <- recs[0]
				return
			}
			<-q.Ready()
		}
	}()
	q.Put([]byte("hello"))
	select {
	case b := <-done:
		if string(b) != "hello" {
			t.Fatalf("read %q", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("reader not woken")
	}
}
