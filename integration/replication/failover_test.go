package replication

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil"
)

// TestReplicatedFailover: node 1 holds an unconsumed backlog (acknowledged
// over TCP and HTTP) when it is killed with -9; a go-nsq consumer through
// lookupd gets all of it from the group's new leader. Node 1 then comes
// back, leads its group again and serves new publishes.
func TestReplicatedFailover(t *testing.T) {
	c := newCluster(t)
	c.waitHomeLeaders(60 * time.Second)
	// the channel exists (in group 1's log too) before the backlog
	for _, n := range c.nodes {
		for _, path := range []string{"/topic/create?topic=backlog", "/channel/create?topic=backlog&channel=ch"} {
			resp, err := httpc.Post("http://"+n.http+path, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			if body := readAll(resp); resp.StatusCode != 200 {
				t.Fatalf("%s on node %d: %d %s", path, n.id, resp.StatusCode, body)
			}
		}
	}
	var want []string
	p := producer(t, c.nodes[0].tcp)
	for k := 0; k < 300; k++ {
		body := fmt.Sprintf("backlog-%d", k)
		if err := p.Publish("backlog", []byte(body)); err != nil {
			t.Fatalf("publish: %v", err)
		}
		want = append(want, body)
	}
	for k := 0; k < 50; k++ {
		body := fmt.Sprintf("backlog-http-%d", k)
		if _, err := httpPub(c.nodes[0].http, "backlog", []byte(body)); err != nil {
			t.Fatal(err)
		}
		want = append(want, body)
	}
	c.kill(0)
	j := newJournal()
	consume(t, c.lookupHTTP, "backlog", "ch", j)
	dups := waitAll(t, j, want, 120*time.Second)
	t.Logf("backlog of %d delivered after the leader's kill -9, %d duplicates", len(want), dups)

	c.start(0)
	c.waitHomeLeaders(120 * time.Second)
	var more []string
	p2 := producer(t, c.nodes[0].tcp)
	for k := 0; k < 20; k++ {
		body := fmt.Sprintf("after-%d", k)
		if err := p2.Publish("backlog", []byte(body)); err != nil {
			t.Fatalf("publish after restart: %v", err)
		}
		more = append(more, body)
	}
	waitAll(t, j, more, 120*time.Second)
}

// TestReplicatedQuorumLoss: with two of three nodes killed, publishing to
// the last one never answers OK (TCP E_PUB_FAILED, HTTP 503) and its /ping
// answers 500 naming the group without a quorum; once one comes back,
// /ping answers 200 OK again and publishing resumes.
func TestReplicatedQuorumLoss(t *testing.T) {
	c := newCluster(t, "--replication-propose-timeout=2s")
	c.waitHomeLeaders(60 * time.Second)
	p := &pubConn{addr: c.nodes[0].tcp}
	defer p.close()
	if err := p.pub("q", []byte("before")); err != nil {
		t.Fatal(err)
	}
	for i := range c.nodes {
		if code, body := c.ping(i); code != 200 || body != "OK" {
			t.Fatalf("/ping on node %d of a healthy cluster: %d %q", i+1, code, body)
		}
	}
	c.kill(1)
	c.kill(2)
	var code int
	var body string
	if err := testutil.Poll(60*time.Second, func() bool {
		code, body = c.ping(0)
		return code == 500
	}); err != nil {
		t.Fatalf("/ping of the last node kept answering %d %q without a quorum", code, body)
	}
	if !strings.HasPrefix(body, "NOK - replication group 1 has no quorum") {
		t.Fatalf("/ping without a quorum: %d %q", code, body)
	}
	for k := 0; k < 5; k++ {
		err := p.pub("q", fmt.Appendf(nil, "lost-%d", k))
		if err == nil {
			t.Fatalf("publish %d answered OK without a quorum", k)
		}
		code, herr := httpPub(c.nodes[0].http, "q", fmt.Appendf(nil, "lost-http-%d", k))
		if herr == nil {
			t.Fatalf("HTTP publish %d answered OK without a quorum", k)
		}
		if code != 0 && code != 503 {
			t.Fatalf("HTTP publish without a quorum: %d %v, want 503", code, herr)
		}
	}
	c.start(1)
	if err := testutil.Poll(120*time.Second, func() bool {
		code, body = c.ping(0)
		return code == 200
	}); err != nil || body != "OK" {
		t.Fatalf("/ping after a node came back: %d %q", code, body)
	}
	err := testutil.Poll(120*time.Second, func() bool {
		_, err := httpPub(c.nodes[0].http, "q", []byte("after"))
		return err == nil
	})
	if err != nil {
		t.Fatal(errors.New("publishing did not resume after a node came back"))
	}
	if err := p.pub("q", []byte("after-tcp")); err != nil {
		t.Fatalf("TCP publish after recovery: %v", err)
	}
}
