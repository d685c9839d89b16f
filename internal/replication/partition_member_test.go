package replication

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/dropin/nsq/internal/logstore"
	"github.com/dropin/nsq/internal/vfs"
)

// The partition test's members run as subprocesses of the test binary
// inside their network namespaces (TestPartitionMember in helper mode).
// They speak a line protocol with the test over two pipes (fd 3: commands,
// fd 4: replies), so the test reaches them whatever the network does:
//
//	p <seq> <data>  propose data        → p <seq> ok <index> | p <seq> err <text>
//	s               status              → s <state> <term> <lead> <commit> <applied> <last>
//	d               dump the log        → d <index> <term> <kind> <hex data>..., d end
//	q               stop                → q
//
// and, unasked, "L <term>" whenever the member sees itself lead a new term.
const (
	envMember = "NSQ_REPL_PARTITION_MEMBER" // member id; set only for the helper
	envDir    = "NSQ_REPL_PARTITION_DIR"
	envPeers  = "NSQ_REPL_PARTITION_PEERS" // id=host:port,...
	labGroup  = 1
	labPort   = 7000
)

// TestPartitionMember is not a test on its own: it is the member process
// of TestPartition.
func TestPartitionMember(t *testing.T) {
	if os.Getenv(envMember) == "" {
		return // only a helper process of TestPartition
	}
	if err := runLabMember(); err != nil {
		t.Fatal(err)
	}
}

func runLabMember() error {
	id, err := strconv.ParseUint(os.Getenv(envMember), 10, 64)
	if err != nil {
		return err
	}
	peers := map[uint64]string{}
	var ids []uint64
	for _, kv := range strings.Split(os.Getenv(envPeers), ",") {
		k, v, _ := strings.Cut(kv, "=")
		pid, err := strconv.ParseUint(k, 10, 64)
		if err != nil {
			return fmt.Errorf("bad peer %q", kv)
		}
		peers[pid] = v
		ids = append(ids, pid)
	}
	st, err := OpenStorage(StorageOptions{FS: vfs.OS(), Dir: os.Getenv(envDir), Peers: ids})
	if err != nil {
		return err
	}
	var mu sync.Mutex // guards node
	var node *Node
	listen := peers[id]
	delete(peers, id)
	tr, err := NewTCPTransport(TCPOptions{Listen: listen, Peers: peers, RedialDelay: 50 * time.Millisecond,
		Handler: func(group uint64, m *pb.Message) {
			mu.Lock()
			n := node
			mu.Unlock()
			if n != nil && group == labGroup {
				n.Receive(m)
			}
		}})
	if err != nil {
		return err
	}
	n, err := NewNode(Options{ID: id, Group: labGroup, Storage: st, Transport: tr,
		Apply:        func(logstore.Entry) error { return nil },
		TickInterval: 10 * time.Millisecond, ElectionTicks: 20, HeartbeatTicks: 2, ProposeTimeout: 3 * time.Second})
	if err != nil {
		return err
	}
	mu.Lock()
	node = n
	mu.Unlock()

	out := bufio.NewWriter(os.NewFile(4, "replies"))
	var wmu sync.Mutex // guards out
	reply := func(format string, a ...any) {
		wmu.Lock()
		fmt.Fprintf(out, format+"\n", a...)
		out.Flush()
		wmu.Unlock()
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // report each term this member leads
		defer wg.Done()
		var last uint64
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if s := n.Status(); s.State == "StateLeader" && s.Term != last {
				last = s.Term
				reply("L %d", s.Term)
			}
		}
	}()
	in := bufio.NewScanner(os.NewFile(3, "commands"))
commands:
	for in.Scan() {
		f := strings.SplitN(in.Text(), " ", 3)
		switch f[0] {
		case "p":
			if len(f) != 3 {
				continue
			}
			wg.Add(1)
			go func(seq, data string) {
				defer wg.Done()
				p := n.Propose(kindTest, []byte(data))
				if err := p.Wait(); err != nil {
					reply("p %s err %s", seq, strings.ReplaceAll(err.Error(), "\n", " "))
				} else {
					reply("p %s ok %d", seq, p.Index())
				}
			}(f[1], f[2])
		case "s":
			s := n.Status()
			reply("s %s %d %d %d %d %d", s.State, s.Term, s.Lead, s.Commit, s.Applied, s.LastIndex)
		case "d":
			l := st.Log()
			ents, err := l.Entries(l.FirstIndex(), l.LastIndex()+1, 1<<40)
			if err != nil {
				reply("d err %v", err)
			}
			for _, e := range ents {
				reply("d %d %d %d %s", e.Index, e.Term, e.Kind, hex.EncodeToString(e.Data))
			}
			reply("d end")
		case "q":
			break commands
		}
	}
	close(stop)
	n.Stop()
	wg.Wait()
	tr.Close()
	err = st.Close()
	reply("q")
	return err
}
