package vfs

import (
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"path"
	"syscall"
	"testing"
)

// fsSuite runs the same behaviour checks against every implementation.
func TestFSContract(t *testing.T) {
	impls := []struct {
		name string
		make func(t *testing.T) (FS, string)
	}{
		{"os", func(t *testing.T) (FS, string) { return OS(), t.TempDir() }},
		{"mem", func(t *testing.T) (FS, string) { return NewMemFS(), "/data" }},
		{"fault(mem)", func(t *testing.T) (FS, string) { return NewFaultFS(NewMemFS()), "/data" }},
	}
	for _, impl := range impls {
		t.Run(impl.name, func(t *testing.T) {
			fsys, root := impl.make(t)
			testContract(t, fsys, root)
		})
	}
}

func mustWrite(t testing.TB, f File, s string) {
	t.Helper()
	if n, err := f.Write([]byte(s)); err != nil || n != len(s) {
		t.Fatalf("write %q: n=%d err=%v", s, n, err)
	}
}

func readAll(t testing.TB, f File) string {
	t.Helper()
	size, err := f.Size()
	if err != nil {
		t.Fatalf("size: %v", err)
	}
	buf := make([]byte, size)
	if n, err := f.ReadAt(buf, 0); err != nil && !(errors.Is(err, io.EOF) && n == len(buf)) {
		t.Fatalf("read: %v", err)
	}
	return string(buf)
}

func testContract(t *testing.T, fsys FS, root string) {
	dir := path.Join(root, "a", "b")
	if err := fsys.MkdirAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := fsys.MkdirAll(dir); err != nil {
		t.Fatalf("MkdirAll twice: %v", err)
	}
	name := path.Join(dir, "f")
	f, err := fsys.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, f, "hello ")
	mustWrite(t, f, "world")
	if got := readAll(t, f); got != "hello world" {
		t.Fatalf("read back %q", got)
	}
	if err := f.Truncate(5); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, f, "!")
	if got := readAll(t, f); got != "hello!" {
		t.Fatalf("after truncate+append: %q", got)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	// OpenReadWrite appends at the end.
	f, err = fsys.OpenReadWrite(name)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, f, "?")
	if got := readAll(t, f); got != "hello!?" {
		t.Fatalf("append after reopen: %q", got)
	}
	f.Close()

	// Open is read-only.
	f, err = fsys.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("x")); err == nil {
		t.Fatal("write to a read-only file succeeded")
	}
	buf := make([]byte, 10)
	if n, err := f.ReadAt(buf, 4); n != 3 || !errors.Is(err, io.EOF) {
		t.Fatalf("short ReadAt: n=%d err=%v", n, err)
	}
	f.Close()

	if _, err := fsys.OpenReadWrite(path.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("OpenReadWrite of a missing file: %v", err)
	}
	if _, err := fsys.Create(path.Join(root, "nodir", "f")); err == nil {
		t.Fatal("Create in a missing directory succeeded")
	}

	other := path.Join(dir, "g")
	if err := fsys.Rename(name, other); err != nil {
		t.Fatal(err)
	}
	names, err := fsys.List(dir)
	if err != nil || len(names) != 1 || names[0] != "g" {
		t.Fatalf("List after rename: %v %v", names, err)
	}
	if err := fsys.SyncDir(dir); err != nil {
		t.Fatal(err)
	}
	if err := fsys.Remove(other); err != nil {
		t.Fatal(err)
	}
	if names, _ := fsys.List(dir); len(names) != 0 {
		t.Fatalf("List after remove: %v", names)
	}
	if err := fsys.Remove(path.Join(root, "a")); err == nil {
		t.Fatal("removing a non-empty directory succeeded")
	}
}

func TestMemFSCrashDropsUnsynced(t *testing.T) {
	m := NewMemFS()
	m.MkdirAll("/d")
	m.SyncDir("/")
	f, _ := m.Create("/d/synced")
	mustWrite(t, f, "durable")
	f.Sync()
	mustWrite(t, f, " lost")
	m.SyncDir("/d")
	g, _ := m.Create("/d/nodirsync")
	mustWrite(t, g, "x")
	g.Sync()

	m.Crash()
	if _, err := f.Write([]byte("x")); !errors.Is(err, ErrCrashed) {
		t.Fatalf("old handle after crash: %v", err)
	}
	if got := m.Files(); len(got) != 1 || got[0] != "/d/synced" {
		t.Fatalf("files after crash: %v", got)
	}
	f, _ = m.Open("/d/synced")
	if got := readAll(t, f); got != "durable" {
		t.Fatalf("contents after crash: %q", got)
	}
}

func TestMemFSDirectoryDurability(t *testing.T) {
	m := NewMemFS()
	m.MkdirAll("/a/b")
	m.SyncDir("/a") // b is durable in a, but a is not durable in /
	f, _ := m.Create("/a/b/f")
	f.Sync()
	m.SyncDir("/a/b")
	m.Crash()
	if got := m.Files(); len(got) != 0 {
		t.Fatalf("files under a non-durable directory survived: %v", got)
	}

	m.MkdirAll("/a/b")
	m.SyncDir("/")
	m.SyncDir("/a")
	f, _ = m.Create("/a/b/tmp")
	mustWrite(t, f, "v1")
	f.Sync()
	m.SyncDir("/a/b")
	m.Rename("/a/b/tmp", "/a/b/final")
	m.Remove("/a/b/tmp") // already gone: error ignored
	m.Crash()
	if got := m.Files(); len(got) != 1 || got[0] != "/a/b/tmp" {
		t.Fatalf("un-synced rename was kept: %v", got)
	}
	m.Rename("/a/b/tmp", "/a/b/final")
	m.SyncDir("/a/b")
	m.Crash()
	if got := m.Files(); len(got) != 1 || got[0] != "/a/b/final" {
		t.Fatalf("synced rename was lost: %v", got)
	}
	m.Remove("/a/b/final")
	m.Crash()
	if got := m.Files(); len(got) != 1 {
		t.Fatalf("un-synced remove was kept: %v", got)
	}
}

func TestMemFSTruncateThenCrash(t *testing.T) {
	m := NewMemFS()
	f, _ := m.Create("/f")
	m.SyncDir("/")
	mustWrite(t, f, "abcdef")
	f.Sync()
	f.Truncate(2)
	mustWrite(t, f, "XYZW")
	m.Crash()
	f, _ = m.Open("/f")
	if got := readAll(t, f); got != "abcdef" {
		t.Fatalf("unsynced truncate+overwrite leaked into synced data: %q", got)
	}
}

func TestMemFSCrashTornKeepsPrefix(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	seen := map[int]bool{}
	for i := 0; i < 200; i++ {
		m := NewMemFS()
		f, _ := m.Create("/f")
		m.SyncDir("/")
		mustWrite(t, f, "sync")
		f.Sync()
		mustWrite(t, f, "0123456789")
		m.CrashTorn(rng)
		f, _ = m.Open("/f")
		got := readAll(t, f)
		want := "sync0123456789"
		if len(got) < 4 || got != want[:len(got)] {
			t.Fatalf("torn crash kept %q, not a prefix of %q with the synced part", got, want)
		}
		seen[len(got)] = true
	}
	if len(seen) < 5 {
		t.Fatalf("torn crash kept too few distinct lengths: %v", seen)
	}
}

func TestFaultFS(t *testing.T) {
	m := NewMemFS()
	ff := NewFaultFS(m)
	f, _ := ff.Create("/f")
	ff.FailWrite(2)
	mustWrite(t, f, "ok")
	if n, err := f.Write([]byte("abcd")); !errors.Is(err, ErrInjected) || n != 2 {
		t.Fatalf("injected write: n=%d err=%v", n, err)
	}
	mustWrite(t, f, "next")
	ff.FailSync(1)
	if err := f.Sync(); !errors.Is(err, ErrInjected) {
		t.Fatalf("injected sync: %v", err)
	}
	if err := f.Sync(); err != nil {
		t.Fatalf("second sync: %v", err)
	}
	ff.LimitSpace(3)
	if n, err := f.Write([]byte("12345")); !errors.Is(err, syscall.ENOSPC) || n != 3 {
		t.Fatalf("ENOSPC write: n=%d err=%v", n, err)
	}
	if _, err := f.Write([]byte("x")); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("write on a full disk: %v", err)
	}
	ff.LimitSpace(-1)
	mustWrite(t, f, "!")
	if got := readAll(t, f); got != "okabnext123!" {
		t.Fatalf("contents: %q", got)
	}
	ff.FailAllSyncs(true)
	if err := ff.SyncDir("/"); !errors.Is(err, ErrInjected) {
		t.Fatalf("SyncDir while syncs fail: %v", err)
	}
}

func TestMemFSCrashGarbledSparesSyncedBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	changed := 0
	for i := 0; i < 100; i++ {
		m := NewMemFS()
		f, _ := m.Create("/f")
		m.SyncDir("/")
		mustWrite(t, f, "synced")
		f.Sync()
		mustWrite(t, f, "0123456789abcdef")
		m.CrashGarbled(rng)
		f, _ = m.Open("/f")
		got := readAll(t, f)
		if len(got) < 6 || got[:6] != "synced" {
			t.Fatalf("garbled crash touched synced bytes: %q", got)
		}
		if got != "synced0123456789abcdef"[:len(got)] {
			changed++
		}
	}
	if changed == 0 {
		t.Fatal("garbled crash never changed a byte")
	}
}
