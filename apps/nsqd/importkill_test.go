package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil"
	diskqueue "github.com/nsqio/go-diskqueue"
)

// writeNSQDir writes an NSQ data directory with go-diskqueue v1.1.0 (as
// NSQ's nsqd does): topic "kill" with channels c and d, each channel's
// own queue and the topic's queue. It returns what each channel must
// deliver.
func writeNSQDir(t *testing.T, dir string) map[string][]string {
	t.Helper()
	meta := `{"topics":[{"name":"kill","paused":false,"channels":[{"name":"c","paused":false},{"name":"d","paused":false}]}],"version":"1.3.0"}`
	if err := os.WriteFile(filepath.Join(dir, "nsqd.dat"), []byte(meta), 0o644); err != nil {
		t.Fatal(err)
	}
	write := func(name, prefix string, n int) []string {
		dq := diskqueue.New(name, dir, 64<<10, 26, 1<<20, 2500, time.Second, func(diskqueue.LogLevel, string, ...any) {})
		var bodies []string
		for i := 0; i < n; i++ {
			body := fmt.Sprintf("%s-%05d-%s", prefix, i, strings.Repeat(".", 150))
			rec := make([]byte, 26, 26+len(body))
			binary.BigEndian.PutUint64(rec, uint64(time.Now().UnixNano()))
			copy(rec[10:], fmt.Sprintf("%s%015x", prefix, i))
			if err := dq.Put(append(rec, body...)); err != nil {
				t.Fatal(err)
			}
			bodies = append(bodies, body)
		}
		if err := dq.Close(); err != nil {
			t.Fatal(err)
		}
		return bodies
	}
	c, d, topic := write("kill:c", "c", 6000), write("kill:d", "d", 4000), write("kill", "t", 2000)
	return map[string][]string{"c": append(c, topic...), "d": append(d, topic...)}
}

// TestImportKill9: nsqd --storage=log is SIGKILLed while it imports an
// NSQ data directory, at several points of the import (as its log lines
// show them), and started again each time; the start that completes it
// delivers every message of each channel exactly once.
func TestImportKill9(t *testing.T) {
	dir := t.TempDir()
	want := writeNSQDir(t, dir)
	kills := 0
	for _, mark := range []string{"", "IMPORT: taking over", "IMPORT: CHANNEL(kill:c)", "IMPORT: CHANNEL(kill:d)", "IMPORT: TOPIC(kill)", "IMPORT: done"} {
		addrs := testutil.FreeAddrs(t, 2)
		p := testutil.StartProc(t, binPath, nil, "--tcp-address="+addrs[0], "--http-address="+addrs[1], "--https-address=",
			"--broadcast-address=127.0.0.1", "--data-path="+dir, "--storage=log")
		finished := false
		if mark != "" {
			testutil.Poll(60*time.Second, func() bool {
				out := p.Stderr.String()
				finished = strings.Contains(out, "IMPORT: done") || !strings.Contains(out, "IMPORT:") && strings.Contains(out, "TCP: listening")
				return strings.Contains(out, mark) || finished || p.Exited()
			})
		}
		if p.Exited() {
			t.Fatalf("nsqd exited during the import:\n%s", p.Output())
		}
		p.Kill(t)
		kills++
		out := p.Stderr.String()
		t.Logf("kill %d at %q: discarded an incomplete import %v, import done %v", kills, mark,
			strings.Contains(out, "discarding the incomplete import"), strings.Contains(out, "IMPORT: done"))
		if finished {
			break
		}
	}
	t.Logf("%d kills during the import", kills)
	d := startLog(t, dir)
	for ch, w := range want {
		got := drainV2(t, d.tcp, "kill", ch, len(w))
		for _, b := range w {
			if got[b] != 1 {
				t.Fatalf("channel %s: %q delivered %d times (of %d messages, %d distinct delivered)", ch, b, got[b], len(w), len(got))
			}
		}
		if len(got) != len(w) {
			t.Fatalf("channel %s: %d distinct delivered, want %d", ch, len(got), len(w))
		}
		// a copy still queued (a duplicate the import made) would show here
		if err := testutil.Poll(20*time.Second, func() bool { return channelHolds(d.http, "kill", ch) == 0 }); err != nil {
			t.Fatalf("channel %s holds %d more after every message was delivered", ch, channelHolds(d.http, "kill", ch))
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.diskqueue.*")); len(left) > 0 {
		t.Fatalf("NSQ files left after the import: %v", left)
	}
	d.proc.Signal(t, syscall.SIGTERM)
	d.proc.Wait(t, 20*time.Second)
}

// drainV2 subscribes and FINs until n distinct messages arrived, then
// reads on until a NOP round trip shows nothing more was sent.
func drainV2(t *testing.T, addr, topic, channel string, n int) map[string]int {
	t.Helper()
	v, err := dialV2(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer v.c.Close()
	if _, err := fmt.Fprintf(v.c, "SUB %s %s\nRDY 500\n", topic, channel); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	distinct := 0
	for distinct < n {
		typ, data, err := v.frame()
		if err != nil {
			t.Fatalf("channel %s after %d: %v", channel, distinct, err)
		}
		switch {
		case typ == 0 && string(data) == "_heartbeat_":
			v.c.Write([]byte("NOP\n"))
		case typ == 2 && len(data) >= 26:
			b := string(data[26:])
			if got[b] == 0 {
				distinct++
			}
			got[b]++
			if _, err := fmt.Fprintf(v.c, "FIN %s\n", data[10:26]); err != nil {
				t.Fatal(err)
			}
		}
	}
	return got
}

// channelHolds is depth plus in flight of a channel in /stats (-1 when
// it cannot be read).
func channelHolds(httpAddr, topic, channel string) int64 {
	resp, err := http.Get("http://" + httpAddr + "/stats?format=json&topic=" + topic + "&channel=" + channel)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var st struct {
		Topics []struct {
			Channels []struct {
				Name     string `json:"channel_name"`
				Depth    int64  `json:"depth"`
				InFlight int64  `json:"in_flight_count"`
				Deferred int64  `json:"deferred_count"`
			} `json:"channels"`
		} `json:"topics"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return -1
	}
	for _, t := range st.Topics {
		for _, c := range t.Channels {
			if c.Name == channel {
				return c.Depth + c.InFlight + c.Deferred
			}
		}
	}
	return -1
}
