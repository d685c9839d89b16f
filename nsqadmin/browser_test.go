package nsqadmin

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/nsqio/go-nsq"

	"github.com/dropin/nsq/internal/testutil"
)

// Browser tests drive Debian's chromium headless through chromedp against
// a live nsqlookupd + nsqd + nsqadmin. They skip when chromium is absent,
// unless NSQ_REQUIRE_BROWSER is 1 or true (CI sets it), which makes that a
// failure. Screenshots of every page go to $NSQ_TEST_ARTIFACTS (default
// <repo>/test-artifacts/nsqadmin/) so a person can look at them.

func chromiumPath(tb testing.TB) string {
	tb.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testutil.Missing(tb, "NSQ_REQUIRE_BROWSER", "chromium is not installed", "apt-get install -y chromium")
	return ""
}

func artifactDir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("NSQ_TEST_ARTIFACTS")
	if dir == "" {
		abs, err := filepath.Abs(filepath.Join("..", "test-artifacts", "nsqadmin"))
		if err != nil {
			tb.Fatal(err)
		}
		dir = abs
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatalf("artifact dir: %v", err)
	}
	return dir
}

// browser is one headless chromium tab plus what its console said.
type browser struct {
	tb  testing.TB
	ctx context.Context
	dir string

	mu      sync.Mutex // guards errors
	errors  []string   // console errors and uncaught exceptions
	allowed []string   // substrings of console errors a test expects
}

func newBrowser(tb testing.TB) *browser {
	tb.Helper()
	path := chromiumPath(tb)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(tb.TempDir()),
		chromedp.WindowSize(1366, 900),
	)
	ctx, cancelCtx := chromedp.NewContext(actx)
	tb.Cleanup(func() { cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		tb.Fatalf("start chromium: %v", err)
	}
	b := &browser{tb: tb, ctx: ctx, dir: artifactDir(tb)}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				b.mu.Lock()
				b.errors = append(b.errors, fmt.Sprintf("%s %s (%s:%d)", m.Type, m.Text, m.URL, m.Line+1))
				b.mu.Unlock()
			}
		}
	}()
	return b
}

// do runs actions with a deadline.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.tb.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.tb.Fatalf("%s: %v", what, err)
	}
}

// open navigates to url and waits for the page's section to render.
func (b *browser) open(url, page string) {
	b.tb.Helper()
	b.do("open "+url, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`section[data-page="`+page+`"]`)))
}

// eval evaluates a JavaScript expression.
func evalJS[T any](b *browser, expr string) T {
	b.tb.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.tb.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitJS waits until expr is truthy in the page.
func (b *browser) waitJS(expr, what string) {
	b.tb.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!!(`+expr+`)`, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		text := evalJS[string](b, `document.querySelector('main') ? document.querySelector('main').innerText.slice(0, 1500) : ''`)
		b.tb.Fatalf("waiting for %s: %v\npage text:\n%s", what, err, text)
	}
}

// click clicks the element matching sel once it exists. The click is
// dispatched in the page, so an auto-refresh that redraws the element
// between finding and clicking it cannot make the test flaky.
func (b *browser) click(sel string) {
	b.tb.Helper()
	b.waitJS(`document.querySelector(`+jsQuote(sel)+`)`, sel)
	evalJS[chromedp.Void](b, `document.querySelector(`+jsQuote(sel)+`).click()`)
}

func (b *browser) text(sel string) string {
	b.tb.Helper()
	b.waitJS(`document.querySelector(`+jsQuote(sel)+`)`, sel)
	return strings.TrimSpace(evalJS[string](b, `document.querySelector(`+jsQuote(sel)+`).innerText`))
}

func (b *browser) screenshot(name string) {
	b.tb.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.tb.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(b.dir, "nsqadmin-"+name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.tb.Fatal(err)
	}
	b.tb.Logf("screenshot %s", path)
}

func (b *browser) allow(substr string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.allowed = append(b.allowed, substr)
}

// noConsoleErrors fails if the page logged an error nobody expected.
func (b *browser) noConsoleErrors() {
	b.tb.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.errors {
		ok := false
		for _, a := range b.allowed {
			ok = ok || strings.Contains(e, a)
		}
		if !ok {
			b.tb.Errorf("console: %s", e)
		}
	}
}

func jsQuote(s string) string { return jsonString(s) }

// thousands formats n the way the UI does (en-US grouping).
func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		return "-" + s
	}
	return s
}

func TestBrowserPagesAndActions(t *testing.T) {
	b := newBrowser(t)
	c := startLiveCluster(t, 2)
	for i := range c.nsqds {
		c.createChannel(t, i, "orders", "billing")
		c.createChannel(t, i, "orders", "audit")
	}
	c.publish(t, 0, "orders", 1200)
	c.publish(t, 1, "orders", 300)
	c.publish(t, 0, "events", 1)
	c.waitProducers(t, "orders", 2)
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	c.consume(t, 0, "orders", "audit", "worker1", func(*nsq.Message) error { <-hold; return nil })
	testutil.Eventually(t, 10*time.Second, func() bool {
		s := c.stats(t, 0, "orders")
		return s.Channels[0].InFlightCount == 5
	}, "5 messages in flight to the consumer")
	a := startAdmin(t, func(o *Options) {
		c.lookupdMode(o)
		o.HistoryInterval = 200 * time.Millisecond
		o.HistoryDuration = 10 * time.Minute
	})
	if r := call(t, "POST", a.url+"/api/topics", map[string]string{"topic": "fresh"}); r.status != 200 {
		t.Fatalf("create fresh: %d %s", r.status, r.body)
	}

	t.Run("topics", func(t *testing.T) {
		b.tb = t
		b.open(a.url+"/", "topics")
		for _, topic := range []string{"orders", "events", "fresh"} {
			b.waitJS(`document.querySelector('tr[data-topic="`+topic+`"]')`, "row of "+topic)
		}
		// orders: billing 1,500 queued + audit 1,495 queued (5 in flight)
		b.waitJS(`document.querySelector('tr[data-topic="orders"] [data-field="backlog"]').innerText.trim() === "2,995"`, "orders backlog 2,995")
		if got := b.text(`tr[data-topic="orders"] [data-field="channels"]`); !strings.Contains(got, "billing 1,500") || !strings.Contains(got, "audit 1,495") {
			t.Errorf("channel chips = %q", got)
		}
		if got := b.text(`tr[data-topic="orders"] [data-field="in_flight"]`); got != "5" {
			t.Errorf("in flight = %q", got)
		}
		if got := b.text(`tr[data-topic="fresh"]`); !strings.Contains(got, "no producers") {
			t.Errorf("fresh row = %q", got)
		}
		if got := b.text(`[data-tile="nodes"] .tile-value`); got != "2" {
			t.Errorf("nodes tile = %q", got)
		}
	})

	t.Run("rate chart has points after messages flow", func(t *testing.T) {
		b.tb = t
		deadline := time.Now().Add(30 * time.Second)
		// publish until the chart shows a rate and the front page flags
		// the channels whose depth keeps growing
		for i := 0; ; i++ {
			c.publish(t, 1, "orders", 20)
			if evalJS[bool](b, `(() => { const s = document.querySelector('svg[data-chart="cluster-rate"]');
				return !!s && +s.dataset.nonzero > 0 &&
					!!document.querySelector('tr[data-topic="orders"] a.chip-growing[data-channel="billing"]') &&
					!!document.querySelector('[data-attention] li[data-growing="true"]'); })()`) {
				break
			}
			if time.Now().After(deadline) || i > 300 {
				t.Fatalf("rate chart or growing flags never showed: %s", b.text(`section[data-page="topics"]`))
			}
			time.Sleep(100 * time.Millisecond) // pace the publishing while the page refreshes
		}
		if n := evalJS[int](b, `+document.querySelector('svg[data-chart="cluster-rate"]').dataset.points`); n < 2 {
			t.Errorf("rate chart points = %d", n)
		}
		b.waitJS(`document.querySelector('svg[data-chart="cluster-depth"]') && +document.querySelector('svg[data-chart="cluster-depth"]').dataset.nonzero > 0`, "depth chart")
		b.screenshot("topics")
	})

	t.Run("topic", func(t *testing.T) {
		b.tb = t
		b.open(a.url+"/topics/orders", "topic")
		b.waitJS(`document.querySelector('table[data-table="channels"] tr[data-channel="billing"]')`, "billing row")
		b.waitJS(`document.querySelectorAll('table[data-table="nodes"] tbody tr').length === 2`, "two node rows")
		billing := c.stats(t, 0, "orders").Channels[1].Depth + c.stats(t, 1, "orders").Channels[1].Depth
		audit := c.stats(t, 0, "orders").Channels[0].Depth + c.stats(t, 1, "orders").Channels[0].Depth
		b.waitJS(`document.querySelector('[data-tile="backlog"] .tile-value').innerText.trim() === `+jsQuote(thousands(billing+audit)), "backlog tile")
		if got := b.text(`tr[data-channel="audit"] [data-field="clients"]`); got != "1" {
			t.Errorf("audit consumers = %q", got)
		}
		b.waitJS(`+document.querySelector('svg[data-chart="topic-rate"]').dataset.points > 0`, "topic rate chart")
		b.screenshot("topic")
	})

	t.Run("channel with a consumer", func(t *testing.T) {
		b.tb = t
		b.open(a.url+"/topics/orders/audit", "channel")
		b.waitJS(`document.querySelector('tr[data-client^="worker1.example:"]')`, "consumer row")
		row := b.text(`tr[data-client^="worker1.example:"]`)
		for _, want := range []string{"go-nsq/", c.node(0), "id worker1"} {
			if !strings.Contains(row, want) {
				t.Errorf("consumer row %q lacks %q", row, want)
			}
		}
		b.screenshot("channel")
	})

	t.Run("pause, empty with confirmation", func(t *testing.T) {
		b.tb = t
		b.open(a.url+"/topics/orders/billing", "channel")
		b.click(`button[data-action="pause"]`)
		testutil.Eventually(t, 10*time.Second, func() bool {
			return c.stats(t, 0, "orders").Channels[1].Paused && c.stats(t, 1, "orders").Channels[1].Paused
		}, "billing paused in nsqd /stats on both nodes")
		b.waitJS(`document.querySelector('button[data-action="unpause"]')`, "unpause button after pausing")

		depth := c.stats(t, 0, "orders").Channels[1].Depth + c.stats(t, 1, "orders").Channels[1].Depth
		b.click(`button[data-action="empty"]`)
		b.waitJS(`document.getElementById('confirm').open`, "confirmation dialog")
		body := b.text(`#confirm-body`)
		if want := "empties " + thousands(depth) + " messages"; !strings.Contains(body, want) {
			t.Errorf("confirmation %q lacks %q", body, want)
		}
		if ok := b.text(`#confirm-ok`); !strings.Contains(ok, thousands(depth)) {
			t.Errorf("confirm button %q does not say what is lost", ok)
		}
		b.screenshot("channel-confirm-empty")
		b.click(`#confirm-cancel`)
		b.waitJS(`!document.getElementById('confirm').open`, "dialog closed")
		if d := c.stats(t, 0, "orders").Channels[1].Depth; d == 0 {
			t.Fatal("cancel emptied the channel")
		}
		b.click(`button[data-action="empty"]`)
		b.waitJS(`document.getElementById('confirm').open`, "confirmation dialog")
		b.click(`#confirm-ok`)
		testutil.Eventually(t, 10*time.Second, func() bool {
			return c.stats(t, 0, "orders").Channels[1].Depth == 0 && c.stats(t, 1, "orders").Channels[1].Depth == 0
		}, "billing emptied on both nodes")
		b.waitJS(`document.querySelector('[data-tile="depth"] .tile-value').innerText.trim() === "0"`, "page shows depth 0")
		b.click(`button[data-action="unpause"]`)
		testutil.Eventually(t, 10*time.Second, func() bool { return !c.stats(t, 1, "orders").Channels[1].Paused }, "unpaused")
	})

	t.Run("nodes", func(t *testing.T) {
		b.tb = t
		b.open(a.url+"/nodes", "nodes")
		for i := range c.nsqds {
			b.waitJS(`document.querySelector('tr[data-node="`+c.node(i)+`"]')`, "node row "+c.node(i))
		}
		if got := b.text(`tr[data-node="` + c.node(0) + `"]`); !strings.Contains(got, "1.3.0") || !strings.Contains(got, "orders") {
			t.Errorf("node row = %q", got)
		}
		b.screenshot("nodes")
		b.open(a.url+"/nodes/"+url.PathEscape(c.node(0)), "node")
		b.waitJS(`document.querySelector('tbody[data-topic="orders"] tr[data-channel="billing"]')`, "node's channels")
		b.waitJS(`document.querySelector('[data-tile="clients"] .tile-value').innerText.trim() === "1"`, "node consumers tile 1")
		b.screenshot("node")
	})

	t.Run("counter", func(t *testing.T) {
		b.tb = t
		b.open(a.url+"/counter", "counter")
		var total int64
		for _, s := range obj(getOK(t, a.url+"/api/counter")["stats"]) {
			total += num(obj(s)["message_count"])
		}
		b.waitJS(`+document.getElementById('counter-value').dataset.total >= `+fmt.Sprint(total), "counter total")
		b.waitJS(`document.getElementById('counter-value').innerText.includes(',')`, "counter formatted with separators")
		b.screenshot("counter")
	})

	t.Run("lookup", func(t *testing.T) {
		b.tb = t
		b.open(a.url+"/lookup", "lookup")
		b.waitJS(`document.querySelector('[data-table="inactive"] li[data-topic="fresh"]')`, "inactive topic fresh")
		b.screenshot("lookup")
		evalJS[chromedp.Void](b, `document.getElementById('create-topic').value = 'made-in-browser'`)
		evalJS[chromedp.Void](b, `document.getElementById('create-channel').value = 'ch1'`)
		b.click(`form.create-form button[type=submit]`)
		testutil.Eventually(t, 10*time.Second, func() bool {
			var r struct {
				Channels []string `json:"channels"`
			}
			httpJSON(t, "GET", "http://"+c.lookupdHTTP()+"/channels?topic=made-in-browser", &r)
			return len(r.Channels) == 1 && r.Channels[0] == "ch1"
		}, "topic and channel created in nsqlookupd")
		b.waitJS(`document.querySelector('[data-table="inactive"] li[data-topic="made-in-browser"] li[data-channel="ch1"]')`, "new inactive topic listed")
	})

	t.Run("pause switch", func(t *testing.T) {
		b.tb = t
		b.open(a.url+"/", "topics")
		b.waitJS(`document.getElementById('updated').innerText.startsWith('updated')`, "first refresh")
		b.click(`#refresh-toggle`)
		if got := b.text(`#refresh-toggle`); got != "Resume auto-refresh" {
			t.Errorf("toggle = %q", got)
		}
		before := b.text(`#updated`)
		// watch the page over several refresh periods: nothing may change
		for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
			if now := b.text(`#updated`); now != before {
				t.Fatalf("page refreshed while paused: %q → %q", before, now)
			}
		}
		b.click(`#refresh-toggle`)
		b.waitJS(`document.getElementById('updated').innerText !== `+jsQuote(before), "refresh after resuming")
		if got := b.text(`#refresh-toggle`); got != "Pause auto-refresh" {
			t.Errorf("toggle = %q", got)
		}
	})

	b.tb = t
	b.noConsoleErrors()
}

func TestBrowserFaultsAndNonAdmin(t *testing.T) {
	b := newBrowser(t)
	// failed API calls show up as console errors about the resource; the
	// page must still explain them, and nothing may throw
	b.allow("Failed to load resource")
	c := startLiveCluster(t, 2)
	c.publish(t, 0, "orders", 10)
	c.publish(t, 1, "orders", 10)
	c.waitProducers(t, "orders", 2)
	lookupdMode := startAdmin(t, c.lookupdMode)

	t.Run("unknown topic", func(t *testing.T) {
		b.tb = t
		b.open(lookupdMode.url+"/topics/nope", "error")
		if got := b.text(`.error-box`); !strings.Contains(got, "Topic “nope” does not exist") || !strings.Contains(got, "UPSTREAM_ERROR") {
			t.Errorf("error box = %q", got)
		}
		b.screenshot("error-unknown-topic")
	})
	t.Run("unknown channel", func(t *testing.T) {
		b.tb = t
		b.open(lookupdMode.url+"/topics/orders/nope", "channel")
		if got := b.text(`.error-box`); !strings.Contains(got, "Channel “nope” does not exist on any nsqd of topic “orders”") {
			t.Errorf("error box = %q", got)
		}
	})
	t.Run("unknown node", func(t *testing.T) {
		b.tb = t
		b.open(lookupdMode.url+"/nodes/127.0.0.1:1", "error")
		if got := b.text(`.error-box`); !strings.Contains(got, "is not part of the cluster") {
			t.Errorf("error box = %q", got)
		}
	})
	t.Run("garbage lookupd", func(t *testing.T) {
		b.tb = t
		bad := newFakeLookupd(t)
		bad.set(func(l *fakeLookupd) { l.garbage = "<html>proxy error</html>" })
		a := startAdmin(t, func(o *Options) { o.NSQLookupdHTTPAddresses = []string{bad.addr()} })
		b.open(a.url+"/", "error")
		if got := b.text(`.error-box`); !strings.Contains(got, "UPSTREAM_ERROR: failed to query any nsqlookupd") || !strings.Contains(got, "invalid character") {
			t.Errorf("error box = %q", got)
		}
		b.screenshot("error-garbage-lookupd")
	})
	t.Run("one node down", func(t *testing.T) {
		b.tb = t
		down := startNSQD(t, "")
		testutil.Eventually(t, 5*time.Second, func() bool {
			return httpJSON(t, "GET", "http://"+down.RealHTTPAddr().String()+"/ping", nil) == 200
		}, "nsqd up before it goes down")
		a := startAdmin(t, func(o *Options) {
			c.nsqdMode(o)
			o.NSQDHTTPAddresses = append(o.NSQDHTTPAddresses, down.RealHTTPAddr().String())
			o.HTTPClientRequestTimeout = time.Second
		})
		down.Exit()
		b.open(a.url+"/topics/orders", "topic")
		b.waitJS(`!document.getElementById('banner').hidden`, "warning banner")
		if got := b.text(`#banner`); !strings.Contains(got, "WARNING") || !strings.Contains(got, down.RealHTTPAddr().String()) {
			t.Errorf("banner = %q", got)
		}
		b.waitJS(`document.querySelectorAll('table[data-table="nodes"] tbody tr').length === 2`, "the two healthy nodes")
		b.screenshot("warning-node-down")
	})
	t.Run("not admin", func(t *testing.T) {
		b.tb = t
		a := startAdmin(t, func(o *Options) { c.lookupdMode(o); o.AdminUsers = []string{"bob"} })
		b.open(a.url+"/topics/orders", "topic")
		b.waitJS(`document.querySelector('table[data-table="nodes"] tbody tr')`, "topic rendered")
		if n := evalJS[int](b, `document.querySelectorAll('button[data-act]').length`); n != 0 {
			t.Errorf("non-admin sees %d action buttons", n)
		}
		b.open(a.url+"/lookup", "lookup")
		if n := evalJS[int](b, `document.querySelectorAll('form.create-form').length`); n != 0 {
			t.Error("non-admin sees the create form")
		}
	})
	t.Run("graphite", func(t *testing.T) {
		b.tb = t
		g := newFakeGraphite(t)
		a := startAdmin(t, func(o *Options) { c.lookupdMode(o); o.GraphiteURL = g.srv.URL })
		b.open(a.url+"/topics/orders", "topic")
		b.waitJS(`document.querySelectorAll('.graphite-graph img').length >= 2 && [...document.querySelectorAll('.graphite-graph img')].every(i => i.complete && i.naturalWidth > 0)`, "graphite graphs loaded")
		src := evalJS[string](b, `document.querySelector('.graphite-graph img').src`)
		u, err := url.Parse(src)
		if err != nil || !strings.HasPrefix(src, g.srv.URL+"/render?") {
			t.Fatalf("graph src = %s", src)
		}
		if tgt := u.Query().Get("target"); tgt != `summarize(sumSeries(stats.gauges.nsq.*.topic.orders.depth),"60sec","avg")` {
			t.Errorf("target = %s", tgt)
		}
		b.screenshot("topic-graphite")
	})

	b.tb = t
	b.mu.Lock()
	for _, e := range b.errors {
		if strings.HasPrefix(e, "exception") {
			t.Errorf("uncaught exception: %s", e)
		}
	}
	b.mu.Unlock()
	b.noConsoleErrors()
}
