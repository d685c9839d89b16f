package nsqadmin

import (
	"strings"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/clusterinfo"
)

func TestNormalizeBasePath(t *testing.T) {
	for in, want := range map[string]string{"": "/", "/": "/", "admin": "/admin", "/admin/": "/admin", "//a//b/": "/a/b", "a/../b": "/b"} {
		if got := normalizeBasePath(in); got != want {
			t.Errorf("normalizeBasePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(o *Options)
		want  string // "" = valid
	}{
		{"defaults with a lookupd", func(o *Options) {}, ""},
		{"history too fine", func(o *Options) { o.HistoryInterval = time.Millisecond }, "--history-interval must be >= 10ms"},
		{"history shorter than interval", func(o *Options) { o.HistoryDuration = time.Second }, "--history-duration must be >= --history-interval"},
		{"history too long", func(o *Options) { o.HistoryInterval = 10 * time.Millisecond }, "must be <= 10000 samples"},
		{"statsd interval", func(o *Options) { o.StatsdInterval = 0 }, "--statsd-interval must be >= 1s"},
		{"timeouts", func(o *Options) { o.HTTPClientRequestTimeout = 0 }, "must be > 0"},
		{"format placeholder", func(o *Options) { o.StatsdGaugeFormat = "gauges.%d" }, "may only contain %s"},
		{"empty acl header with admins", func(o *Options) { o.ACLHTTPHeader = ""; o.AdminUsers = []string{"a"} }, "--acl-http-header must not be empty"},
		{"bad lookupd", func(o *Options) { o.NSQLookupdHTTPAddresses = []string{"nope"} }, "failed to resolve --lookupd-http-address (nope)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := NewOptions()
			o.NSQLookupdHTTPAddresses = []string{"127.0.0.1:4161"}
			tc.setup(o)
			err := o.validate()
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("validate() = %v, want %q", err, tc.want)
			}
		})
	}
}

func producersOfVersions(versions ...string) []*Producer {
	ps := make([]*Producer, len(versions))
	for i, v := range versions {
		ps[i] = &Producer{Identity: clusterinfo.Identity{Version: v}}
	}
	return ps
}

func TestVersionOrder(t *testing.T) {
	ps := producersOfVersions("1.3.0", "1.2.1", "1.3.0-rc1", "garbage", "v1.3.0", "1.10.0")
	markOutOfDate(ps)
	for i, want := range []bool{true, true, true, true, true, false} {
		if ps[i].OutOfDate != want {
			t.Errorf("%s: out_of_date = %v, want %v", ps[i].Version, ps[i].OutOfDate, want)
		}
	}
	same := producersOfVersions("1.3.0", "1.3.0")
	markOutOfDate(same)
	if same[0].OutOfDate || same[1].OutOfDate {
		t.Error("equal versions are not out of date")
	}
}
