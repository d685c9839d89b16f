package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil"
)

// replayHTTP posts path and returns the status and body.
func replayHTTP(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	resp, err := http.Post("http://"+addr+path, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// readBodies subscribes to topic/channel and returns the first n bodies,
// FINing each when fin is set.
func readBodies(t *testing.T, addr, topic, channel string, n int, fin bool) ([]string, *v2conn) {
	t.Helper()
	v, err := dialV2(addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Fprintf(v.c, "SUB %s %s\nRDY %d\n", topic, channel, n); err != nil {
		t.Fatal(err)
	}
	var out []string
	for len(out) < n {
		typ, data, err := v.frame()
		if err != nil {
			t.Fatalf("%s/%s after %d messages: %v", topic, channel, len(out), err)
		}
		switch {
		case typ == 0 && string(data) == "_heartbeat_":
			v.c.Write([]byte("NOP\n"))
		case typ == 2 && len(data) >= 26:
			out = append(out, string(data[26:]))
			if fin {
				v.c.Write([]byte("FIN " + string(data[10:26]) + "\n"))
			}
		}
	}
	return out, v
}

// TestReplaySurvivesKill9: the built binary with --storage=log
// --log-retention: a channel consumed to the end is rewound to earliest
// and another created at earliest, then nsqd is killed with SIGKILL; after
// the restart both deliver every message again, in publish order.
// --log-retention in diskqueue mode refuses to start.
func TestReplaySurvivesKill9(t *testing.T) {
	if code, out := runBinary("--log-retention=1h", "--data-path="+t.TempDir(), "--tcp-address=127.0.0.1:0",
		"--http-address=127.0.0.1:0", "--https-address="); code == 0 || !strings.Contains(out, "--log-retention") {
		t.Fatalf("--log-retention in diskqueue mode: exit %d\n%s", code, out)
	}
	dir := t.TempDir()
	d := start(t, "--storage=log", "--log-retention=1h,1GiB", "--data-path="+dir, "--msg-timeout=60s")
	v, err := dialV2(d.tcp)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := 0; i < 30; i++ {
		want = append(want, fmt.Sprintf("msg-%02d", i))
	}
	if code, body := replayHTTP(t, d.http, "/channel/create?topic=k&channel=c"); code != 404 {
		t.Fatalf("create before the topic: %d %s", code, body) // as NSQ: the topic must exist
	}
	replayHTTP(t, d.http, "/topic/create?topic=k")
	replayHTTP(t, d.http, "/channel/create?topic=k&channel=c")
	for _, b := range want {
		if err := v.pub("k", []byte(b)); err != nil {
			t.Fatal(err)
		}
	}
	got, sub := readBodies(t, d.tcp, "k", "c", len(want), true)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("first pass: %v", got)
	}
	// every FIN processed, then the consumer goes
	err = testutil.Poll(20*time.Second, func() bool {
		resp, err := http.Get("http://" + d.http + "/stats?format=json&topic=k&channel=c")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var s struct {
			Topics []struct {
				Storage  string `json:"storage"`
				Channels []struct {
					Depth    int64 `json:"depth"`
					InFlight int64 `json:"in_flight_count"`
				} `json:"channels"`
			} `json:"topics"`
		}
		return json.NewDecoder(resp.Body).Decode(&s) == nil && len(s.Topics) == 1 && s.Topics[0].Storage == "log" &&
			len(s.Topics[0].Channels) == 1 && s.Topics[0].Channels[0].Depth == 0 && s.Topics[0].Channels[0].InFlight == 0
	})
	if err != nil {
		t.Fatal("the channel did not finish everything")
	}
	sub.c.Close()
	for _, p := range []string{"/channel/rewind?topic=k&channel=c&to=earliest", "/channel/create?topic=k&channel=late&start=earliest"} {
		if code, body := replayHTTP(t, d.http, p); code != 200 || body != `{"messages":30}` {
			t.Fatalf("POST %s: %d %s", p, code, body)
		}
	}
	d.Signal(t, syscall.SIGKILL)
	if err := testutil.Poll(20*time.Second, d.Exited); err != nil {
		t.Fatal("nsqd still running after SIGKILL")
	}

	d = start(t, "--storage=log", "--log-retention=1h,1GiB", "--data-path="+dir)
	for _, ch := range []string{"c", "late"} {
		got, sub := readBodies(t, d.tcp, "k", ch, len(want), true)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("channel %s after kill -9: %v", ch, got)
		}
		sub.c.Close()
	}
	d.stop(t)
}
