package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil"
)

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "nsqd-app-test")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "nsqd")
	if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build failed: %s\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// daemon is a running nsqd process.
type daemon struct {
	*testutil.Proc
	tcp  string
	http string
}

// start runs nsqd on free 127.0.0.1 ports with args and waits until it
// answers /ping.
func start(t *testing.T, args ...string) *daemon {
	t.Helper()
	addrs := testutil.FreeAddrs(t, 2)
	d := &daemon{tcp: addrs[0], http: addrs[1]}
	args = append([]string{"--tcp-address=" + d.tcp, "--http-address=" + d.http, "--https-address=",
		"--broadcast-address=127.0.0.1"}, args...)
	d.Proc = testutil.StartProc(t, binPath, nil, args...)
	d.WaitHTTP(t, "http://"+d.http+"/ping", 20*time.Second)
	return d
}

// stop sends SIGTERM and wants exit status 0.
func (d *daemon) stop(t *testing.T) {
	t.Helper()
	d.Signal(t, syscall.SIGTERM)
	if code := d.Wait(t, 20*time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM:\n%s", code, d.Output())
	}
}

func runBinary(args ...string) (int, string) {
	cmd := exec.Command(binPath, args...)
	out, _ := cmd.CombinedOutput()
	return cmd.ProcessState.ExitCode(), string(out)
}

func TestVersionAndHelp(t *testing.T) {
	code, out := runBinary("--version")
	if code != 0 || !strings.HasPrefix(out, "nsqd v1.3.0 (built w/go") {
		t.Fatalf("--version: %d %q", code, out)
	}
	code, out = runBinary("--help")
	if code != 0 || !strings.Contains(out, "-mem-queue-size") || !strings.Contains(out, "-lookupd-tcp-address") {
		t.Fatalf("--help: %d %q", code, out)
	}
}

func TestBadValues(t *testing.T) {
	dir := t.TempDir()
	// storage = "diskqueue" in a config file is refused as the flag is,
	// not silently replaced by the log that replication and --sync-ack need
	diskqueueCfg := filepath.Join(dir, "diskqueue.cfg")
	if err := os.WriteFile(diskqueueCfg, []byte("storage = \"diskqueue\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	replCfg := filepath.Join(dir, "repl.cfg")
	if err := os.WriteFile(replCfg, []byte("id = 1\nstorage = \"diskqueue\"\nreplication_peers = \"1=127.0.0.1:1,2=127.0.0.1:2,3=127.0.0.1:3\"\nreplication_address = \"127.0.0.1:1\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--mem-queue-size=lots"}, "mem-queue-size"},
		{[]string{"--msg-timeout=5"}, "msg-timeout"},
		{[]string{"--no-such-flag"}, "no-such-flag"},
		{[]string{"--node-id=1024"}, "--node-id must be [0,1024)"},
		{[]string{"--max-deflate-level=10"}, "--max-deflate-level must be [1,9]"},
		{[]string{"--auth-http-request-method=put"}, "--auth-http-request-method must be post or get"},
		{[]string{"--tls-required"}, "cannot require TLS client connections without TLS key and cert"},
		{[]string{"--tls-min-version=ssl3.0"}, "tls-min-version"},
		{[]string{"--e2e-processing-latency-percentile=1.5"}, "invalid E2E processing latency percentile: 1.5"},
		{[]string{"--enable-experiment=warp"}, "--enable-experiment"},
		{[]string{"--config=" + filepath.Join(dir, "missing.cfg")}, "failed to load config file"},
		{[]string{"--log-level=loud"}, "log-level"},
		{[]string{"--node-id=1", "--replication-peers=1=127.0.0.1:1,2=127.0.0.1:2", "--replication-address=127.0.0.1:1", "--replication-factor=3"}, "--replication-factor 3 is more than the 2 nodes"},
		{[]string{"--node-id=1", "--replication-peers=1=127.0.0.1:1,2=127.0.0.1:2,3=127.0.0.1:3", "--replication-address=127.0.0.1:9"}, "--replication-address 127.0.0.1:9 is not node 1's entry"},
		{[]string{"--node-id=4", "--replication-peers=1=127.0.0.1:1,2=127.0.0.1:2,3=127.0.0.1:3", "--replication-address=127.0.0.1:2"}, "--node-id 4 does not match --replication-peers, which gives 127.0.0.1:2 to node 2"},
		{[]string{"--node-id=1", "--replication-peers=1=127.0.0.1:1,2=127.0.0.1:2,3=127.0.0.1:3", "--replication-address=127.0.0.1:1", "--storage=diskqueue"}, "--replication-peers needs --storage=log"},
		{[]string{"--node-id=1", "--replication-peers=1=127.0.0.1:1,x"}, "is not <node-id>=<host>:<port>"},
		{[]string{"--config=" + replCfg}, "--replication-peers needs --storage=log (implied when --storage is not set), not --storage=diskqueue (flag or config file)"},
		{[]string{"--config=" + diskqueueCfg, "--node-id=1", "--replication-peers=1=127.0.0.1:1,2=127.0.0.1:2,3=127.0.0.1:3", "--replication-address=127.0.0.1:1"}, "--replication-peers needs --storage=log"},
		{[]string{"--config=" + diskqueueCfg, "--sync-ack"}, "--sync-ack needs --storage=log"},
		{[]string{"--storage=diskqueue", "--sync-ack"}, "--sync-ack needs --storage=log"},
		{[]string{"--replication-address=127.0.0.1:1"}, "--replication-address needs --replication-peers"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			args := append([]string{"--data-path=" + dir, "--tcp-address=127.0.0.1:0", "--http-address=127.0.0.1:0", "--https-address="}, tc.args...)
			code, out := runBinary(args...)
			if code != 1 || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d, output %q; want exit 1 mentioning %q", code, out, tc.want)
			}
		})
	}
}

func TestConfigFilePrecedence(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "nsqd.cfg")
	os.WriteFile(cfg, []byte(`
id = 77
msg_timeout = "45s"
max_rdy_count = 100
mem_queue_size = 1234
nsqlookupd_tcp_addresses = ["127.0.0.1:1", "127.0.0.1:2"]
e2e_processing_latency_percentiles = [1.0, 0.5]
tls_required = false
sync_timeout = 1500
`), 0o600)
	d := start(t, "--config="+cfg, "--data-path="+dir, "--max-rdy-count=200")
	get := func(opt string) string {
		resp, err := http.Get("http://" + d.http + "/config/" + opt)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	want := map[string]string{
		"id":                                 "77",
		"msg_timeout":                        "45000000000",
		"max_rdy_count":                      "200", // flag beats file
		"mem_queue_size":                     "1234",
		"nsqlookupd_tcp_addresses":           `["127.0.0.1:1","127.0.0.1:2"]`,
		"e2e_processing_latency_percentiles": "[1,0.5]",
		"sync_timeout":                       "1500000000", // integer = milliseconds
		"max_msg_size":                       "1048576",    // default
		"log_level":                          "2",
	}
	for opt, w := range want {
		if got := get(opt); got != w {
			t.Errorf("/config/%s = %s, want %s", opt, got, w)
		}
	}
	d.stop(t)
}

// TestSIGTERMKeepsMessages: a topic with two channels, messages queued,
// in flight and deferred; SIGTERM; restart; every message comes back.
func TestSIGTERMKeepsMessages(t *testing.T) {
	dir := t.TempDir()
	d := start(t, "--data-path="+dir, "--mem-queue-size=4")
	post := func(d *daemon, path string, body string) {
		resp, err := http.Post("http://"+d.http+path, "text/plain", strings.NewReader(body))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("POST %s: %v %v", path, err, resp)
		}
		resp.Body.Close()
	}
	post(d, "/topic/create?topic=t", "")
	post(d, "/channel/create?topic=t&channel=a", "")
	post(d, "/channel/create?topic=t&channel=b", "")
	var want []string
	for i := 0; i < 10; i++ {
		body := fmt.Sprintf("msg-%d", i)
		want = append(want, body)
		post(d, "/pub?topic=t", body)
	}
	post(d, "/pub?topic=t&defer=3600000", "deferred")
	want = append(want, "deferred")
	sort.Strings(want)

	// leave three in flight on channel a, one of them requeued with a delay
	c := dialSub(t, d.tcp, "t", "a")
	c.write("RDY 3\n")
	var ids []string
	for i := 0; i < 3; i++ {
		ids = append(ids, c.readMsg(t).id)
	}
	c.write("REQ " + ids[0] + " 3600000\n")
	// SIGTERM only once the REQ is done, so the deferred path is the one
	// that has to survive it: two deferred (DPUB and REQ), and three in
	// flight again (the REQ freed a slot of the RDY 3)
	testutil.Eventually(t, 20*time.Second, func() bool {
		a := channelStats(t, d, "t", "a")
		return a.DeferredCount == 2 && a.InFlightCount == 3
	}, "REQ not applied before SIGTERM")
	d.stop(t)

	d2 := start(t, "--data-path="+dir, "--mem-queue-size=4")
	for _, ch := range []string{"a", "b"} {
		c := dialSub(t, d2.tcp, "t", ch)
		c.write("RDY 100\n")
		var got []string
		for range want {
			m := c.readMsg(t)
			got = append(got, m.body)
			c.write("FIN " + m.id + "\n")
		}
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("channel %s: got %v\nwant %v", ch, got, want)
		}
	}
	d2.stop(t)
}

// channelStats reads one channel's counters from /stats.
func channelStats(t *testing.T, d *daemon, topic, channel string) (c struct {
	DeferredCount int `json:"deferred_count"`
	InFlightCount int `json:"in_flight_count"`
}) {
	t.Helper()
	resp, err := http.Get("http://" + d.http + "/stats?format=json&topic=" + topic + "&channel=" + channel)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var stats struct {
		Topics []struct {
			Channels []struct {
				Name          string `json:"channel_name"`
				DeferredCount int    `json:"deferred_count"`
				InFlightCount int    `json:"in_flight_count"`
			} `json:"channels"`
		} `json:"topics"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&stats); err != nil {
		t.Fatalf("/stats: %v", err)
	}
	for _, tp := range stats.Topics {
		for _, ch := range tp.Channels {
			if ch.Name == channel {
				c.DeferredCount, c.InFlightCount = ch.DeferredCount, ch.InFlightCount
				return c
			}
		}
	}
	t.Fatalf("/stats has no channel %s:%s", topic, channel)
	return c
}

type rawConn struct {
	net.Conn
	r *bufio.Reader
}

func dialSub(t *testing.T, addr, topic, channel string) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	c := &rawConn{Conn: nc, r: bufio.NewReader(nc)}
	c.write("  V2SUB " + topic + " " + channel + "\n")
	if typ, data := c.frame(t); typ != 0 || string(data) != "OK" {
		t.Fatalf("SUB: %d %s", typ, data)
	}
	return c
}

func (c *rawConn) write(s string) { c.Write([]byte(s)) }

func (c *rawConn) frame(t *testing.T) (int32, []byte) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var hdr [8]byte
	if _, err := io.ReadFull(c.r, hdr[:]); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, binary.BigEndian.Uint32(hdr[:4])-4)
	if _, err := io.ReadFull(c.r, data); err != nil {
		t.Fatal(err)
	}
	return int32(binary.BigEndian.Uint32(hdr[4:])), data
}

type msg struct{ id, body string }

func (c *rawConn) readMsg(t *testing.T) msg {
	t.Helper()
	for {
		typ, data := c.frame(t)
		if typ == 2 {
			return msg{id: string(data[10:26]), body: string(data[26:])}
		}
		if typ == 1 {
			t.Fatalf("error frame %s", data)
		}
	}
}
