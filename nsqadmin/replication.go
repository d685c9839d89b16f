package nsqadmin

import (
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/dropin/nsq/internal/clusterinfo"
)

// NodeReplication is one node's replication section for the nodes list
// (beyond NSQ): what the node's /stats says (nil when it does not
// replicate) and the groups it sees without quorum.
type NodeReplication struct {
	Node          string                   `json:"node"`
	Hostname      string                   `json:"hostname"`
	Replication   *clusterinfo.Replication `json:"replication"`
	WithoutQuorum []uint64                 `json:"without_quorum"`
}

// GET /api/replication: every node's replication section, so the nodes
// list can flag a node that sees a group without quorum (a group that
// cannot commit, so its publishes fail). One entry per node that
// answered, in the order of /api/nodes; /api/nodes/:node carries the
// same section for one node.
func (n *NSQAdmin) replicationHandler(w http.ResponseWriter, req *http.Request, _ httprouter.Params) (any, error) {
	opts := n.getOpts()
	ctx := req.Context()
	var warn warnings
	producers, err := n.cluster.producers(ctx, opts.NSQLookupdHTTPAddresses, opts.NSQDHTTPAddresses)
	if err := warn.absorb(n, err); err != nil {
		return nil, err
	}
	out := []NodeReplication{}
	if len(producers) > 0 {
		results, err := n.cluster.statsEach(ctx, producers, "", "", false)
		if err := warn.absorb(n, err); err != nil {
			return nil, err
		}
		for _, r := range results {
			out = append(out, NodeReplication{
				Node:          r.producer.HTTPAddress(),
				Hostname:      r.producer.Hostname,
				Replication:   r.replication,
				WithoutQuorum: nonNilIDs(r.replication.WithoutQuorum()),
			})
		}
	}
	return struct {
		Nodes   []NodeReplication `json:"nodes"`
		Message string            `json:"message"`
	}{out, warn.message()}, nil
}

func nonNilIDs(ids []uint64) []uint64 {
	if ids == nil {
		return []uint64{}
	}
	return ids
}
