package nsqd

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeLookupd speaks enough of nsqlookupd's V1 protocol to record what
// nsqd sends, and serves /channels over HTTP.
type fakeLookupd struct {
	t        *testing.T
	ln       net.Listener
	httpSrv  *httptest.Server
	mu       sync.Mutex
	commands []string
	identity map[string]any
	channels map[string][]string
	conns    []net.Conn
}

func newFakeLookupd(t *testing.T) *fakeLookupd {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeLookupd{t: t, ln: ln, channels: map[string][]string{}}
	f.httpSrv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		chans := f.channels[r.URL.Query().Get("topic")]
		f.mu.Unlock()
		if chans == nil {
			chans = []string{}
		}
		w.Header().Set("X-NSQ-Content-Type", "nsq; version=1.0")
		json.NewEncoder(w).Encode(map[string]any{"channels": chans})
	}))
	go f.accept()
	t.Cleanup(f.close)
	return f
}

func (f *fakeLookupd) addr() string { return f.ln.Addr().String() }

func (f *fakeLookupd) close() {
	f.ln.Close()
	f.httpSrv.Close()
	f.dropConns()
}

// dropConns closes every connection, as a restarting lookupd would.
func (f *fakeLookupd) dropConns() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.Close()
	}
	f.conns = nil
}

func (f *fakeLookupd) accept() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		f.conns = append(f.conns, c)
		f.mu.Unlock()
		go f.serve(c)
	}
}

func (f *fakeLookupd) serve(c net.Conn) {
	r := bufio.NewReader(c)
	magic := make([]byte, 4)
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != "  V1" {
		return
	}
	reply := func(s string) {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(len(s)))
		c.Write(append(b[:], s...))
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimSpace(line)
		f.mu.Lock()
		f.commands = append(f.commands, line)
		f.mu.Unlock()
		if line == "IDENTIFY" {
			var size int32
			binary.Read(r, binary.BigEndian, &size)
			body := make([]byte, size)
			io.ReadFull(r, body)
			var id map[string]any
			json.Unmarshal(body, &id)
			f.mu.Lock()
			f.identity = id
			f.mu.Unlock()
			host, port, _ := net.SplitHostPort(f.httpSrv.Listener.Addr().String())
			p, _ := strconv.Atoi(port)
			reply(fmt.Sprintf(`{"broadcast_address":%q,"hostname":"fake","http_port":%d,"tcp_port":1,"version":"1.3.0"}`, host, p))
			continue
		}
		reply("OK")
	}
}

// saw reports whether cmd was received (since index from).
func (f *fakeLookupd) saw(cmd string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.commands {
		if c == cmd {
			return true
		}
	}
	return false
}

func (f *fakeLookupd) count(cmd string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.commands {
		if c == cmd {
			n++
		}
	}
	return n
}

func TestLookupdRegistration(t *testing.T) {
	lookupd := newFakeLookupd(t)
	opts := testOptions(t)
	opts.NSQLookupdTCPAddresses = []string{lookupd.addr()}
	opts.LookupdPingInterval = 100 * time.Millisecond
	opts.TopologyZone = "z1"
	n := startNSQD(t, opts)

	eventually(t, func() bool { return lookupd.saw("IDENTIFY") }, "IDENTIFY sent")
	lookupd.mu.Lock()
	id := lookupd.identity
	lookupd.mu.Unlock()
	tcpPort := float64(n.RealTCPAddr().(*net.TCPAddr).Port)
	httpPort := float64(n.RealHTTPAddr().(*net.TCPAddr).Port)
	if id["broadcast_address"] != "127.0.0.1" || id["tcp_port"] != tcpPort || id["http_port"] != httpPort ||
		id["version"] != "1.3.0" || id["topology_zone"] != "z1" || id["hostname"] == "" {
		t.Fatalf("IDENTIFY body %v", id)
	}
	eventually(t, func() bool { return lookupd.saw("PING") }, "PING sent")

	httpDo(t, n, "POST", "/topic/create?topic=lk", "")
	eventually(t, func() bool { return lookupd.saw("REGISTER lk") }, "topic REGISTER")
	httpDo(t, n, "POST", "/channel/create?topic=lk&channel=lc", "")
	eventually(t, func() bool { return lookupd.saw("REGISTER lk lc") }, "channel REGISTER")
	httpDo(t, n, "POST", "/channel/delete?topic=lk&channel=lc", "")
	eventually(t, func() bool { return lookupd.saw("UNREGISTER lk lc") }, "channel UNREGISTER")
	httpDo(t, n, "POST", "/topic/delete?topic=lk", "")
	eventually(t, func() bool { return lookupd.saw("UNREGISTER lk") }, "topic UNREGISTER")

	// ephemeral channels register and unregister too
	sub := subscribe(t, n, "e", "x#ephemeral", 0)
	eventually(t, func() bool { return lookupd.saw("REGISTER e x#ephemeral") }, "ephemeral REGISTER")
	sub.conn.Close()
	eventually(t, func() bool { return lookupd.saw("UNREGISTER e x#ephemeral") }, "ephemeral UNREGISTER")

	// a lookupd that drops the connection gets a fresh IDENTIFY and a full
	// REGISTER of what exists
	httpDo(t, n, "POST", "/topic/create?topic=keep", "")
	httpDo(t, n, "POST", "/channel/create?topic=keep&channel=kc", "")
	eventually(t, func() bool { return lookupd.saw("REGISTER keep kc") }, "keep registered")
	identifies := lookupd.count("IDENTIFY")
	registers := lookupd.count("REGISTER keep kc")
	lookupd.dropConns()
	eventually(t, func() bool {
		return lookupd.count("IDENTIFY") > identifies && lookupd.count("REGISTER keep kc") > registers
	}, "re-IDENTIFY and re-REGISTER after reconnect")
}

func TestLookupdChannelsPrecreated(t *testing.T) {
	lookupd := newFakeLookupd(t)
	lookupd.channels["pre"] = []string{"known", "tmp#ephemeral"}
	opts := testOptions(t)
	opts.NSQLookupdTCPAddresses = []string{lookupd.addr()}
	n := startNSQD(t, opts)
	// the first PING follows the IDENTIFY reply, so by then nsqd knows the
	// lookupd's HTTP address
	eventually(t, func() bool { return lookupd.saw("PING") }, "identified")
	publish(t, n, "pre", "first")
	ts := getStats(t, n, "&topic=pre").Topics[0]
	if len(ts.Channels) != 1 || ts.Channels[0].ChannelName != "known" || ts.Channels[0].Depth != 1 {
		t.Fatalf("channels from lookupd not pre-created: %+v", ts.Channels)
	}
}

func TestLookupdConfigChange(t *testing.T) {
	a, b := newFakeLookupd(t), newFakeLookupd(t)
	opts := testOptions(t)
	opts.NSQLookupdTCPAddresses = []string{a.addr()}
	n := startNSQD(t, opts)
	eventually(t, func() bool { return a.saw("IDENTIFY") }, "a identified")
	code, body, _ := httpDo(t, n, "PUT", "/config/nsqlookupd_tcp_addresses", fmt.Sprintf(`[%q]`, b.addr()))
	if code != 200 || body != fmt.Sprintf(`[%q]`, b.addr()) {
		t.Fatalf("PUT: %d %s", code, body)
	}
	eventually(t, func() bool { return b.saw("IDENTIFY") }, "b identified")
	httpDo(t, n, "POST", "/topic/create?topic=moved", "")
	eventually(t, func() bool { return b.saw("REGISTER moved") }, "b gets REGISTER")
	if a.saw("REGISTER moved") {
		t.Fatal("dropped lookupd still told about new topics")
	}
}
