package refdiff

import (
	"bytes"
	"compress/gzip"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil"
)

// refDir returns the directory of the NSQ v1.3.0 reference binaries, or
// skips the test when they are not there.
func refDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("NSQ_REF_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "ref")
	}
	for _, b := range []string{"nsqd", "nsqlookupd", "nsqadmin"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			testutil.Skip(t, fmt.Sprintf("NSQ reference binaries not found in %s (set NSQ_REF_DIR to their directory): differential test skipped", dir))
		}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

var (
	buildOnce sync.Once
	ourDir    string
	buildErr  error
)

// ourBinDir builds our three daemons once per test binary run.
func ourBinDir(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		ourDir, buildErr = os.MkdirTemp("", "nsq-refdiff")
		if buildErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", ourDir+"/",
			"../../apps/nsqd", "../../apps/nsqlookupd", "../../apps/nsqadmin").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return ourDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if ourDir != "" {
		os.RemoveAll(ourDir)
	}
	os.Exit(code)
}

// daemon is one running nsqd, nsqlookupd or nsqadmin, ours or NSQ's.
type daemon struct {
	side      string // "ref" or "our"
	kind      string
	tcp, http string
	https     string // nsqd only
	proc      *testutil.Proc
}

func port(addr string) string { return addr[strings.LastIndexByte(addr, ':')+1:] }

// start runs kind (nsqd, nsqlookupd, nsqadmin) of side with args and waits
// for its /ping.
func start(t *testing.T, side, kind string, args ...string) *daemon {
	t.Helper()
	dir := refDir(t)
	if side == "our" {
		dir = ourBinDir(t)
	}
	ping := "/ping"
	for _, a := range args {
		if bp, ok := strings.CutPrefix(a, "--base-path="); ok {
			ping = strings.TrimSuffix(bp, "/") + ping
		}
	}
	var data string
	if kind == "nsqd" {
		data = t.TempDir()
	}
	// a port picked free may be taken by another process before the daemon
	// binds it: then try again with new ports
	for attempt := 1; ; attempt++ {
		addrs := testutil.FreeAddrs(t, 3) // distinct: all three were open at once
		d := &daemon{side: side, kind: kind, http: addrs[0]}
		base := []string{"--http-address=" + d.http}
		if kind != "nsqadmin" {
			d.tcp = addrs[1]
			base = append(base, "--tcp-address="+d.tcp, "--broadcast-address=127.0.0.1")
		}
		if kind == "nsqd" {
			d.https = addrs[2]
			base = append(base, "--data-path="+data, "--https-address="+d.https)
		}
		d.proc = testutil.StartProc(t, filepath.Join(dir, kind), nil, append(base, args...)...)
		err := testutil.Poll(15*time.Second, func() bool {
			if d.proc.Exited() {
				return true
			}
			resp, err := http.Get("http://" + d.http + ping)
			if err != nil {
				return false
			}
			resp.Body.Close()
			return true // serving (with --tls-required even /ping is 403)
		})
		if err == nil && !d.proc.Exited() {
			return d
		}
		if attempt < 3 && d.proc.Exited() && strings.Contains(d.proc.Stderr.String()+d.proc.Stdout.String(), "address already in use") {
			continue
		}
		t.Fatalf("%s %s did not start: %v\n%s%s", side, kind, err, d.proc.Stdout.String(), d.proc.Stderr.String())
	}
}

// req is one HTTP request sent to both sides.
type req struct {
	name   string
	method string
	path   string
	body   string
	header map[string]string
	// ourPath and ourBody, when set, replace path and body for our side
	// (requests whose effect on shared state must not repeat).
	ourPath, ourBody string
	// text compares a non-JSON body after replacing digit runs by "N"
	// (for /stats text with its uptimes); ignoreBody skips the body.
	text, ignoreBody bool
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

var client = &http.Client{
	Timeout:       20 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport: &http.Transport{DisableCompression: true,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, // the tests' own self-signed certificate
}

func do(t *testing.T, addr string, r req) reply {
	t.Helper()
	method := r.method
	if method == "" {
		method = "GET"
	}
	base := addr
	if !strings.Contains(base, "://") {
		base = "http://" + addr
	}
	hr, err := http.NewRequest(method, base+r.path, strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	resp, err := client.Do(hr)
	if err != nil {
		t.Fatalf("%s: %v", r.name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s: read body: %v", r.name, err)
	}
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err == nil {
			if b, err := io.ReadAll(zr); err == nil {
				body = b
			}
		}
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: body}
}

// comparer holds what differs legitimately between the two sides: their
// addresses (replaced by placeholders) and volatile values.
type comparer struct {
	ref, our *strings.Replacer
	// refExpand and ourExpand turn placeholders in a request's path and
	// body back into that side's address.
	refExpand, ourExpand *strings.Replacer
	volatile             map[string]bool // last path element whose value is not compared
	// message, when set, is removed from every "message" value before
	// comparing (wording we keep on purpose)
	message *regexp.Regexp
}

// newComparer maps each side's daemon addresses and ports onto the same
// placeholders, in the order given.
func newComparer(ref, our []*daemon) *comparer {
	pairsOf := func(ds []*daemon) []string {
		var pairs []string
		for i, d := range ds {
			for _, a := range []struct{ addr, what string }{{d.http, "http"}, {d.tcp, "tcp"}, {d.https, "https"}} {
				if a.addr == "" {
					continue
				}
				tag := fmt.Sprintf("<%s%c-%s>", d.kind, 'a'+i, a.what)
				pairs = append(pairs, a.addr, tag, port(a.addr), tag+"port")
			}
		}
		return pairs
	}
	inverse := func(p []string) *strings.Replacer {
		var inv []string
		for i := len(p) - 2; i >= 0; i -= 2 {
			inv = append(inv, p[i+1], p[i])
		}
		return strings.NewReplacer(inv...)
	}
	rp, op := pairsOf(ref), pairsOf(our)
	return &comparer{ref: strings.NewReplacer(rp...), our: strings.NewReplacer(op...),
		refExpand: inverse(rp), ourExpand: inverse(op), volatile: map[string]bool{
			"start_time": true, "uptime": true, "connect_ts": true, "connected": true,
			"last_update": true, "tombstoned_at": true, "remote_address": true, "id": true,
			"heap_objects": true, "heap_idle_bytes": true, "heap_in_use_bytes": true,
			"heap_released_bytes": true, "gc_pause_usec_100": true, "gc_pause_usec_99": true,
			"gc_pause_usec_95": true, "next_gc_bytes": true, "gc_total_runs": true,
			"timestamp": true, "remote_ip": true,
		}}
}

var skipHeaders = map[string]bool{"Date": true, "Content-Length": true}

// compare returns one line per difference between the replies to r.
func (c *comparer) compare(r req, ref, our reply) []string {
	var diffs []string
	add := func(format string, args ...any) {
		diffs = append(diffs, r.name+": "+fmt.Sprintf(format, args...))
	}
	if ref.status != our.status {
		add("status ref %d our %d", ref.status, our.status)
	}
	keys := map[string]bool{}
	for k := range ref.header {
		keys[k] = true
	}
	for k := range our.header {
		keys[k] = true
	}
	var hk []string
	for k := range keys {
		if !skipHeaders[k] {
			hk = append(hk, k)
		}
	}
	sort.Strings(hk)
	for _, k := range hk {
		rv, ov := strings.Join(ref.header.Values(k), ", "), strings.Join(our.header.Values(k), ", ")
		if c.ref.Replace(rv) != c.our.Replace(ov) {
			add("header %s: ref %q our %q", k, rv, ov)
		}
	}
	if r.ignoreBody {
		return diffs
	}
	rb, ob := c.ref.Replace(string(ref.body)), c.our.Replace(string(our.body))
	var rj, oj any
	rErr, oErr := decodeJSON(string(ref.body), &rj), decodeJSON(string(our.body), &oj)
	switch {
	case rErr == nil && oErr == nil:
		c.diffJSON("", normJSON(rj, c.ref), normJSON(oj, c.our), add)
	case r.text:
		digits := regexp.MustCompile(`[0-9][0-9.]*(ns|µs|us|ms|s|m|h)*`)
		// the raw bodies: numbers there may contain a port's digits
		rl := strings.Split(digits.ReplaceAllString(string(ref.body), "N"), "\n")
		ol := strings.Split(digits.ReplaceAllString(string(our.body), "N"), "\n")
		for i := 0; i < len(rl) || i < len(ol); i++ {
			var a, b string
			if i < len(rl) {
				a = rl[i]
			}
			if i < len(ol) {
				b = ol[i]
			}
			if a != b {
				add("body line %d: ref %q our %q", i+1, a, b)
			}
		}
	case rb != ob:
		add("body: ref %q our %q", clip(rb), clip(ob))
	}
	return diffs
}

func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}

func decodeJSON(s string, v *any) error {
	if s == "" {
		return io.EOF
	}
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return fmt.Errorf("trailing data")
	}
	return nil
}

// normJSON replaces addresses in strings, and numbers that are a port, by
// the comparer's placeholders.
func normJSON(v any, r *strings.Replacer) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[r.Replace(k)] = normJSON(e, r)
		}
		// lookupd's /nodes: tombstones[i] belongs to topics[i], whose order
		// is map iteration; pair them up so the order does not matter
		topics, ok1 := out["topics"].([]any)
		tombs, ok2 := out["tombstones"].([]any)
		if ok1 && ok2 && len(topics) == len(tombs) {
			paired := map[string]any{}
			for i, tp := range topics {
				if s, ok := tp.(string); ok {
					paired[s] = tombs[i]
				}
			}
			out["tombstones"] = paired
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normJSON(e, r)
		}
		return out
	case string:
		return r.Replace(x)
	case json.Number:
		if s := r.Replace(x.String()); s != x.String() && !strings.ContainsAny(s, "0123456789") {
			return s
		}
	}
	return v
}

func (c *comparer) diffJSON(path string, a, b any, add func(string, ...any)) {
	if testutil.JSONKind(a) != testutil.JSONKind(b) {
		add("%s: ref %s %s our %s %s", orRoot(path), testutil.JSONKind(a), clip(jsonText(a)), testutil.JSONKind(b), clip(jsonText(b)))
		return
	}
	last := path[strings.LastIndexAny(path, ".]")+1:]
	switch av := a.(type) {
	case map[string]any:
		bv := b.(map[string]any)
		var missing, extra []string
		for k := range av {
			if _, ok := bv[k]; !ok {
				missing = append(missing, k)
			}
		}
		for k := range bv {
			if _, ok := av[k]; !ok {
				extra = append(extra, k)
			}
		}
		sort.Strings(missing)
		sort.Strings(extra)
		if len(missing) > 0 {
			add("%s: keys only in ref %v", orRoot(path), missing)
		}
		if len(extra) > 0 {
			add("%s: keys only in our %v", orRoot(path), extra)
		}
		var ks []string
		for k := range av {
			if _, ok := bv[k]; ok {
				ks = append(ks, k)
			}
		}
		sort.Strings(ks)
		for _, k := range ks {
			p := k
			if path != "" {
				p = path + "." + k
			}
			c.diffJSON(p, av[k], bv[k], add)
		}
	case []any:
		bv := b.([]any)
		if c.volatile[last] {
			return
		}
		av, bv = sortedIfScalars(av), sortedIfScalars(bv)
		if unordered[last] {
			av, bv = sortedByIdentity(av), sortedByIdentity(bv)
		}
		if len(av) != len(bv) {
			add("%s: ref %d elements %s our %d elements %s", orRoot(path), len(av), clip(jsonText(av)), len(bv), clip(jsonText(bv)))
		}
		for i := 0; i < len(av) && i < len(bv); i++ {
			c.diffJSON(fmt.Sprintf("%s[%d]", path, i), av[i], bv[i], add)
		}
	default:
		// a never-tombstoned entry's tombstoned_at is Go's zero time in Unix
		// ns (an overflowed constant): compare that, not real times
		const zeroTime = "-6795364578871345152"
		if last == "tombstoned_at" && (jsonText(a) == zeroTime) != (jsonText(b) == zeroTime) {
			add("%s: ref %s our %s", orRoot(path), jsonText(a), jsonText(b))
		}
		if as, ok := a.(string); ok && last == "message" && c.message != nil {
			a, b = c.message.ReplaceAllString(as, ""), c.message.ReplaceAllString(b.(string), "")
		}
		if !c.volatile[last] && jsonText(a) != jsonText(b) {
			add("%s: ref %s our %s", orRoot(path), jsonText(a), jsonText(b))
		}
	}
}

func orRoot(p string) string {
	if p == "" {
		return "(root)"
	}
	return p
}

func sortedIfScalars(v []any) []any {
	for _, e := range v {
		if _, ok := e.(string); !ok {
			return v
		}
	}
	out := append([]any(nil), v...)
	sort.Slice(out, func(i, j int) bool { return out[i].(string) < out[j].(string) })
	return out
}

// unordered names arrays whose order NSQ leaves to goroutine completion or
// map iteration: they are compared sorted by their elements' identity.
var unordered = map[string]bool{"nodes": true, "producers": true, "clients": true}

var identity = []string{"node", "broadcast_address", "tcp_port", "http_port", "topic_name",
	"channel_name", "topic", "client_id", "hostname"}

func sortedByIdentity(v []any) []any {
	key := func(e any) string {
		m, ok := e.(map[string]any)
		if !ok {
			return jsonText(e)
		}
		var k []string
		for _, f := range identity {
			k = append(k, jsonText(m[f]))
		}
		return strings.Join(k, "|")
	}
	out := append([]any(nil), v...)
	sort.SliceStable(out, func(i, j int) bool { return key(out[i]) < key(out[j]) })
	return out
}

func expand(r req, x *strings.Replacer) req {
	r.path, r.body = x.Replace(r.path), x.Replace(r.body)
	return r
}

// dump writes both replies to $REFDIFF_DUMP/<test>/<request>.{ref,our}
// when that variable is set, for reading the differences by eye.
func dump(t *testing.T, name string, ref, our reply) {
	dir := os.Getenv("REFDIFF_DUMP")
	if dir == "" {
		return
	}
	dir = filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_"))
	os.MkdirAll(dir, 0o755)
	file := strings.NewReplacer("/", "_", " ", "_").Replace(name)
	for side, r := range map[string]reply{"ref": ref, "our": our} {
		var b bytes.Buffer
		fmt.Fprintf(&b, "%d\n", r.status)
		r.header.Write(&b)
		b.WriteString("\n")
		var v any
		if decodeJSON(string(r.body), &v) == nil {
			out, _ := json.MarshalIndent(v, "", "  ")
			b.Write(out)
		} else {
			b.Write(r.body)
		}
		os.WriteFile(filepath.Join(dir, file+"."+side), b.Bytes(), 0o644)
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// allowedDiffs are differences kept on purpose, each documented in
// docs/differences.md. The key is "<test name>/<request name>": every
// difference of that request is allowed, or, with a ": <difference>"
// suffix, only the one difference line.
var allowedDiffs = map[string]string{
	"TestNSQDHTTP/setblockrate ok": "NSQ answers 500 INTERNAL_ERROR after doing the work",
	"TestNSQDHTTP/freememory":      "NSQ answers 500 INTERNAL_ERROR after doing the work",
	"TestNSQDHTTP/metrics":         "GET /metrics is ours (Prometheus)",
	"TestNSQLookupdHTTP/metrics":   "GET /metrics is ours (Prometheus)",
}

// allowedPatterns are deliberate differences matched by pattern, keyed by
// a prefix of the test name (for those whose text varies from run to run).
var allowedPatterns = map[string][]struct {
	re  *regexp.Regexp
	why string
}{}

func allowPattern(test, re, why string) {
	allowedPatterns[test] = append(allowedPatterns[test], struct {
		re  *regexp.Regexp
		why string
	}{regexp.MustCompile(re), why})
}

// report logs every difference and fails on those not in allowedDiffs.
func report(t *testing.T, diffs []string) {
	t.Helper()
	for _, d := range diffs {
		name, _, _ := strings.Cut(d, ": ")
		why, ok := allowedDiffs[t.Name()+"/"+name]
		if !ok {
			why, ok = allowedDiffs[t.Name()+"/"+d]
		}
		for test, ps := range allowedPatterns {
			for _, p := range ps {
				if !ok && strings.HasPrefix(t.Name(), test) && p.re.MatchString(d) {
					why, ok = p.why, true
				}
			}
		}
		if ok {
			t.Logf("allowed difference: %s (%s)", d, why)
			continue
		}
		t.Errorf("DIFF %s", d)
	}
}

// httpPair sends each request to ref then to our and compares.
func httpPair(t *testing.T, c *comparer, ref, our string, reqs []req) {
	t.Helper()
	var diffs []string
	for _, r := range reqs {
		rr := do(t, ref, expand(r, c.refExpand))
		ro := expand(r, c.ourExpand)
		if r.ourPath != "" {
			ro.path = c.ourExpand.Replace(r.ourPath)
		}
		if r.ourBody != "" {
			ro.body = c.ourExpand.Replace(r.ourBody)
		}
		or := do(t, our, ro)
		dump(t, r.name, rr, or)
		diffs = append(diffs, c.compare(r, rr, or)...)
	}
	report(t, diffs)
}
