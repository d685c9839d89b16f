package gonsqtest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil/gonsqtest"
	"github.com/dropin/nsq/nsqd/nsqdtest"
)

func TestCollector(t *testing.T) {
	tcpAddr, httpAddr := nsqdtest.Addrs(nsqdtest.Start(t))
	c := gonsqtest.Consume(t, "gt", "ch", gonsqtest.Options{NSQD: []string{tcpAddr}})
	for _, b := range []string{"a", "b", "a"} {
		resp, err := http.Post("http://"+httpAddr+"/pub?topic=gt", "text/plain", strings.NewReader(b))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("pub %s: %v %v", b, err, resp)
		}
		resp.Body.Close()
	}
	c.WaitAll(t, []string{"a", "b"}, 20*time.Second)
	c.WaitTotal(t, 3, 20*time.Second)
	if c.Count("a") != 2 || c.Distinct() != 2 || c.Duplicates() != 1 || !c.Has("b") || c.Has("c") {
		t.Errorf("counts: a %d, distinct %d, duplicates %d", c.Count("a"), c.Distinct(), c.Duplicates())
	}
	if got := c.Missing([]string{"a", "z"}); len(got) != 1 || got[0] != "z" {
		t.Errorf("Missing = %q", got)
	}
	if got := c.Unexpected([]string{"a"}); len(got) != 1 || got[0] != "b" {
		t.Errorf("Unexpected = %q", got)
	}
	var order []string
	for _, b := range c.Bodies() {
		order = append(order, string(b))
	}
	if strings.Join(order, ",") != "a,b,a" {
		t.Errorf("arrival order %v", order)
	}
	c.Stop(t)
	c.Stop(t) // idempotent
}

func TestDescribe(t *testing.T) {
	long := strings.Repeat("x", 100)
	got := gonsqtest.Describe([]string{"a", long, "c"}, 2)
	want := `["a" "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"... (100 bytes) and 1 more]`
	if got != want {
		t.Errorf("Describe = %s\nwant %s", got, want)
	}
}
