package nsqadmin

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil"
	"github.com/dropin/nsq/nsqd"
	"github.com/dropin/nsq/nsqlookupd/lookupdtest"
)

// replicated makes a test nsqd node id of a replicated cluster (peers is
// the --replication-peers list, addr this node's entry).
func replicated(id int, peers, addr string) func(*nsqd.Options) {
	return func(o *nsqd.Options) {
		o.ID = int64(id)
		o.ReplicationPeers = peers
		o.ReplicationAddress = addr
	}
}

// TestBrowserReplicationLive shows a real 3-node replicated cluster on
// the nodes pages, then stops two nodes and checks that the survivor's
// groups are flagged without quorum, on its page and in the nodes list.
func TestBrowserReplicationLive(t *testing.T) {
	b := newBrowser(t)
	b.allow("Failed to load resource")
	l := lookupdtest.Start(t)
	addrs := testutil.FreeAddrs(t, 3)
	peers := fmt.Sprintf("1=%s,2=%s,3=%s", addrs[0], addrs[1], addrs[2])
	var nodes []*nsqd.NSQD
	for i := range 3 {
		nodes = append(nodes, startNSQD(t, l.RealTCPAddr().String(), replicated(i+1, peers, addrs[i])))
	}
	a := startAdmin(t, func(o *Options) { o.NSQLookupdHTTPAddresses = []string{l.RealHTTPAddr().String()} })
	node := func(i int) string { return nodes[i].RealHTTPAddr().String() }

	// every node in 3 groups, each group with a leader and a quorum
	healthy := func() bool {
		var r struct {
			Nodes []NodeReplication `json:"nodes"`
		}
		if httpJSON(t, "GET", a.url+"/api/replication", &r) != 200 || len(r.Nodes) != 3 {
			return false
		}
		for _, n := range r.Nodes {
			if n.Replication == nil || len(n.Replication.Groups) != 3 || len(n.WithoutQuorum) != 0 {
				return false
			}
		}
		return true
	}
	testutil.Eventually(t, 60*time.Second, healthy, "three nodes with three groups each, all with quorum")

	t.Run("healthy cluster", func(t *testing.T) {
		b.tb = t
		b.open(a.url+"/nodes", "nodes")
		for i := range nodes {
			b.waitJS(`document.querySelector('tr[data-node="`+node(i)+`"] [data-field="replication"]')`, "replication cell of node "+node(i))
		}
		if got := b.text(`tr[data-node="` + node(0) + `"] [data-field="replication"]`); !strings.HasPrefix(got, "node 1: 3 groups") {
			t.Errorf("node 1's cell %q", got)
		}
		// a group may lose its leader for a moment on a loaded machine (the
		// page then rightly warns): wait for the warning to be gone, and
		// fail if it stays
		b.waitJS(`!document.querySelector('[data-no-quorum], [data-warn="no-quorum"]')`, "no quorum warning on a healthy cluster")
		b.open(a.url+"/nodes/"+url.PathEscape(node(0)), "node")
		b.waitJS(`document.querySelectorAll('section[data-ops="replication"] tbody[data-group]').length === 3`, "three groups on node 1's page")
		b.waitJS(`document.querySelector('tbody[data-group="1"] [data-field="leader"]').innerText.trim() === "node 1"`, "node 1 leads its own group")
		b.screenshot("node-replication-live")
	})

	t.Run("no replay on a replicated node", func(t *testing.T) {
		b.tb = t
		resp, err := http.Post("http://"+node(0)+"/pub?topic=orders", "text/plain", strings.NewReader("one"))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("pub: %v %v", resp, err)
		}
		resp.Body.Close()
		var r struct {
			Enabled bool          `json:"enabled"`
			Reason  string        `json:"reason"`
			Nodes   []TopicReplay `json:"nodes"`
		}
		testutil.Eventually(t, 30*time.Second, func() bool {
			return httpJSON(t, "GET", a.url+"/api/replay/orders", &r) == 200 && len(r.Nodes) > 0
		}, "the topic's nodes")
		if r.Enabled || !strings.Contains(r.Reason, "replicated") || !r.Nodes[0].Replicated || r.Nodes[0].Storage != "log" {
			t.Errorf("replay status %+v", r)
		}
	})

	t.Run("two of three stopped", func(t *testing.T) {
		b.tb = t
		nodes[1].Exit()
		nodes[2].Exit()
		b.open(a.url+"/nodes/"+url.PathEscape(node(0)), "node")
		b.waitJS(`document.querySelectorAll('[data-warn="no-quorum"][data-group]').length === 3`, "every group of node 1 without quorum")
		if got := b.text(`[data-warn="no-quorum"][data-group="1"]`); !strings.Contains(got, "Group 1 has no quorum") {
			t.Errorf("warning %q", got)
		}
		b.screenshot("node-replication-no-quorum-live")
		b.open(a.url+"/nodes", "nodes")
		b.waitJS(`document.querySelector('tr[data-node="`+node(0)+`"][data-no-quorum="true"]')`, "node 1 flagged in the list")
		if got := b.text(`[data-warn="no-quorum"]`); !strings.Contains(got, "have no quorum") {
			t.Errorf("list warning %q", got)
		}
		b.screenshot("nodes-replication-no-quorum-live")
	})
	b.tb = t
	b.noConsoleErrors()
}
