package clusterinfo_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/dropin/nsq/internal/clusterinfo"
)

// TestStatsExtensions decodes our nsqd's additions to /stats: the
// replication section (the shape of CONTRACTS C) and the topic's storage.
func TestStatsExtensions(t *testing.T) {
	const body = `{"version":"1.3.0","health":"OK","topics":[
	  {"topic_name":"t","channels":[],"storage":"log","retained_from_ms":1700000000000}],
	 "replication":{"node_id":1,"factor":3,"groups":[
	  {"id":1,"leader":1,"term":4,"commit_index":123,"applied_index":120,"has_quorum":true,
	   "members":[{"node_id":1,"address":"127.0.0.1:4250","match_index":123,"lag":0,"active":true},
	              {"node_id":2,"address":"127.0.0.1:4251","match_index":100,"lag":23,"active":true}]},
	  {"id":3,"leader":0,"term":7,"commit_index":9,"applied_index":9,"has_quorum":false,
	   "members":[{"node_id":3,"address":"127.0.0.1:4252","match_index":0,"lag":-1,"active":false}]}]}}`
	var s clusterinfo.Stats
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatal(err)
	}
	if tp := s.Topics[0]; tp.Storage != clusterinfo.StorageLog || tp.RetainedFromMs != 1700000000000 {
		t.Errorf("topic %+v", tp)
	}
	r := s.Replication
	if r == nil || r.NodeID != 1 || r.Factor != 3 || len(r.Groups) != 2 {
		t.Fatalf("replication %+v", r)
	}
	g := r.Groups[0]
	if g.ID != 1 || g.Leader != 1 || g.Term != 4 || g.CommitIndex != 123 || g.AppliedIndex != 120 || !g.HasQuorum || len(g.Members) != 2 {
		t.Errorf("group %+v", g)
	}
	if m := g.Members[1]; m.NodeID != 2 || m.Address != "127.0.0.1:4251" || m.MatchIndex != 100 || m.Lag != 23 || !m.Active {
		t.Errorf("member %+v", m)
	}
	if m := r.Groups[1].Members[0]; m.Lag != -1 || m.Active {
		t.Errorf("unknown member %+v", m)
	}
	if got := r.WithoutQuorum(); !slices.Equal(got, []uint64{3}) {
		t.Errorf("without quorum %v", got)
	}

	var plain clusterinfo.Stats // NSQ's nsqd: neither addition
	if err := json.Unmarshal([]byte(`{"version":"1.3.0","topics":[{"topic_name":"t"}]}`), &plain); err != nil {
		t.Fatal(err)
	}
	if plain.Replication != nil || plain.Replication.WithoutQuorum() != nil || plain.Topics[0].Storage != "" {
		t.Errorf("NSQ stats %+v", plain)
	}
}
