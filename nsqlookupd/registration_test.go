package nsqlookupd

import (
	"slices"
	"strings"
	"testing"
)

// debugKeys returns the keys of /debug (those with producers), sorted and
// space-separated.
func debugKeys(tb testing.TB, n *NSQLookupd) string {
	tb.Helper()
	var dbg map[string][]debugEntry
	getJSON(tb, n, "/debug", &dbg)
	keys := make([]string, 0, len(dbg))
	for k := range dbg {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return strings.Join(keys, " ")
}

func expectEq(tb testing.TB, what, got, want string) {
	tb.Helper()
	if got != want {
		tb.Fatalf("%s = %q, want %q", what, got, want)
	}
}

func TestRegisterUnregister(t *testing.T) {
	t.Run("register topic and channel", func(t *testing.T) {
		n := mustStart(t)
		p := identified(t, n, "b", 1, 2)
		p.mustOK("REGISTER t c")
		expectEq(t, "topics", topicsOf(t, n), "t")
		expectEq(t, "channels", channelsOf(t, n, "t"), "c")
		expectEq(t, "producers", producerAddrs(t, n, "t"), "b:1")
		expectEq(t, "debug keys", debugKeys(t, n), "channel:t:c client:: topic:t:")
	})
	t.Run("register topic only", func(t *testing.T) {
		n := mustStart(t)
		p := identified(t, n, "b", 1, 2)
		p.mustOK("REGISTER t")
		expectEq(t, "channels", channelsOf(t, n, "t"), "")
		expectEq(t, "debug keys", debugKeys(t, n), "client:: topic:t:")
	})
	t.Run("register twice keeps one entry", func(t *testing.T) {
		n := mustStart(t)
		p := identified(t, n, "b", 1, 2)
		p.mustOK("REGISTER t c")
		p.mustOK("REGISTER t c")
		p.mustOK("REGISTER t")
		var dbg map[string][]debugEntry
		getJSON(t, n, "/debug", &dbg)
		if len(dbg["topic:t:"]) != 1 || len(dbg["channel:t:c"]) != 1 {
			t.Fatalf("debug after repeated REGISTER: %+v", dbg)
		}
	})
	t.Run("extra params ignored", func(t *testing.T) {
		n := mustStart(t)
		p := identified(t, n, "b", 1, 2)
		p.mustOK("REGISTER t c junk more")
		expectEq(t, "channels", channelsOf(t, n, "t"), "c")
	})
	t.Run("unregister channel keeps non-ephemeral key", func(t *testing.T) {
		n := mustStart(t)
		p := identified(t, n, "b", 1, 2)
		p.mustOK("REGISTER t c")
		p.mustOK("UNREGISTER t c")
		expectEq(t, "channels", channelsOf(t, n, "t"), "c")
		expectEq(t, "producers", producerAddrs(t, n, "t"), "b:1")
		res, _ := lookup(t, n, "t")
		expectEq(t, "lookup channels", strings.Join(res.Channels, ","), "c")
		expectEq(t, "debug keys", debugKeys(t, n), "client:: topic:t:")
	})
	t.Run("ephemeral channel deleted with its last producer", func(t *testing.T) {
		n := mustStart(t)
		p1 := identified(t, n, "b1", 1, 2)
		p2 := identified(t, n, "b2", 1, 2)
		p1.mustOK("REGISTER t e#ephemeral")
		p2.mustOK("REGISTER t e#ephemeral")
		p1.mustOK("UNREGISTER t e#ephemeral")
		expectEq(t, "channels after first leaves", channelsOf(t, n, "t"), "e#ephemeral")
		p2.mustOK("UNREGISTER t e#ephemeral")
		expectEq(t, "channels after last leaves", channelsOf(t, n, "t"), "")
		expectEq(t, "topics", topicsOf(t, n), "t")
	})
	t.Run("unregister topic leaves every channel", func(t *testing.T) {
		n := mustStart(t)
		p := identified(t, n, "b", 1, 2)
		other := identified(t, n, "o", 1, 2)
		p.mustOK("REGISTER t c1")
		p.mustOK("REGISTER t c2")
		p.mustOK("REGISTER u c1")
		other.mustOK("REGISTER t c1")
		p.mustOK("UNREGISTER t")
		expectEq(t, "producers of t", producerAddrs(t, n, "t"), "o:1")
		expectEq(t, "producers of u", producerAddrs(t, n, "u"), "b:1")
		expectEq(t, "channels", channelsOf(t, n, "t"), "c1,c2")
		expectEq(t, "debug keys", debugKeys(t, n), "channel:t:c1 channel:u:c1 client:: topic:t: topic:u:")
	})
	t.Run("ephemeral topic key deleted with its last producer", func(t *testing.T) {
		n := mustStart(t)
		p1 := identified(t, n, "b1", 1, 2)
		p2 := identified(t, n, "b2", 1, 2)
		p1.mustOK("REGISTER x#ephemeral c")
		p2.mustOK("REGISTER x#ephemeral")
		p1.mustOK("UNREGISTER x#ephemeral")
		expectEq(t, "producers", producerAddrs(t, n, "x%23ephemeral"), "b2:1")
		p2.mustOK("UNREGISTER x#ephemeral")
		if _, ok := lookup(t, n, "x%23ephemeral"); ok {
			t.Fatal("ephemeral topic still found after its last producer left")
		}
		expectEq(t, "topics", topicsOf(t, n), "")
		// NSQ leaves the channel keys of an ephemeral topic behind
		expectEq(t, "channels", channelsOf(t, n, "x%23ephemeral"), "c")
	})
	t.Run("unregister unknown names", func(t *testing.T) {
		n := mustStart(t)
		p := identified(t, n, "b", 1, 2)
		p.mustOK("UNREGISTER nope")
		p.mustOK("UNREGISTER nope c")
		p.mustOK("UNREGISTER nope#ephemeral c#ephemeral")
		expectEq(t, "topics", topicsOf(t, n), "")
		expectEq(t, "debug keys", debugKeys(t, n), "client::")
	})
	t.Run("disconnect removes producer everywhere but keeps keys", func(t *testing.T) {
		n := mustStart(t)
		p1 := identified(t, n, "b1", 1, 2)
		p2 := identified(t, n, "b2", 1, 2)
		for _, p := range []*peer{p1, p2} {
			p.mustOK("REGISTER t c")
			p.mustOK("REGISTER t e#ephemeral")
			p.mustOK("REGISTER x#ephemeral")
		}
		expectEq(t, "producers", producerAddrs(t, n, "t"), "b1:1,b2:1")
		p1.conn.Close()
		eventually(t, func() bool { return producerAddrs(t, n, "t") == "b2:1" }, "b1 still a producer of t after disconnect")
		expectEq(t, "producers of x#ephemeral", producerAddrs(t, n, "x%23ephemeral"), "b2:1")
		if nodes := nodesOf(t, n); len(nodes) != 1 || nodes[0].BroadcastAddress != "b2" {
			t.Fatalf("nodes after disconnect: %+v", nodes)
		}
		p2.conn.Close()
		eventually(t, func() bool { return debugKeys(t, n) == "" }, "registrations left after both disconnected: %s", debugKeys(t, n))
		expectEq(t, "topics", topicsOf(t, n), "t,x#ephemeral")
		expectEq(t, "channels", channelsOf(t, n, "t"), "c,e#ephemeral")
		expectEq(t, "producers", producerAddrs(t, n, "t"), "")
		if nodes := nodesOf(t, n); len(nodes) != 0 {
			t.Fatalf("nodes after all disconnected: %+v", nodes)
		}
	})
	t.Run("peer id is the remote address", func(t *testing.T) {
		n := mustStart(t)
		p := identified(t, n, "b", 1, 2)
		p.mustOK("REGISTER t")
		var dbg map[string][]debugEntry
		getJSON(t, n, "/debug", &dbg)
		if e := dbg["topic:t:"]; len(e) != 1 || e[0].ID != p.localAddr() {
			t.Fatalf("topic:t: entries %+v, want id %s", e, p.localAddr())
		}
		res, _ := lookup(t, n, "t")
		expectEq(t, "remote_address", res.Producers[0].RemoteAddress, p.localAddr())
	})
}
