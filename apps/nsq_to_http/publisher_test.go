package main

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/nsqio/go-nsq"
)

func TestValidate(t *testing.T) {
	base := []string{"--topic=t", "--nsqd-tcp-address=a:1"}
	cases := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"--header=X-A=b"}, "--header value format should be 'key=value'"},
		{[]string{"--header=X-A:"}, "--header value format should be 'key=value'"},
		{[]string{"--header= : b"}, "--header value format should be 'key=value'"},
		{[]string{"--header=X-A: b"}, "--topic and --channel are required"},
		{[]string{"--topic=t", "--channel="}, "--topic and --channel are required"},
		{[]string{"--topic=t", "--content-type=text/plain"}, "--content-type only used with --post"},
		{[]string{"--topic=t", "--content-type=", "--post=http://x/"}, "--content-type requires a value when used"},
		{[]string{"--topic=t"}, "--nsqd-tcp-address or --lookupd-http-address required"},
		{[]string{"--topic=t", "--nsqd-tcp-address=a:1", "--lookupd-http-address=b:1"}, "use --nsqd-tcp-address or --lookupd-http-address not both"},
		{base, "--get or --post required"},
		{append(base, "--get=http://x/?%s", "--post=http://y/"), "use --get or --post not both"},
		{append(base, "--get=http://x/"), "invalid GET address - must be a printf string"},
		{append(base, "--get=http://x/?a=%s&b=%s"), "invalid GET address - must be a printf string"},
		{append(base, "--post=http://x/", "--sample=1.5"), "ERROR: --sample must be between 0.0 and 1.0"},
		{append(base, "--post=http://x/", "--sample=-0.1"), "ERROR: --sample must be between 0.0 and 1.0"},
		{append(base, "--post=http://x/", "-n=0"), "-n must be at least 1"},
		{append(base, "--post=http://x/"), ""},
		{append(base, "--get=http://x/?q=%s"), ""},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			o, err := parseArgs(append([]string{"nsq_to_http"}, c.args...), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			err = o.Validate()
			if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || err.Error() != c.wantErr) {
				t.Fatalf("Validate() = %v, want %q", err, c.wantErr)
			}
		})
	}
}

func TestRunStartupErrors(t *testing.T) {
	cases := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"--version"}, 0, "nsq_to_http v1.3.0\n", ""},
		{[]string{"--consumer-opt=bogus"}, 2, "", "invalid option bogus"},
		{[]string{"--topic=t", "--post=http://x/"}, 1, "", "--nsqd-tcp-address or --lookupd-http-address required\n"},
		{[]string{"--topic=t!", "--post=http://x/", "--nsqd-tcp-address=127.0.0.1:1"}, 1, "", "invalid topic name\n"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"nsq_to_http"}, c.args...), &stdout, &stderr, nil)
			if code != c.code || stdout.String() != c.stdout || !strings.Contains(stderr.String(), c.stderr) {
				t.Fatalf("code %d stdout %q stderr %q", code, stdout.String(), stderr.String())
			}
		})
	}
}

// recorder is an HTTP endpoint that records requests and answers with a
// settable status.
type recorder struct {
	mu     sync.Mutex // guards reqs, status
	reqs   []recorded
	status int
	srv    *httptest.Server
}

type recorded struct {
	method, uri, body string
	header            http.Header
}

func newRecorder(tb testing.TB, status int) *recorder {
	tb.Helper()
	r := &recorder{status: status}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.reqs = append(r.reqs, recorded{req.Method, req.URL.RequestURI(), string(body), req.Header.Clone()})
		w.WriteHeader(r.status)
		fmt.Fprint(w, "ignored body")
	}))
	tb.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) requests() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

func (r *recorder) setStatus(s int) {
	r.mu.Lock()
	r.status = s
	r.mu.Unlock()
}

func testPublisher(tb testing.TB, args ...string) *publisher {
	tb.Helper()
	o, err := parseArgs(append([]string{"nsq_to_http", "--topic=t", "--nsqd-tcp-address=a:1"}, args...), io.Discard)
	if err != nil {
		tb.Fatal(err)
	}
	if err := o.Validate(); err != nil {
		tb.Fatal(err)
	}
	return newPublisher(o, log.New(io.Discard, "", 0))
}

func msg(body string) *nsq.Message { return nsq.NewMessage(nsq.MessageID{}, []byte(body)) }

func TestPostRequest(t *testing.T) {
	r := newRecorder(t, http.StatusCreated)
	p := testPublisher(t, "--post="+r.srv.URL+"/in", "--content-type=text/plain",
		"--header=X-Trace: abc", "--header=User-Agent: custom")
	if err := p.HandleMessage(msg("a b&c")); err != nil {
		t.Fatal(err)
	}
	reqs := r.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	got := reqs[0]
	if got.method != "POST" || got.uri != "/in" || got.body != "a b&c" ||
		got.header.Get("Content-Type") != "text/plain" || got.header.Get("X-Trace") != "abc" ||
		got.header.Get("User-Agent") != "custom" {
		t.Fatalf("request %+v", got)
	}
}

func TestGetRequestAndStatus(t *testing.T) {
	r := newRecorder(t, http.StatusOK)
	p := testPublisher(t, "--get="+r.srv.URL+"/in?x=%20&msg=%s")
	if err := p.HandleMessage(msg("a b&c")); err != nil {
		t.Fatal(err)
	}
	got := r.requests()[0]
	if got.method != "GET" || got.uri != "/in?x=%20&msg=a+b%26c" || got.header.Get("User-Agent") != "nsq_to_http v1.3.0" ||
		got.header.Get("Content-Type") != "" {
		t.Fatalf("request %+v", got)
	}
	// GET succeeds only on exactly 200; POST on any 2xx.
	r.setStatus(http.StatusNoContent)
	if err := p.HandleMessage(msg("x")); err == nil {
		t.Fatal("GET answered 204 counted as success")
	}
	pp := testPublisher(t, "--post="+r.srv.URL)
	if err := pp.HandleMessage(msg("x")); err != nil {
		t.Fatalf("POST answered 204: %v", err)
	}
	r.setStatus(http.StatusInternalServerError)
	if err := pp.HandleMessage(msg("x")); err == nil {
		t.Fatal("POST answered 500 counted as success")
	}
}

func TestModes(t *testing.T) {
	a, b, c := newRecorder(t, 200), newRecorder(t, 200), newRecorder(t, 200)
	addrs := []string{"--post=" + a.srv.URL, "--post=" + b.srv.URL, "--post=" + c.srv.URL}
	counts := func() [3]int {
		return [3]int{len(a.requests()), len(b.requests()), len(c.requests())}
	}

	// round-robin: the first message goes to the second address.
	p := testPublisher(t, append(addrs, "--mode=round-robin")...)
	p.HandleMessage(msg("1"))
	if got := counts(); got != [3]int{0, 1, 0} {
		t.Fatalf("round-robin first message: %v", got)
	}
	for i := 0; i < 5; i++ {
		p.HandleMessage(msg("x"))
	}
	if got := counts(); got != [3]int{2, 2, 2} {
		t.Fatalf("round-robin: %v", got)
	}

	// An unknown mode sends to every address; a failure stops the fan-out
	// and fails the message.
	p = testPublisher(t, append(addrs, "--mode=all")...)
	if err := p.HandleMessage(msg("y")); err != nil {
		t.Fatal(err)
	}
	if got := counts(); got != [3]int{3, 3, 3} {
		t.Fatalf("fan-out: %v", got)
	}
	b.setStatus(500)
	if err := p.HandleMessage(msg("z")); err == nil {
		t.Fatal("fan-out with a failing address succeeded")
	}
	if got := counts(); got != [3]int{4, 4, 3} {
		t.Fatalf("fan-out should stop at the failure: %v", got)
	}

	// hostpool: a failing address is avoided afterwards.
	p = testPublisher(t, append(addrs, "--mode=hostpool")...)
	before := counts()
	var failures int
	for i := 0; i < 9; i++ {
		if p.HandleMessage(msg("h")) != nil {
			failures++
		}
	}
	after := counts()
	if failures != 1 || after[1]-before[1] != 1 || after[0]-before[0]+after[2]-before[2] != 8 {
		t.Fatalf("hostpool: %d failures, %v -> %v", failures, before, after)
	}
}

func TestSampleZeroSendsNothing(t *testing.T) {
	r := newRecorder(t, 200)
	p := testPublisher(t, "--post="+r.srv.URL, "--sample=0")
	for i := 0; i < 20; i++ {
		if err := p.HandleMessage(msg("s")); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(r.requests()); n != 0 {
		t.Fatalf("%d requests with --sample=0", n)
	}
}

func TestStatusLines(t *testing.T) {
	a, b := newRecorder(t, 200), newRecorder(t, 200)
	o, err := parseArgs([]string{"nsq_to_http", "--topic=t", "--nsqd-tcp-address=a:1", "--post=" + a.srv.URL,
		"--post=" + b.srv.URL, "--mode=round-robin", "--status-every=2"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	p := newPublisher(o, log.New(&logs, "", 0))
	if n := strings.Count(logs.String(), "Warning: use more than 100 status values"); n != 3 {
		t.Fatalf("%d warnings, want one per metrics object: %q", n, logs.String())
	}
	for i := 0; i < 7; i++ { // 4 to the second address, 3 to the first
		p.HandleMessage(msg("m"))
	}
	for _, prefix := range []string{"[aggregate]: finished 2 - 99th: ", "[" + a.srv.URL + "]: finished 2", "[" + b.srv.URL + "]: finished 2"} {
		if !strings.Contains(logs.String(), prefix) {
			t.Errorf("no %q line in %q", prefix, logs.String())
		}
	}
}
