package nsqadmin

import (
	"testing"

	"github.com/dropin/nsq/internal/clusterinfo"
)

func e2eOf(count int64, values ...float64) *clusterinfo.E2E {
	e := &clusterinfo.E2E{Count: count}
	qs := []float64{0.99, 0.5}
	for i, v := range values {
		e.Percentiles = append(e.Percentiles, clusterinfo.E2EPercentile{Quantile: qs[i], Value: v})
	}
	return e
}

// Merging per-node e2e summaries: max of the maxima, count-weighted
// average, summed counts, and a min over the nodes that measured
// something (NSQ's is the last merged node's max: docs/differences.md).
func TestE2EMerge(t *testing.T) {
	for _, tc := range []struct {
		name                string
		nodes               []*clusterinfo.E2E
		min, max, avg       float64
		count               int64
		host, topic, chname string
	}{
		{"idle node first", []*clusterinfo.E2E{e2eOf(0, 0, 0), e2eOf(4, 100, 50)}, 100, 100, 100, 4, "*", "t", "c"},
		{"idle node last", []*clusterinfo.E2E{e2eOf(4, 100, 50), e2eOf(0, 0, 0)}, 100, 100, 100, 4, "*", "t", "c"},
		{"two measured", []*clusterinfo.E2E{e2eOf(1, 300, 10), e2eOf(3, 100, 20)}, 100, 300, 150, 4, "*", "t", "c"},
		{"none measured", []*clusterinfo.E2E{e2eOf(0, 0, 0), e2eOf(0, 0, 0)}, 0, 0, 0, 0, "*", "t", "c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			agg := newChannelAggregate("t", "c").E2E
			for _, n := range tc.nodes {
				node := nodeE2E(n)
				if node.Host != "" || node.Topic != "" || node.Channel != "" {
					t.Fatalf("a node's summary names %q %q %q", node.Host, node.Topic, node.Channel)
				}
				agg.add(node)
			}
			if agg.Host != tc.host || agg.Topic != tc.topic || agg.Channel != tc.chname || agg.Count != tc.count {
				t.Errorf("aggregate %q %q %q count %d", agg.Host, agg.Topic, agg.Channel, agg.Count)
			}
			p := agg.Percentiles[0]
			if p.Quantile != 0.99 || p.Min != tc.min || p.Max != tc.max || p.Average != tc.avg || p.Count != tc.count || p.Value != nil {
				t.Errorf("p99 = %+v, want min %v max %v average %v count %d, no value", *p, tc.min, tc.max, tc.avg, tc.count)
			}
		})
	}
}
