package replication

import (
	"encoding/binary"
	"net"
	"testing"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"
)

// TestGroupOverTCP: a 3-node group over real TCP on 127.0.0.1 replicates,
// survives a follower's restart (its transport closed and reopened on the
// same address: peers redial) and converges.
func TestGroupOverTCP(t *testing.T) {
	g := newGroup(t, true, 1, 2, 3)
	acked := g.proposeAll("a", 200)
	lead := g.waitLeader()
	var f uint64
	for _, id := range g.peers() {
		if id != lead.id {
			f = id
		}
	}
	g.stop(f)
	acked = append(acked, g.proposeAll("b", 100)...)
	g.start(f)
	acked = append(acked, g.proposeAll("c", 100)...)
	checkAcked(t, g.waitConverged(), acked)
}

// TestTCPTransportBounded: sending to an unreachable peer never blocks
// (the queue drops on overflow), and a bad frame closes the connection
// without reaching the handler.
func TestTCPTransportBounded(t *testing.T) {
	got := make(chan *pb.Message, 10)
	tr, err := NewTCPTransport(TCPOptions{Listen: "127.0.0.1:0", QueueLen: 4,
		Handler: func(group uint64, m *pb.Message) { got <- m }})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	// A port nobody listens on: reserve one and close it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	tr.AddPeer(9, dead)
	done := make(chan struct{})
	go func() {
		for i := 0; i < 10000; i++ {
			tr.Send(1, &pb.Message{To: new(uint64(9)), Type: pb.MsgHeartbeat.Enum()})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Send blocked on an unreachable peer")
	}

	c, err := net.Dial("tcp", tr.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var hdr [4]byte
	binary.LittleEndian.PutUint32(hdr[:], 3) // shorter than the group id
	c.Write(hdr[:])
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("connection with a bad frame stayed open and sent data")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("connection with a bad frame was not closed")
	}
	select {
	case m := <-got:
		t.Fatalf("handler got %v from a bad frame", m)
	default:
	}
}

// TestTCPTransportRoutesMemberToNode: a member id without an address of
// its own (a node's next incarnation, MemberID(3, 1)) goes to its node's
// address, and a snapshot send reports its outcome.
func TestTCPTransportRoutesMemberToNode(t *testing.T) {
	got := make(chan *pb.Message, 10)
	b, err := NewTCPTransport(TCPOptions{Listen: "127.0.0.1:0", Handler: func(group uint64, m *pb.Message) { got <- m }})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	a, err := NewTCPTransport(TCPOptions{Listen: "127.0.0.1:0", Peers: map[uint64]string{3: b.Addr()},
		Handler: func(uint64, *pb.Message) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	to := MemberID(3, 1)
	if NodeOf(to) != 3 || to == 3 {
		t.Fatalf("MemberID(3,1) = %d, NodeOf = %d", to, NodeOf(to))
	}
	done := make(chan error, 1)
	a.SendSnapshot(1, &pb.Message{To: new(to), Type: pb.MsgSnap.Enum(), Snapshot: &pb.Snapshot{Data: []byte("state")}},
		func(err error) { done <- err })
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("snapshot send: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no snapshot outcome in 20s")
	}
	select {
	case m := <-got:
		if m.GetTo() != to || string(m.GetSnapshot().GetData()) != "state" {
			t.Fatalf("got %v", m)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("message for the new incarnation did not reach its node's address")
	}
	// An id of an unknown node fails at once.
	a.SendSnapshot(1, &pb.Message{To: new(MemberID(9, 1)), Type: pb.MsgSnap.Enum()}, func(err error) { done <- err })
	if err := <-done; err == nil {
		t.Fatal("snapshot to an unknown node reported success")
	}
}
