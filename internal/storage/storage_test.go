package storage

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/lg"
)

func diskOpts(dir string) DiskOptions {
	return DiskOptions{DataPath: dir, MaxBytesPerFile: 1024, MinMsgSize: 1, MaxMsgSize: 100,
		SyncEvery: 1, SyncTimeout: time.Second, Log: lg.NewLeveled(lg.Nop{}, lg.ERROR)}
}

func TestDiskRoundTripAndDelete(t *testing.T) {
	dir := t.TempDir()
	d := NewDisk("q", diskOpts(dir))
	for _, m := range []string{"a", "bb", "ccc"} {
		if err := d.Put([]byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	if got := readOne(t, d); got != "a" {
		t.Fatalf("read %q", got)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d = NewDisk("q", diskOpts(dir))
	if n := d.Depth(); n != 2 {
		t.Fatalf("depth after reopen %d", n)
	}
	if got := readOne(t, d); got != "bb" {
		t.Fatalf("read after reopen %q", got)
	}
	if err := d.Delete(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "q.diskqueue.*"))
	if len(files) != 0 {
		t.Fatalf("Delete left %v", files)
	}
}

func TestDiscard(t *testing.T) {
	d := NewDiscard()
	if err := d.Put([]byte("x")); err != nil || d.Depth() != 0 || d.Read(1) != nil {
		t.Fatal("discard kept something")
	}
	d.Close()
	if d.Put([]byte("x")) == nil {
		t.Fatal("closed discard accepted a put")
	}
}

func readOne(t *testing.T, d Backend) string {
	t.Helper()
	recs := d.Read(1)
	if len(recs) != 1 {
		t.Fatalf("read %d records, want 1", len(recs))
	}
	return string(recs[0])
}
