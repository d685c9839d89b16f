package nsqd

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil"
)

// refNSQD returns NSQ v1.3's nsqd: in $NSQ_REF_DIR, else in shared/ref
// beside the checkout or one of its parents (worktrees live deeper); ""
// when there is none.
func refNSQD() string {
	dirs := []string{os.Getenv("NSQ_REF_DIR")}
	for up := "../.."; len(up) <= len("../../../.."); up += "/.." {
		dirs = append(dirs, filepath.Join(up, "shared", "ref"))
	}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		p, err := filepath.Abs(filepath.Join(d, "nsqd"))
		if err != nil {
			continue
		}
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

func refPost(tb testing.TB, addr, path, body string) {
	tb.Helper()
	resp, err := http.Post("http://"+addr+path, "application/octet-stream", strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		tb.Fatalf("ref nsqd %s: %d %s", path, resp.StatusCode, data)
	}
}

// refConsume takes n messages of a channel from the reference nsqd and
// FINs them (RDY 1: one in flight at a time); it returns their bodies.
func refConsume(tb testing.TB, addr, topic, channel string, n int) map[string]bool {
	tb.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	fmt.Fprintf(c, "  V2SUB %s %s\nRDY 1\n", topic, channel)
	got := map[string]bool{}
	for len(got) < n {
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			tb.Fatal(err)
		}
		data := make([]byte, binary.BigEndian.Uint32(hdr[:4])-4)
		if _, err := io.ReadFull(r, data); err != nil {
			tb.Fatal(err)
		}
		if binary.BigEndian.Uint32(hdr[4:]) != 2 { // not a message: OK of SUB
			continue
		}
		got[string(data[26:])] = true
		fmt.Fprintf(c, "FIN %s\n", data[10:26])
	}
	// NOP and a round trip to be sure the last FIN was processed
	fmt.Fprintf(c, "RDY 0\nNOP\n")
	return got
}

// TestImportFromRefNSQD: a data directory written by a real NSQ v1.3
// nsqd (--mem-queue-size=0, so every message is in a disk queue: the
// channels' copies, and the paused topic's own queue) is taken over by
// --storage=log: each channel delivers what NSQ's would have.
func TestImportFromRefNSQD(t *testing.T) {
	ref := refNSQD()
	if ref == "" {
		testutil.Skip(t, "NSQ v1.3 reference nsqd not found (shared/ref beside the checkout, or $NSQ_REF_DIR): skipping the import of its data directory")
	}
	dir := t.TempDir()
	addrs := testutil.FreeAddrs(t, 2)
	p := testutil.StartProc(t, ref, nil, "--data-path="+dir, "--tcp-address="+addrs[0], "--http-address="+addrs[1],
		"--https-address=", "--broadcast-address=127.0.0.1", "--mem-queue-size=0")
	p.WaitHTTP(t, "http://"+addrs[1]+"/ping", 30*time.Second)
	refPost(t, addrs[1], "/topic/create?topic=ref", "")
	for _, ch := range []string{"a", "b", "c"} {
		refPost(t, addrs[1], "/channel/create?topic=ref&channel="+ch, "")
	}
	early, late := bodies("R", 300), bodies("P", 100)
	refPost(t, addrs[1], "/mpub?topic=ref", strings.Join(early, "\n"))
	// NSQ's topic copies to the channels in the background: wait until it
	// has, so the channel created later does not get these too
	eventually(t, func() bool { return refTopicDepth(t, addrs[1], "ref") == 0 }, "ref nsqd copied the first batch to its channels")
	consumed := refConsume(t, addrs[0], "ref", "a", 10)
	refPost(t, addrs[1], "/channel/pause?topic=ref&channel=b", "")
	refPost(t, addrs[1], "/topic/pause?topic=ref", "")
	refPost(t, addrs[1], "/channel/create?topic=ref&channel=late", "")
	refPost(t, addrs[1], "/mpub?topic=ref", strings.Join(late, "\n"))
	p.Signal(t, syscall.SIGTERM)
	if code := p.Wait(t, 60*time.Second); code != 0 {
		t.Fatalf("ref nsqd exit %d:\n%s", code, p.Output())
	}
	queues, _ := filepath.Glob(filepath.Join(dir, "*.diskqueue.*.dat"))
	t.Logf("NSQ left %d queue files", len(queues))

	opts := logOptions(t, false)
	opts.DataPath = dir
	n := startNSQD(t, opts)
	var restA []string
	for _, b := range early {
		if !consumed[b] {
			restA = append(restA, b)
		}
	}
	want := map[string][]string{
		"a":    append(restA, late...),
		"b":    append(append([]string{}, early...), late...),
		"c":    append(append([]string{}, early...), late...),
		"late": late,
	}
	st := getStats(t, n, "&topic=ref")
	if len(st.Topics) != 1 || !st.Topics[0].Paused {
		t.Fatalf("topic ref after the import: %+v", st.Topics)
	}
	for ch, w := range want {
		eventually(t, func() bool {
			cs := channelStatsOf(t, n, "ref", ch)
			return cs != nil && cs.Paused == (ch == "b") && cs.Depth == int64(len(w))
		}, "channel %s after the import: paused %v, depth %d", ch, ch == "b", len(w))
	}
	httpDo(t, n, "POST", "/topic/unpause?topic=ref", "")
	httpDo(t, n, "POST", "/channel/unpause?topic=ref&channel=b", "")
	for _, ch := range []string{"a", "b", "c", "late"} {
		drainChannel(t, n, "ref", ch, want[ch])
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.diskqueue.*")); len(left) > 0 {
		t.Fatalf("NSQ files left: %v", left)
	}
}

// refTopicDepth is the depth of a topic's own queue in the reference nsqd.
func refTopicDepth(tb testing.TB, addr, topic string) int64 {
	tb.Helper()
	resp, err := http.Get("http://" + addr + "/stats?format=json&topic=" + topic)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Topics []struct {
			Name  string `json:"topic_name"`
			Depth int64  `json:"depth"`
		} `json:"topics"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		tb.Fatalf("ref nsqd /stats: %v", err)
	}
	for _, t := range st.Topics {
		if t.Name == topic {
			return t.Depth
		}
	}
	return -1
}
