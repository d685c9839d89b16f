package replication

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	nsq "github.com/nsqio/go-nsq"

	"github.com/dropin/nsq/internal/testutil"
)

// journal records message bodies seen, counting repeats.
type journal struct {
	mu   sync.Mutex // guards seen
	seen map[string]int
}

func newJournal() *journal { return &journal{seen: map[string]int{}} }

func (j *journal) add(b string) {
	j.mu.Lock()
	j.seen[b]++
	j.mu.Unlock()
}

// missing returns the bodies of want not in j, and the duplicates.
func (j *journal) missing(want []string) (missing []string, dups int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, b := range want {
		if j.seen[b] == 0 {
			missing = append(missing, b)
		}
	}
	for _, n := range j.seen {
		if n > 1 {
			dups += n - 1
		}
	}
	return missing, dups
}

// consume starts a go-nsq consumer through lookupd that FINs and journals.
func consume(t testing.TB, lookupHTTP, topic, channel string, j *journal) *nsq.Consumer {
	t.Helper()
	cfg := nsq.NewConfig()
	cfg.LookupdPollInterval = time.Second
	cfg.MaxInFlight = 50
	cfg.DefaultRequeueDelay = 100 * time.Millisecond
	cons, err := nsq.NewConsumer(topic, channel, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cons.SetLogger(nil, nsq.LogLevelError)
	cons.AddHandler(nsq.HandlerFunc(func(m *nsq.Message) error {
		j.add(string(m.Body))
		return nil
	}))
	if err := cons.ConnectToNSQLookupd("http://" + lookupHTTP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cons.Stop)
	return cons
}

func producer(t testing.TB, addr string) *nsq.Producer {
	t.Helper()
	cfg := nsq.NewConfig()
	p, err := nsq.NewProducer(addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	p.SetLogger(nil, nsq.LogLevelError)
	t.Cleanup(p.Stop)
	return p
}

func waitAll(t testing.TB, j *journal, want []string, timeout time.Duration) int {
	t.Helper()
	var missing []string
	var dups int
	err := testutil.Poll(timeout, func() bool {
		missing, dups = j.missing(want)
		return len(missing) == 0
	})
	if err != nil {
		t.Fatalf("%d of %d acknowledged messages not delivered within %s, e.g. %v", len(missing), len(want), timeout, missing[:min(5, len(missing))])
	}
	return dups
}

// TestReplicatedPublishConsume: publishes to each node over TCP and HTTP
// reach a go-nsq consumer through lookupd; /stats and /metrics carry the
// replication section.
func TestReplicatedPublishConsume(t *testing.T) {
	c := newCluster(t)
	c.waitHomeLeaders(60 * time.Second)
	j := newJournal()
	var want []string
	for i, n := range c.nodes {
		p := producer(t, n.tcp)
		for k := 0; k < 50; k++ {
			body := fmt.Sprintf("n%d-tcp-%d", i+1, k)
			if err := p.Publish("repl", []byte(body)); err != nil {
				t.Fatalf("publish to node %d: %v", i+1, err)
			}
			want = append(want, body)
		}
		bodies := [][]byte{}
		for k := 0; k < 20; k++ {
			bodies = append(bodies, fmt.Appendf(nil, "n%d-mpub-%d", i+1, k))
			want = append(want, string(bodies[k]))
		}
		if err := p.MultiPublish("repl", bodies); err != nil {
			t.Fatalf("mpub to node %d: %v", i+1, err)
		}
		for k := 0; k < 10; k++ {
			body := fmt.Sprintf("n%d-http-%d", i+1, k)
			if _, err := httpPub(n.http, "repl", []byte(body)); err != nil {
				t.Fatalf("HTTP pub to node %d: %v", i+1, err)
			}
			want = append(want, body)
		}
	}
	consume(t, c.lookupHTTP, "repl", "ch", j)
	dups := waitAll(t, j, want, 90*time.Second)
	t.Logf("%d delivered, %d duplicates", len(want), dups)

	commits := c.waitConverged(60 * time.Second)
	s := c.stats(0)
	if s == nil || s.NodeID != 1 || s.Factor != 3 || len(s.Groups) != 3 {
		t.Fatalf("replication section: %+v", s)
	}
	// the consumer's FINs keep riding commits, so the index may have moved on
	g := s.Groups[0]
	if g.ID != 1 || g.Leader != 1 || !g.HasQuorum || g.CommitIndex < commits[1] || len(g.Members) != 3 {
		t.Fatalf("group 1 on node 1: %+v", g)
	}
	for _, m := range g.Members {
		if m.Address == "" || m.Lag < 0 {
			t.Fatalf("member seen by the leader: %+v", m)
		}
	}
	metrics := testutil.ScrapeMetrics(t, "http://"+c.nodes[0].http+"/metrics")
	if v, ok := metrics.Value("nsq_replication_group_leader", "group", "1"); !ok || v != 1 {
		t.Fatalf("nsq_replication_group_leader{group=1} = %v, %v", v, ok)
	}
	resp, err := httpc.Get("http://" + c.nodes[0].http + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	buf := new(strings.Builder)
	fmt.Fprint(buf, readAll(resp))
	if !strings.Contains(buf.String(), "Replication: node 1, factor 3") {
		t.Fatalf("text /stats lacks the replication section:\n%s", buf)
	}
}

// TestReplicatedDelete: a topic deleted on every node (as nsqadmin does)
// is gone from every node and stays gone once the groups applied it.
func TestReplicatedDelete(t *testing.T) {
	c := newCluster(t)
	c.waitHomeLeaders(60 * time.Second)
	for _, n := range c.nodes {
		if _, err := httpPub(n.http, "doomed", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	has := func(i int) bool {
		resp, err := httpc.Get("http://" + c.nodes[i].http + "/stats?format=json&topic=doomed")
		if err != nil {
			return true
		}
		return strings.Contains(readAll(resp), `"topic_name":"doomed"`)
	}
	if err := testutil.Poll(30*time.Second, func() bool { return has(0) && has(1) && has(2) }); err != nil {
		t.Fatal("the topic did not reach every node")
	}
	for _, n := range c.nodes {
		resp, err := httpc.Post("http://"+n.http+"/topic/delete?topic=doomed", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		readAll(resp)
	}
	c.waitConverged(60 * time.Second)
	for i := range c.nodes {
		if has(i) {
			t.Fatalf("node %d still has the deleted topic", i+1)
		}
	}
}
