package nsqd

import (
	"flag"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/cfg"
)

func TestLogRetentionSyntax(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want LogRetention
		str  string
	}{
		{"0", LogRetention{}, "0"},
		{"72h", LogRetention{For: 72 * time.Hour}, "72h0m0s"},
		{"10GiB", LogRetention{Bytes: 10 << 30}, "10GiB"},
		{"500MB", LogRetention{Bytes: 500e6}, "500000000B"},
		{"4096b", LogRetention{Bytes: 4096}, "4KiB"},
		{"72h,10GiB", LogRetention{For: 72 * time.Hour, Bytes: 10 << 30}, "72h0m0s,10GiB"},
		{"1kb, 90m", LogRetention{For: 90 * time.Minute, Bytes: 1000}, "1h30m0s,1000B"},
	} {
		var r LogRetention
		if err := r.Set(tc.in); err != nil || r != tc.want || r.String() != tc.str {
			t.Errorf("Set(%q) = %+v %q, %v; want %+v %q", tc.in, r, r.String(), err, tc.want, tc.str)
		}
		var back LogRetention
		if err := back.Set(r.String()); err != nil || back != r {
			t.Errorf("%q does not read back: %+v, %v", r.String(), back, err)
		}
	}
	for _, bad := range []string{"", "forever", "-1h", "10GB,20GB", "1h,2h", "1h,1GB,1", "0,1h", "0B", "1.5GB", "GiB", "99999999999TB"} {
		var r LogRetention
		if err := r.Set(bad); err == nil {
			t.Errorf("Set(%q) accepted: %+v", bad, r)
		}
	}
}

// TestLogRetentionConfigKey: the flag and the config key log_retention
// both reach Options, the flag winning.
func TestLogRetentionConfigKey(t *testing.T) {
	opts := NewOptions()
	if err := cfg.Resolve(opts, nil, map[string]any{"log_retention": "72h,10GiB"}); err != nil {
		t.Fatal(err)
	}
	if opts.LogRetention != (LogRetention{For: 72 * time.Hour, Bytes: 10 << 30}) {
		t.Fatalf("config file: %+v", opts.LogRetention)
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	v := opts.LogRetention
	fs.Var(&v, "log-retention", "")
	if err := fs.Parse([]string{"--log-retention=1GiB"}); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Resolve(opts, fs, map[string]any{"log_retention": "72h"}); err != nil {
		t.Fatal(err)
	}
	if opts.LogRetention != (LogRetention{Bytes: 1 << 30}) {
		t.Fatalf("flag over file: %+v", opts.LogRetention)
	}
	if err := cfg.Resolve(opts, nil, map[string]any{"log_retention": "lots"}); err == nil {
		t.Fatal("a bad config value was accepted")
	}
}
