package nsqadmin

import (
	"net/url"
	"testing"

	"github.com/dropin/nsq/internal/clusterinfo"
)

// sampleReplication is node 1 of a 3-node cluster (the shape of
// CONTRACTS C) that leads its own group 1 and follows group 3, whose
// leader and third member are gone: group 3 has no quorum.
func sampleReplication() *clusterinfo.Replication {
	return &clusterinfo.Replication{NodeID: 1, Factor: 3, Groups: []*clusterinfo.ReplicationGroup{
		{ID: 1, Leader: 1, Term: 4, CommitIndex: 123, AppliedIndex: 123, HasQuorum: true, Members: []*clusterinfo.ReplicationMember{
			{NodeID: 1, Address: "127.0.0.1:4250", MatchIndex: 123, Lag: 0, Active: true},
			{NodeID: 2, Address: "127.0.0.1:4251", MatchIndex: 120, Lag: 3, Active: true},
			{NodeID: 3, Address: "127.0.0.1:4252", MatchIndex: 80, Lag: 43, Active: false},
		}},
		{ID: 3, Leader: 0, Term: 9, CommitIndex: 57, AppliedIndex: 55, HasQuorum: false, Members: []*clusterinfo.ReplicationMember{
			{NodeID: 3, Address: "127.0.0.1:4252", MatchIndex: 0, Lag: -1, Active: false},
			{NodeID: 1, Address: "127.0.0.1:4250", MatchIndex: 57, Lag: -1, Active: true},
			{NodeID: 2, Address: "127.0.0.1:4251", MatchIndex: 0, Lag: -1, Active: false},
		}},
	}}
}

func TestAPIReplication(t *testing.T) {
	c := newFakeCluster(t)
	c.a.set(func(f *fakeNSQD) { f.replication = sampleReplication() })
	for _, mode := range []struct {
		name  string
		setup func(*Options)
	}{{"lookupd", c.lookupdMode}, {"nsqd", c.nsqdMode}} {
		t.Run(mode.name, func(t *testing.T) {
			a := startAdmin(t, mode.setup)
			r := getOK(t, a.url+"/api/nodes/"+url.PathEscape(c.a.addr()))
			wantKeys(t, "node", r, "node", "topics", "total_messages", "total_clients", "replication", "message")
			rep := obj(r["replication"])
			wantKeys(t, "replication", rep, "node_id", "factor", "groups")
			groups := list(rep["groups"])
			if len(groups) != 2 || num(obj(groups[1])["id"]) != 3 || obj(groups[1])["has_quorum"] != false {
				t.Fatalf("groups %v", groups)
			}
			wantKeys(t, "group", groups[0], "id", "leader", "term", "commit_index", "applied_index", "has_quorum", "members")
			wantKeys(t, "member", list(obj(groups[0])["members"])[0], "node_id", "address", "match_index", "lag", "active")
			if m := obj(list(obj(groups[0])["members"])[2]); num(m["lag"]) != 43 || m["active"] != false {
				t.Errorf("member 3 of group 1: %v", m)
			}

			// a node without replication keeps NSQ's shape
			r = getOK(t, a.url+"/api/nodes/"+url.PathEscape(c.b.addr()))
			wantKeys(t, "node without replication", r, "node", "topics", "total_messages", "total_clients", "message")

			r = getOK(t, a.url+"/api/replication")
			wantKeys(t, "replication list", r, "nodes", "message")
			byNode := map[string]map[string]any{}
			for _, n := range list(r["nodes"]) {
				byNode[obj(n)["node"].(string)] = obj(n)
			}
			na, nb := byNode[c.a.addr()], byNode[c.b.addr()]
			if na == nil || nb == nil || len(byNode) != 2 {
				t.Fatalf("nodes %v", r["nodes"])
			}
			wantKeys(t, "node replication", na, "node", "hostname", "replication", "without_quorum")
			if wq := list(na["without_quorum"]); len(wq) != 1 || num(wq[0]) != 3 || na["hostname"] != "host-a" {
				t.Errorf("a: %v", na)
			}
			if nb["replication"] != nil || len(list(nb["without_quorum"])) != 0 || nb["without_quorum"] == nil {
				t.Errorf("b: %v", nb)
			}
		})
	}

	t.Run("a node down is a warning", func(t *testing.T) {
		a := startAdmin(t, c.nsqdMode)
		c.b.set(func(f *fakeNSQD) { f.broken = true })
		defer c.b.set(func(f *fakeNSQD) { f.broken = false })
		r := call(t, "GET", a.url+"/api/replication", nil)
		if r.status != 200 || len(list(r.json["nodes"])) != 1 || r.message() == "" {
			t.Errorf("%d %s", r.status, r.body)
		}
	})
}
