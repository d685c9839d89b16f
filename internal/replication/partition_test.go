package replication

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil"
	"github.com/dropin/nsq/internal/testutil/netlab"
)

// labMember is the test's handle on one member process.
type labMember struct {
	id   uint64
	cmd  *exec.Cmd
	wmu  sync.Mutex // guards w
	w    *os.File
	logs *lockedBuffer
	quit chan struct{} // closed when the process's replies end
	seq  atomic.Uint64

	mu      sync.Mutex // guards waiting, leadTerm
	waiting map[string]chan string
	led     []uint64 // terms this member reported leading

	smu     sync.Mutex  // one status or dump request at a time
	answers chan string // status and dump lines
}

type lockedBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startLabMember(t *testing.T, lab *netlab.Lab, id uint64, peers string) *labMember {
	t.Helper()
	cmdR, cmdW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	repR, repW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	m := &labMember{id: id, w: cmdW, logs: &lockedBuffer{}, quit: make(chan struct{}),
		waiting: map[string]chan string{}, answers: make(chan string, 1024)}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	m.cmd = lab.Command(id, exe, "-test.run=^TestPartitionMember$", "-test.count=1")
	m.cmd.Env = append(os.Environ(), envMember+"="+strconv.FormatUint(id, 10), envDir+"="+t.TempDir(), envPeers+"="+peers)
	m.cmd.ExtraFiles = []*os.File{cmdR, repW}
	m.cmd.Stdout, m.cmd.Stderr = m.logs, m.logs
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmdR.Close()
	repW.Close()
	go m.readReplies(repR)
	t.Cleanup(func() {
		m.send("q")
		select {
		case <-m.quit:
		case <-time.After(20 * time.Second):
			m.cmd.Process.Kill()
		}
		cmdW.Close()
		m.cmd.Wait()
		if t.Failed() {
			t.Logf("member %d output:\n%s", id, m.logs.String())
		}
	})
	return m
}

func (m *labMember) readReplies(r *os.File) {
	defer close(m.quit)
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		f := strings.SplitN(line, " ", 3)
		switch f[0] {
		case "p":
			m.mu.Lock()
			c := m.waiting[f[1]]
			delete(m.waiting, f[1])
			m.mu.Unlock()
			if c != nil && len(f) == 3 {
				c <- f[2]
			}
		case "L":
			term, _ := strconv.ParseUint(f[1], 10, 64)
			m.mu.Lock()
			m.led = append(m.led, term)
			m.mu.Unlock()
		case "s", "d":
			m.answers <- line
		}
	}
}

func (m *labMember) send(line string) {
	m.wmu.Lock()
	defer m.wmu.Unlock()
	fmt.Fprintln(m.w, line)
}

// propose asks the member to propose data; true only for a committed one.
func (m *labMember) propose(data string) (bool, string) {
	seq := strconv.FormatUint(m.seq.Add(1), 10)
	c := make(chan string, 1)
	m.mu.Lock()
	m.waiting[seq] = c
	m.mu.Unlock()
	m.send("p " + seq + " " + data)
	select {
	case r := <-c:
		return strings.HasPrefix(r, "ok "), r
	case <-m.quit:
		return false, "member gone"
	case <-time.After(30 * time.Second):
		return false, "no reply in 30s"
	}
}

type labStatus struct {
	state                                string
	term, lead, commit, applied, lastIdx uint64
}

func (m *labMember) status() (labStatus, error) {
	m.smu.Lock()
	defer m.smu.Unlock()
	m.send("s")
	select {
	case line := <-m.answers:
		var s labStatus
		_, err := fmt.Sscanf(line, "s %s %d %d %d %d %d", &s.state, &s.term, &s.lead, &s.commit, &s.applied, &s.lastIdx)
		return s, err
	case <-m.quit:
		return labStatus{}, errors.New("member gone")
	case <-time.After(20 * time.Second):
		return labStatus{}, errors.New("no status in 20s")
	}
}

// dump returns the member's whole log as "index term kind data" lines.
func (m *labMember) dump() ([]string, error) {
	m.smu.Lock()
	defer m.smu.Unlock()
	m.send("d")
	var out []string
	for {
		select {
		case line := <-m.answers:
			if line == "d end" {
				return out, nil
			}
			if strings.HasPrefix(line, "d err") {
				return nil, errors.New(line)
			}
			out = append(out, strings.TrimPrefix(line, "d "))
		case <-time.After(30 * time.Second):
			return nil, errors.New("no dump in 30s")
		}
	}
}

// TestPartition (issue 15, proof 3) runs three members, each a process in
// its own network namespace, over TCPTransport on 10.251.0.0/24 addresses
// that exist only in those namespaces. Under proposal load it isolates the
// leader for 4s, then flaps links every 2s for 10s, then heals. Checker:
// every proposal reported committed is in every member's log, the logs are
// identical, and no two members led the same term. Root only.
func TestPartition(t *testing.T) {
	if why := netlab.Unavailable(); why != "" {
		testutil.Skip(t, why)
	}
	ids := []uint64{1, 2, 3}
	lab := netlab.New(t, ids...)
	var peers []string
	for _, id := range ids {
		peers = append(peers, fmt.Sprintf("%d=%s:%d", id, lab.Addr(id), labPort))
	}
	members := map[uint64]*labMember{}
	for _, id := range ids {
		members[id] = startLabMember(t, lab, id, strings.Join(peers, ","))
	}
	leader := func() *labMember { // the member leading the highest term
		var best *labMember
		var bestTerm uint64
		for _, id := range ids {
			if s, err := members[id].status(); err == nil && s.state == "StateLeader" && s.term > bestTerm {
				best, bestTerm = members[id], s.term
			}
		}
		return best
	}
	deadline := time.Now().Add(60 * time.Second)
	for leader() == nil {
		if time.Now().After(deadline) {
			t.Fatal("no leader within 60s")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Load: 4 proposers, each on the leader it last saw.
	var cur atomic.Pointer[labMember]
	cur.Store(leader())
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var amu sync.Mutex // guards acked, failed
	var acked []string
	failed := 0
	wg.Add(1)
	go func() { // leader watcher
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if l := leader(); l != nil {
				cur.Store(l)
			}
		}
	}()
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				data := fmt.Sprintf("w%d-%05d", w, i)
				ok, _ := cur.Load().propose(data)
				amu.Lock()
				if ok {
					acked = append(acked, data)
				} else {
					failed++
				}
				amu.Unlock()
				if !ok {
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	phase := func(d time.Duration) { // let the load run for d
		select {
		case <-time.After(d):
		case <-t.Context().Done():
		}
	}
	phase(time.Second)
	old := cur.Load()
	t.Logf("isolating leader %d for 4s", old.id)
	lab.Cut(old.id)
	phase(4 * time.Second)
	lab.Heal(old.id)
	rng := rand.New(rand.NewPCG(3, 15))
	for flap := 0; flap < 5; flap++ {
		victim := ids[rng.IntN(len(ids))]
		if rng.IntN(2) == 0 {
			victim = cur.Load().id
		}
		t.Logf("flap %d: cutting %d", flap, victim)
		lab.Cut(victim)
		phase(2 * time.Second)
		lab.Heal(victim)
	}
	close(stop)
	wg.Wait()
	amu.Lock()
	t.Logf("%d proposals committed, %d failed or unknown", len(acked), failed)
	amu.Unlock()

	checkLabConverged(t, members, ids)
	logs := map[uint64][]string{}
	for _, id := range ids {
		l, err := members[id].dump()
		if err != nil {
			t.Fatalf("member %d: %v", id, err)
		}
		logs[id] = l
	}
	for _, id := range ids[1:] {
		if strings.Join(logs[id], "\n") != strings.Join(logs[ids[0]], "\n") {
			t.Fatalf("member %d's log (%d entries) differs from member %d's (%d)", id, len(logs[id]), ids[0], len(logs[ids[0]]))
		}
	}
	seen := map[string]int{}
	for _, line := range logs[ids[0]] {
		f := strings.Fields(line)
		if len(f) == 4 && f[2] == strconv.Itoa(int(kindTest)) {
			b, _ := hex.DecodeString(f[3])
			seen[string(b)]++
		}
	}
	for _, a := range acked {
		if seen[a] != 1 {
			t.Fatalf("committed proposal %q is in the logs %d times", a, seen[a])
		}
	}
	leaders := map[uint64]uint64{}
	for _, id := range ids {
		m := members[id]
		m.mu.Lock()
		for _, term := range m.led {
			if other, ok := leaders[term]; ok && other != id {
				t.Errorf("members %d and %d both led term %d", other, id, term)
			}
			leaders[term] = id
		}
		m.mu.Unlock()
	}
	t.Logf("logs identical (%d entries), %d terms with a leader", len(logs[ids[0]]), len(leaders))
}

// checkLabConverged polls (at most 90s) until every member has the same
// commit index, applied and holds everything up to it.
func checkLabConverged(t *testing.T, members map[uint64]*labMember, ids []uint64) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		var ss []labStatus
		for _, id := range ids {
			s, err := members[id].status()
			if err != nil {
				t.Fatalf("member %d: %v", id, err)
			}
			ss = append(ss, s)
		}
		ok := true
		for _, s := range ss {
			if s.commit != ss[0].commit || s.applied != s.commit || s.lastIdx != s.commit {
				ok = false
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("members did not converge within 90s: %+v", ss)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
