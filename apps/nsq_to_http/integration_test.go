package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/clientapp/apptest"
	"github.com/dropin/nsq/internal/testutil"
	"github.com/dropin/nsq/nsqd/nsqdtest"
)

// sink is an HTTP endpoint that records the bodies (POST) or the "msg"
// query parameter (GET) it receives, failing the first `fail` requests
// with 500.
type sink struct {
	mu     sync.Mutex // guards got, fail
	got    []string
	fail   int
	server *httptest.Server
}

func newSink(tb testing.TB, fail int) *sink {
	tb.Helper()
	s := &sink{fail: fail}
	s.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.fail > 0 {
			s.fail--
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		if r.Method == http.MethodGet {
			s.got = append(s.got, r.URL.Query().Get("msg"))
		} else {
			s.got = append(s.got, string(body))
		}
	}))
	tb.Cleanup(s.server.Close)
	return s
}

func (s *sink) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

func TestPostEveryMessageProcess(t *testing.T) {
	tcpAddr, httpAddr := nsqdtest.Addrs(nsqdtest.Start(t))
	a, b := newSink(t, 0), newSink(t, 0)
	bin := testutil.Build(t, "github.com/dropin/nsq/apps/nsq_to_http")

	if p := testutil.StartProc(t, bin, nil, "--topic=t", "--nsqd-tcp-address="+tcpAddr); p.Wait(t, 10*time.Second) != 1 ||
		!strings.HasSuffix(p.Stderr.String(), " --get or --post required\n") {
		t.Fatalf("missing --post: %q", p.Stderr.String())
	}

	const n = 500
	want := apptest.Lines("body ", n)
	p := testutil.StartProc(t, bin, nil, "--topic=post", "--nsqd-tcp-address="+tcpAddr,
		"--post="+a.server.URL+"/a", "--post="+b.server.URL+"/b", "--content-type=text/plain", "-n=10")
	testutil.Eventually(t, 10*time.Second, func() bool {
		return len(apptest.ClientUserAgents(t, httpAddr, "post", "nsq_to_http")) == 1
	}, "not subscribed")
	if ua := apptest.ClientUserAgents(t, httpAddr, "post", "nsq_to_http"); ua[0] != "nsq_to_http/1.3.0 go-nsq/1.1.0" {
		t.Fatalf("user_agent %q", ua[0])
	}
	apptest.Publish(t, tcpAddr, "post", want...)
	testutil.Eventually(t, 30*time.Second, func() bool {
		return len(a.received())+len(b.received()) == n && apptest.Drained(t, httpAddr, "post", "nsq_to_http")
	}, "received %d+%d of %d", len(a.received()), len(b.received()), n)
	p.Signal(t, syscall.SIGTERM)
	if code := p.Wait(t, 40*time.Second); code != 0 {
		t.Fatalf("exit %d: %s", code, p.Stderr.String())
	}
	got := append(a.received(), b.received()...)
	slices.Sort(got)
	wantStrs := make([]string, n)
	for i, w := range want {
		wantStrs[i] = string(w)
	}
	slices.Sort(wantStrs)
	if !slices.Equal(got, wantStrs) {
		t.Fatal("received bodies differ from the published ones")
	}
	if len(a.received()) == 0 || len(b.received()) == 0 {
		t.Fatalf("hostpool used one address only: %d/%d", len(a.received()), len(b.received()))
	}
}

func TestGetRetriesFailures(t *testing.T) {
	tcpAddr, httpAddr := nsqdtest.Addrs(nsqdtest.Start(t))
	s := newSink(t, 3)
	var stderr testutil.Buffer
	sigs := make(chan os.Signal, 1)
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"nsq_to_http", "--topic=get", "--nsqd-tcp-address=" + tcpAddr,
			"--get=" + s.server.URL + "/?msg=%s", "--consumer-opt=default_requeue_delay,0s",
			"--consumer-opt=max_backoff_duration,0"}, io.Discard, &stderr, sigs)
	}()
	bodies := [][]byte{[]byte("a b&c"), []byte("ünï"), []byte("plain")}
	apptest.Publish(t, tcpAddr, "get", bodies...)
	testutil.Eventually(t, 30*time.Second, func() bool {
		return len(s.received()) == 3 && apptest.Drained(t, httpAddr, "get", "nsq_to_http")
	}, "GETs not all delivered: %q", s.received())
	sigs <- syscall.SIGINT
	if code := <-done; code != 0 {
		t.Fatalf("exit %d", code)
	}
	got := s.received()
	slices.Sort(got)
	if !slices.Equal(got, []string{"a b&c", "plain", "ünï"}) {
		t.Fatalf("got %q", got)
	}
	st, _ := apptest.ChannelStats(t, httpAddr, "get", "nsq_to_http")
	if st.RequeueCount != 3 {
		t.Fatalf("requeue_count %d, want 3 (one per failed request)", st.RequeueCount)
	}
	if !strings.Contains(stderr.String(), "got status code 500") {
		t.Fatalf("stderr %q", stderr.String())
	}
}
