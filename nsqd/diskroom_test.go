package nsqd

import (
	"testing"
)

// TestDiskRoomBalances: the bytes diskRoom counts as held in memory go
// back to zero once every message is finished, emptied or deleted, on
// every path a message takes (memory, disk overflow, requeue, deferral,
// topic backlog).
func TestDiskRoomBalances(t *testing.T) {
	opts := testOptions(t)
	opts.MemQueueSize = 5
	n := startNSQD(t, opts)
	room := n.env.room
	publish(t, n, "bal", "backlog-1", "backlog-2") // no channel yet: topic queue
	a := subscribe(t, n, "bal", "a", 0)
	httpDo(t, n, "POST", "/channel/create?topic=bal&channel=b", "")
	var bodies []string
	for i := 0; i < 30; i++ {
		bodies = append(bodies, "m")
	}
	publish(t, n, "bal", bodies...) // overflows to disk
	a.cmd("RDY 100")
	for i := 0; i < 32; i++ {
		m := a.readMsg()
		switch i % 3 {
		case 0:
			a.cmd("REQ " + m.id + " 0")
		case 1:
			a.cmd("REQ " + m.id + " 10")
		default:
			a.cmd("FIN " + m.id)
		}
	}
	// finish everything left on a; empty b
	eventually(t, func() bool {
		cs := channelStatsOf(t, n, "bal", "a")
		if cs.Depth+int64(cs.InFlightCount+cs.DeferredCount) == 0 {
			return true
		}
		m := a.readMsg()
		a.cmd("FIN " + m.id)
		return false
	}, "channel a drained")
	httpDo(t, n, "POST", "/channel/empty?topic=bal&channel=b", "")
	eventually(t, func() bool { return room.held.Load() == 0 }, "held %d bytes after draining, want 0", room.held.Load())
	if q := room.queues.Load(); q != 3 {
		t.Fatalf("%d durable queues counted, want 3", q)
	}
	httpDo(t, n, "POST", "/topic/delete?topic=bal", "")
	if q := room.queues.Load(); q != 0 || room.held.Load() != 0 {
		t.Fatalf("after delete: %d queues, %d bytes held", q, room.held.Load())
	}
}
