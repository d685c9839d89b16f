package nsqd

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// statsdSink is a UDP listener on 127.0.0.1 that keeps every datagram.
type statsdSink struct {
	conn *net.UDPConn

	mu      sync.Mutex // guards packets
	packets [][]byte
}

func newStatsdSink(tb testing.TB) *statsdSink {
	tb.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	s := &statsdSink{conn: conn}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			k, _, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.packets = append(s.packets, append([]byte(nil), buf[:k]...))
			s.mu.Unlock()
		}
	}()
	tb.Cleanup(func() { conn.Close(); <-done })
	return s
}

func (s *statsdSink) addr() string { return s.conn.LocalAddr().String() }

func (s *statsdSink) snapshot() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.packets...)
}

// lines returns every received line, in order.
func (s *statsdSink) lines() []string {
	var out []string
	for _, p := range s.snapshot() {
		out = append(out, strings.Split(strings.TrimSuffix(string(p), "\n"), "\n")...)
	}
	return out
}

// count returns how many received lines equal line.
func (s *statsdSink) count(line string) int {
	k := 0
	for _, l := range s.lines() {
		if l == line {
			k++
		}
	}
	return k
}

// waitLine waits until line has been received at least times times.
func (s *statsdSink) waitLine(tb testing.TB, line string, times int) {
	tb.Helper()
	eventually(tb, func() bool { return s.count(line) >= times }, "statsd line %q %d times", line, times)
}

// statsdOptions are test options pushing to sink every 20ms.
func statsdOptions(tb testing.TB, sink *statsdSink) *Options {
	tb.Helper()
	opts := testOptions(tb)
	opts.StatsdAddress = sink.addr()
	opts.StatsdInterval = 20 * time.Millisecond
	return opts
}

var statsdLineRe = regexp.MustCompile(`^(\S+):(-?\d+)\|(c|g)$`)

// statsdMetric is one parsed line.
type statsdMetric struct {
	name, kind string
	value      int64
}

func parseStatsd(tb testing.TB, lines []string, prefix string) []statsdMetric {
	tb.Helper()
	var out []statsdMetric
	for _, l := range lines {
		m := statsdLineRe.FindStringSubmatch(l)
		if m == nil || !strings.HasPrefix(m[1], prefix) {
			tb.Fatalf("bad statsd line %q (prefix %q)", l, prefix)
		}
		name := strings.TrimPrefix(m[1], prefix)
		if !strings.HasPrefix(name, "topic.") && !strings.HasPrefix(name, "mem.") {
			tb.Fatalf("line %q: %q is not an NSQ metric after prefix %q", l, name, prefix)
		}
		v, _ := strconv.ParseInt(m[2], 10, 64)
		out = append(out, statsdMetric{name, m[3], v})
	}
	return out
}

func TestStatsdMetrics(t *testing.T) {
	sink := newStatsdSink(t)
	opts := statsdOptions(t, sink)
	opts.E2EProcessingLatencyPercentiles = []float64{0.99}
	n := startNSQD(t, opts)
	prefix := fmt.Sprintf("nsq.127_0_0_1_%d.", n.RealHTTPAddr().(*net.TCPAddr).Port)
	checkV1Empty(t, httpCall(t, n, "POST", "/topic/create?topic=st", ""))
	checkV1Empty(t, httpCall(t, n, "POST", "/channel/create?topic=st&channel=c", ""))
	subscribe(t, n, "st", "c2", 0)
	checkV1OK(t, httpCall(t, n, "POST", "/mpub?topic=st", "a\nbb\nccc"))
	// two pushes after everything is in place
	sink.waitLine(t, prefix+"topic.st.channel.c2.depth:3|g", 2)
	metrics := parseStatsd(t, sink.lines(), prefix)

	want := map[string]string{
		"topic.st.message_count": "c", "topic.st.message_bytes": "c", "topic.st.depth": "g",
		"topic.st.backend_depth": "g", "topic.st.e2e_processing_latency_99": "g",
		"mem.heap_objects": "g", "mem.heap_idle_bytes": "g", "mem.heap_in_use_bytes": "g",
		"mem.heap_released_bytes": "g", "mem.gc_pause_usec_100": "g", "mem.gc_pause_usec_99": "g",
		"mem.gc_pause_usec_95": "g", "mem.next_gc_bytes": "g", "mem.gc_runs": "c",
	}
	for _, ch := range []string{"c", "c2"} {
		for k, v := range map[string]string{"message_count": "c", "requeue_count": "c", "timeout_count": "c",
			"depth": "g", "backend_depth": "g", "in_flight_count": "g", "deferred_count": "g", "clients": "g",
			"e2e_processing_latency_99": "g"} {
			want["topic.st.channel."+ch+"."+k] = v
		}
	}
	got := map[string]string{}
	sums := map[string]int64{}
	last := map[string]int64{}
	for _, m := range metrics {
		if prev, ok := got[m.name]; ok && prev != m.kind {
			t.Errorf("%s sent as both %s and %s", m.name, prev, m.kind)
		}
		got[m.name] = m.kind
		sums[m.name] += m.value
		last[m.name] = m.value
	}
	for name, kind := range want {
		if got[name] != kind {
			t.Errorf("%s: type %q, want %q", name, got[name], kind)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("unexpected metric %s", name)
		}
	}
	// counters are deltas: they add up to the totals, and the latest is 0
	for name, total := range map[string]int64{"topic.st.message_count": 3, "topic.st.message_bytes": 6,
		"topic.st.channel.c.message_count": 3, "topic.st.channel.c2.message_count": 3} {
		if sums[name] != total || last[name] != 0 {
			t.Errorf("%s: deltas sum to %d (last %d), want %d (last 0)", name, sums[name], last[name], total)
		}
	}
	// gauges are current values
	for name, v := range map[string]int64{"topic.st.channel.c.depth": 3, "topic.st.channel.c.clients": 0,
		"topic.st.channel.c2.clients": 1, "topic.st.depth": 0} {
		if last[name] != v {
			t.Errorf("%s = %d, want %d", name, last[name], v)
		}
	}
}

func TestStatsdCounterDeltas(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	counters := &statsdCounters{last: map[string]uint64{}}
	push := func() map[string]string {
		w := &statsdWriter{max: 65536}
		n.writeStatsd(w, counters)
		out := map[string]string{}
		for _, p := range w.finish() {
			for _, l := range strings.Split(strings.TrimSuffix(string(p), "\n"), "\n") {
				k, v, _ := strings.Cut(l, ":")
				out[k] = v
			}
		}
		return out
	}
	checkV1OK(t, httpCall(t, n, "POST", "/mpub?topic=rt", "a\nb"))
	steps := []struct {
		do   func()
		want string // topic.rt.message_count value, "" for absent
	}{
		{func() {}, "2|c"},
		{func() {}, "0|c"},
		{func() { checkV1OK(t, httpCall(t, n, "POST", "/pub?topic=rt", "c")) }, "1|c"},
		{func() { checkV1Empty(t, httpCall(t, n, "POST", "/topic/delete?topic=rt", "")) }, ""},
		// a topic created again counts from zero, never negative
		{func() { checkV1OK(t, httpCall(t, n, "POST", "/pub?topic=rt", "d")) }, "1|c"},
	}
	for i, s := range steps {
		s.do()
		if got := push()["topic.rt.message_count"]; got != s.want {
			t.Fatalf("step %d: topic.rt.message_count %q, want %q", i, got, s.want)
		}
	}
}

func TestStatsdWriterPacking(t *testing.T) {
	w := &statsdWriter{prefix: "p.", max: 20}
	w.line("a", 12, "g")                // "p.a:12|g\n" 9 bytes
	w.line("b", 3, "c")                 // 8 bytes: 17
	w.line("c", 4, "c")                 // 8 more would be 25: new packet
	w.line("a_much_longer_key", 1, "g") // 24 bytes: alone
	w.line("d", -1, "c")                // negative values are kept
	got := w.finish()
	want := []string{"p.a:12|g\np.b:3|c\n", "p.c:4|c\n", "p.a_much_longer_key:1|g\n", "p.d:-1|c\n"}
	if len(got) != len(want) {
		t.Fatalf("packets %q, want %q", got, want)
	}
	for i := range want {
		if string(got[i]) != want[i] {
			t.Fatalf("packet %d %q, want %q", i, got[i], want[i])
		}
	}
}

func TestStatsdPacketSize(t *testing.T) {
	sink := newStatsdSink(t)
	opts := statsdOptions(t, sink)
	opts.StatsdUDPPacketSize = 100
	n := startNSQD(t, opts)
	for _, topic := range []string{"ps1", "ps2"} {
		checkV1Empty(t, httpCall(t, n, "POST", "/topic/create?topic="+topic, ""))
		checkV1Empty(t, httpCall(t, n, "POST", "/channel/create?topic="+topic+"&channel=c", ""))
	}
	prefix := fmt.Sprintf("nsq.127_0_0_1_%d.", n.RealHTTPAddr().(*net.TCPAddr).Port)
	sink.waitLine(t, prefix+"topic.ps2.channel.c.clients:0|g", 2)

	packets := sink.snapshot()
	multi := false
	for i, p := range packets {
		if len(p) > 100 {
			t.Fatalf("packet %d has %d bytes > 100: %q", i, len(p), p)
		}
		if !strings.HasSuffix(string(p), "\n") {
			t.Fatalf("packet %d does not end a line: %q", i, p)
		}
		lines := strings.Split(strings.TrimSuffix(string(p), "\n"), "\n")
		parseStatsd(t, lines, prefix)
		multi = multi || len(lines) > 1
		// packets are filled: the next one's first line would not have fit
		// (within one push: a push ends with mem.gc_runs)
		if i+1 < len(packets) && !strings.Contains(lines[len(lines)-1], "mem.gc_runs:") {
			next := strings.SplitAfter(string(packets[i+1]), "\n")[0]
			if len(p)+len(next) <= 100 {
				t.Fatalf("packet %d (%d bytes) could have taken %q", i, len(p), next)
			}
		}
	}
	if !multi {
		t.Fatal("no packet carries more than one line")
	}
}

func TestStatsdPrefix(t *testing.T) {
	for _, c := range []struct {
		name, prefix, broadcast string
		port                    int
		want                    string // %d is the HTTP port
	}{
		{"default", "nsq.%s", "127.0.0.1", 0, "nsq.127_0_0_1_%d."},
		{"middle", "app.%s.x", "127.0.0.1", 0, "app.127_0_0_1_%d.x."},
		{"trailing dot kept", "app.%s.", "127.0.0.1", 0, "app.127_0_0_1_%d."},
		{"twice", "%s.%s", "127.0.0.1", 0, "127_0_0_1_%d.127_0_0_1_%d."},
		{"no host", "plain", "127.0.0.1", 0, "plain."},
		{"broadcast address and port", "nsq.%s", "host.example", 9999, "nsq.host_example_9999."},
		{"empty", "", "127.0.0.1", 0, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			sink := newStatsdSink(t)
			opts := statsdOptions(t, sink)
			opts.StatsdPrefix = c.prefix
			opts.BroadcastAddress = c.broadcast
			opts.BroadcastHTTPPort = c.port
			n := startNSQD(t, opts)
			port := n.RealHTTPAddr().(*net.TCPAddr).Port
			want := strings.ReplaceAll(c.want, "%d", strconv.Itoa(port))
			eventually(t, func() bool {
				for _, l := range sink.lines() {
					if strings.HasPrefix(l, want+"mem.heap_objects:") {
						return true
					}
				}
				return false
			}, "a push with prefix %q", want)
			parseStatsd(t, sink.lines(), want)
			r := httpCall(t, n, "GET", "/config/statsd_prefix", "")
			if r.code != 200 || r.body != want {
				t.Fatalf("GET /config/statsd_prefix %s, want %q", r, want)
			}
		})
	}
}

func TestStatsdExcludeEphemeral(t *testing.T) {
	for _, exclude := range []bool{true, false} {
		t.Run(strconv.FormatBool(exclude), func(t *testing.T) {
			sink := newStatsdSink(t)
			opts := statsdOptions(t, sink)
			opts.StatsdExcludeEphemeral = exclude
			n := startNSQD(t, opts)
			for _, q := range []string{"/topic/create?topic=keep", "/channel/create?topic=keep&channel=c",
				"/channel/create?topic=keep&channel=" + url.QueryEscape("e#ephemeral"),
				"/topic/create?topic=" + url.QueryEscape("t#ephemeral"),
				"/channel/create?topic=" + url.QueryEscape("t#ephemeral") + "&channel=c"} {
				checkV1Empty(t, httpCall(t, n, "POST", q, ""))
			}
			prefix := fmt.Sprintf("nsq.127_0_0_1_%d.", n.RealHTTPAddr().(*net.TCPAddr).Port)
			sink.waitLine(t, prefix+"topic.keep.channel.c.clients:0|g", 2)
			names := map[string]bool{}
			for _, m := range parseStatsd(t, sink.lines(), prefix) {
				names[m.name] = true
			}
			for _, name := range []string{"topic.t#ephemeral.message_count", "topic.t#ephemeral.channel.c.depth",
				"topic.keep.channel.e#ephemeral.depth"} {
				if names[name] == exclude {
					t.Errorf("%s sent=%v with exclude=%v", name, names[name], exclude)
				}
			}
			for name := range names {
				if strings.Contains(name, "e2e_processing_latency") {
					t.Errorf("%s sent without percentiles configured", name)
				}
			}
		})
	}
}

func TestStatsdMemStatsOff(t *testing.T) {
	sink := newStatsdSink(t)
	opts := statsdOptions(t, sink)
	opts.StatsdMemStats = false
	n := startNSQD(t, opts)
	checkV1Empty(t, httpCall(t, n, "POST", "/topic/create?topic=m", ""))
	prefix := fmt.Sprintf("nsq.127_0_0_1_%d.", n.RealHTTPAddr().(*net.TCPAddr).Port)
	sink.waitLine(t, prefix+"topic.m.depth:0|g", 3)
	var mem []string
	for _, m := range parseStatsd(t, sink.lines(), prefix) {
		if strings.HasPrefix(m.name, "mem.") {
			mem = append(mem, m.name)
		}
	}
	sort.Strings(mem)
	if len(mem) > 0 {
		t.Fatalf("mem metrics sent with --statsd-mem-stats=false: %v", mem)
	}
}
