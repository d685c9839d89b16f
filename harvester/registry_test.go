package harvester

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/testutil"
)

func testRegistry(tb testing.TB) *registry {
	tb.Helper()
	r, err := newRegistry(filepath.Join(tb.TempDir(), "sub", "registry.json"), lg.NewLeveled(testutil.NewLogger(tb), lg.DEBUG))
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func records(offsets ...int64) []Record {
	out := make([]Record, len(offsets))
	ts := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, off := range offsets {
		out[i] = Record{Dev: 1, Ino: uint64(100 + i), Path: "/var/log/f" + string(rune('a'+i)), Offset: off, Mtime: ts, LastSeen: ts, Topic: "t"}
	}
	return out
}

func mustLoad(tb testing.TB, r *registry) []Record {
	tb.Helper()
	recs, err := r.load()
	if err != nil {
		tb.Fatalf("load: %s", err)
	}
	return recs
}

func TestRegistryWriteIsAtomicAndKeepsOld(t *testing.T) {
	r := testRegistry(t)
	first, second := records(10, 20), records(30, 40)
	if err := r.write(first); err != nil {
		t.Fatal(err)
	}
	if err := r.write(second); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(r.path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("registry mode %o, want 600", perm)
	}
	entries, err := os.ReadDir(filepath.Dir(r.path))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"registry.json", "registry.json.old"}; !reflect.DeepEqual(names, want) {
		t.Errorf("directory holds %v, want %v (no temp files left)", names, want)
	}
	if got := mustLoad(t, testRegistryAt(t, r.path)); !reflect.DeepEqual(got, second) {
		t.Errorf("current generation = %+v, want %+v", got, second)
	}
	old, err := r.readFile(r.oldPath())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(old, first) {
		t.Errorf(".old generation = %+v, want %+v", old, first)
	}
}

func testRegistryAt(tb testing.TB, path string) *registry {
	tb.Helper()
	r, err := newRegistry(path, lg.NewLeveled(testutil.NewLogger(tb), lg.DEBUG))
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func TestRegistryFallback(t *testing.T) {
	older, newer := records(5), records(7)
	tests := []struct {
		name        string
		damage      func(tb testing.TB, path string) // applied to the current file
		damageOld   bool                             // also corrupt .old
		want        []Record
		wantCorrupt bool // a .corrupt file is left for inspection
	}{
		{"intact", func(testing.TB, string) {}, false, newer, false},
		{"empty", writeString(""), false, older, true},
		{"zero filled", writeString(strings.Repeat("\x00", 64)), false, older, true},
		{"garbage", writeString("{\"version\":1,\"files\":[{\"dev\":"), false, older, true},
		{"wrong version", writeString(`{"version":9,"files":[]}`), false, older, true},
		{"missing", func(tb testing.TB, p string) { os.Remove(p) }, false, older, false},
		{"both corrupt", writeString("junk"), true, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := testRegistry(t)
			if err := r.write(older); err != nil {
				t.Fatal(err)
			}
			if err := r.write(newer); err != nil {
				t.Fatal(err)
			}
			tc.damage(t, r.path)
			if tc.damageOld {
				writeString("also junk")(t, r.oldPath())
			}
			fresh := testRegistryAt(t, r.path)
			got := mustLoad(t, fresh)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("loaded %+v, want %+v", got, tc.want)
			}
			_, err := os.Stat(r.path + ".corrupt")
			if (err == nil) != tc.wantCorrupt {
				t.Errorf(".corrupt exists = %v, want %v", err == nil, tc.wantCorrupt)
			}
			// The next write must succeed and must not turn the fallback
			// into the only copy of something corrupt.
			if err := fresh.write(records(9)); err != nil {
				t.Fatal(err)
			}
			if got := mustLoad(t, testRegistryAt(t, r.path)); !reflect.DeepEqual(got, records(9)) {
				t.Errorf("after rewrite loaded %+v", got)
			}
		})
	}
}

func TestRegistrySkipsInvalidRecords(t *testing.T) {
	r := testRegistry(t)
	writeString(`{"version":1,"files":[{"dev":1,"ino":2,"path":"/a","offset":-5},{"dev":1,"ino":3,"path":"/b","offset":12}]}`)(t, r.path)
	got := mustLoad(t, r)
	if len(got) != 1 || got[0].Path != "/b" || got[0].Offset != 12 {
		t.Errorf("loaded %+v, want only /b at 12", got)
	}
}

func writeString(s string) func(testing.TB, string) {
	return func(tb testing.TB, path string) {
		tb.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
}

// TestExitWithoutMain: a Harvester that never ran still stops cleanly and
// leaves a valid registry behind.
func TestExitWithoutMain(t *testing.T) {
	o := validOptions()
	o.RegistryFile = filepath.Join(t.TempDir(), "registry.json")
	o.Logger = testutil.NewLogger(t)
	h, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	h.Exit()
	h.Exit()
	if recs := mustLoad(t, testRegistryAt(t, o.RegistryFile)); len(recs) != 0 {
		t.Errorf("registry holds %+v", recs)
	}
}
