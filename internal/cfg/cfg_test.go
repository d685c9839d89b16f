package cfg

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

type level int

func (l *level) Set(s string) error {
	switch strings.ToLower(s) {
	case "debug":
		*l = 1
	case "info":
		*l = 2
	default:
		return os.ErrInvalid
	}
	return nil
}

type testOpts struct {
	ID       int64         `flag:"node-id" cfg:"id"`
	Timeout  time.Duration `flag:"msg-timeout"`
	Size     int64         `flag:"mem-queue-size"`
	Snappy   bool          `flag:"snappy"`
	Lookupds []string      `flag:"lookupd-tcp-address" cfg:"nsqlookupd_tcp_addresses"`
	Pcts     []float64     `flag:"e2e-processing-latency-percentile" cfg:"e2e_processing_latency_percentiles"`
	Level    level         `flag:"log-level"`
	Name     string        `flag:"name"`
	NotOpt   int
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.toml")
	os.WriteFile(path, []byte(`
id = 7
msg_timeout = 1500
mem_queue_size = 5
snappy = "false"
nsqlookupd_tcp_addresses = "a:1, b:2"
e2e_processing_latency_percentiles = [1.0, 0.99, 1]
log_level = "DEBUG"
name = "fromfile"
unknown_key = 1
`), 0o600)
	file, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	o := testOpts{ID: 1, Timeout: time.Minute, Size: 10000, Snappy: true, Name: "default"}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.Int64("mem-queue-size", o.Size, "")
	fs.String("name", o.Name, "")
	var lk StringList
	fs.Var(&lk, "lookupd-tcp-address", "")
	if err := fs.Parse([]string{"--mem-queue-size=9"}); err != nil {
		t.Fatal(err)
	}
	if err := Resolve(&o, fs, file); err != nil {
		t.Fatal(err)
	}
	want := testOpts{ID: 7, Timeout: 1500 * time.Millisecond, Size: 9, Snappy: false,
		Lookupds: []string{"a:1", "b:2"}, Pcts: []float64{1, 0.99, 1}, Level: 1, Name: "fromfile"}
	if !reflect.DeepEqual(o, want) {
		t.Fatalf("got %+v\nwant %+v", o, want)
	}

	// flags beat the file, repeated list flags accumulate
	fs2 := flag.NewFlagSet("x", flag.ContinueOnError)
	var lk2 StringList
	fs2.Var(&lk2, "lookupd-tcp-address", "")
	fs2.String("msg-timeout", "", "")
	fs2.Parse([]string{"--lookupd-tcp-address=c:3", "--lookupd-tcp-address=d:4", "--msg-timeout=2s"})
	if err := Resolve(&o, fs2, file); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(o.Lookupds, []string{"c:3", "d:4"}) || o.Timeout != 2*time.Second {
		t.Fatalf("flags did not win: %+v", o)
	}

	bad := map[string]any{"msg_timeout": "soon"}
	err = Resolve(&o, nil, bad)
	if err == nil || !strings.Contains(err.Error(), "--msg-timeout") {
		t.Fatalf("bad duration error %v should name the flag", err)
	}
	if _, err := LoadFile(filepath.Join(dir, "missing.toml")); err == nil {
		t.Fatal("missing file accepted")
	}
	if v, ok := Lookup(&o, "id"); !ok || v.Int() != 7 {
		t.Fatal("Lookup id")
	}
}

func TestFloatList(t *testing.T) {
	var f FloatList
	f.Set("1.0,0.99")
	f.Set("0.5")
	if !reflect.DeepEqual([]float64(f), []float64{1, 0.99, 0.5}) {
		t.Fatal(f)
	}
	if f.Set("x") == nil {
		t.Fatal("bad float accepted")
	}
}
