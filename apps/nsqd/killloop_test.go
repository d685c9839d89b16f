package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/testutil"
)

// The kill -9 loop: --storage=log --sync-ack under publish and consume
// load, SIGKILL, restart, again. Publishers record every OK, the consumer
// every delivery; at the end every acknowledged message must have been
// delivered (duplicates are counted, not failures). NSQ_KILL_CYCLES sets
// the number of cycles (default 5; scripts/killloop.sh runs more).

type logDaemon struct {
	proc      *testutil.Proc
	tcp, http string
}

func startLog(t *testing.T, dir string) *logDaemon {
	t.Helper()
	addrs := testutil.FreeAddrs(t, 2)
	d := &logDaemon{tcp: addrs[0], http: addrs[1]}
	d.proc = testutil.StartProc(t, binPath, nil, "--tcp-address="+d.tcp, "--http-address="+d.http, "--https-address=",
		"--broadcast-address=127.0.0.1", "--data-path="+dir, "--sync-ack", "--msg-timeout=2s")
	d.proc.WaitHTTP(t, "http://"+d.http+"/ping", 20*time.Second)
	return d
}

// v2conn is a minimal V2 client.
type v2conn struct {
	c net.Conn
	r *bufio.Reader
}

func dialV2(addr string) (*v2conn, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	if _, err := c.Write([]byte("  V2")); err != nil {
		c.Close()
		return nil, err
	}
	return &v2conn{c: c, r: bufio.NewReader(c)}, nil
}

func (v *v2conn) frame() (int32, []byte, error) {
	v.c.SetReadDeadline(time.Now().Add(30 * time.Second))
	var hdr [8]byte
	if _, err := io.ReadFull(v.r, hdr[:]); err != nil {
		return 0, nil, err
	}
	size := binary.BigEndian.Uint32(hdr[:4])
	if size < 4 || size > 1<<20 {
		return 0, nil, fmt.Errorf("bad frame size %d", size)
	}
	data := make([]byte, size-4)
	_, err := io.ReadFull(v.r, data)
	return int32(binary.BigEndian.Uint32(hdr[4:])), data, err
}

func (v *v2conn) pub(topic string, body []byte) error {
	buf := []byte("PUB " + topic + "\n")
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(body)))
	if _, err := v.c.Write(append(buf, body...)); err != nil {
		return err
	}
	typ, data, err := v.frame()
	if err != nil {
		return err
	}
	if typ != 0 || string(data) != "OK" {
		return fmt.Errorf("PUB answered %d %q", typ, data)
	}
	return nil
}

// killTally is what the publishers were told and what the consumer saw.
type killTally struct {
	mu        sync.Mutex
	acked     map[string]bool
	delivered map[string]int
}

func (k *killTally) ack(b string) { k.mu.Lock(); k.acked[b] = true; k.mu.Unlock() }
func (k *killTally) got(b string) { k.mu.Lock(); k.delivered[b]++; k.mu.Unlock() }

func (k *killTally) missing() (missing, dups int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for b := range k.acked {
		if k.delivered[b] == 0 {
			missing++
		}
	}
	for _, n := range k.delivered {
		if n > 1 {
			dups += n - 1
		}
	}
	return missing, dups
}

// consume subscribes and FINs every message until the connection ends.
func consume(addr string, k *killTally, done chan<- struct{}) {
	defer close(done)
	v, err := dialV2(addr)
	if err != nil {
		return
	}
	defer v.c.Close()
	if _, err := v.c.Write([]byte("SUB kill c\nRDY 200\n")); err != nil {
		return
	}
	for {
		typ, data, err := v.frame()
		if err != nil {
			return
		}
		switch {
		case typ == 0 && string(data) == "_heartbeat_":
			v.c.Write([]byte("NOP\n"))
		case typ == 2 && len(data) >= 26:
			k.got(string(data[26:]))
			if _, err := v.c.Write([]byte("FIN " + string(data[10:26]) + "\n")); err != nil {
				return
			}
		}
	}
}

// publishUntilDead publishes unique bodies until the connection breaks.
func publishUntilDead(addr, prefix string, k *killTally, acks chan<- struct{}, done chan<- struct{}) {
	defer close(done)
	v, err := dialV2(addr)
	if err != nil {
		return
	}
	defer v.c.Close()
	for i := 0; ; i++ {
		body := prefix + strconv.Itoa(i)
		if err := v.pub("kill", []byte(body)); err != nil {
			return
		}
		k.ack(body)
		select {
		case acks <- struct{}{}:
		default:
		}
	}
}

func TestKillLoopSyncAck(t *testing.T) {
	cycles := 5
	if s := os.Getenv("NSQ_KILL_CYCLES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("NSQ_KILL_CYCLES=%q", s)
		}
		cycles = n
	}
	dir := t.TempDir()
	k := &killTally{acked: map[string]bool{}, delivered: map[string]int{}}
	const publishers, acksPerCycle = 3, 300
	for cycle := 0; cycle < cycles; cycle++ {
		d := startLog(t, dir)
		acks := make(chan struct{}, 1024)
		var dones []chan struct{}
		cdone := make(chan struct{})
		go consume(d.tcp, k, cdone)
		for p := 0; p < publishers; p++ {
			done := make(chan struct{})
			dones = append(dones, done)
			go publishUntilDead(d.tcp, fmt.Sprintf("c%d-p%d-", cycle, p), k, acks, done)
		}
		// kill under load, once enough was acknowledged this cycle
		deadline := time.After(60 * time.Second)
		for n := 0; n < acksPerCycle; n++ {
			select {
			case <-acks:
			case <-deadline:
				t.Fatalf("cycle %d: only %d acks in 60s\n%s", cycle, n, d.proc.Stderr.String())
			}
		}
		d.proc.Signal(t, syscall.SIGKILL)
		if err := testutil.Poll(20*time.Second, d.proc.Exited); err != nil {
			t.Fatal("nsqd still running after SIGKILL")
		}
		for _, done := range append(dones, cdone) {
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("a client did not notice the kill")
			}
		}
	}
	// drain: the last start delivers everything not yet finished
	d := startLog(t, dir)
	cdone := make(chan struct{})
	go consume(d.tcp, k, cdone)
	err := testutil.Poll(60*time.Second, func() bool { m, _ := k.missing(); return m == 0 })
	missing, dups := k.missing()
	k.mu.Lock()
	acked, seen := len(k.acked), len(k.delivered)
	k.mu.Unlock()
	t.Logf("kill -9 loop: cycles=%d acked=%d delivered_distinct=%d lost=%d duplicates=%d", cycles, acked, seen, missing, dups)
	if err != nil || missing > 0 {
		t.Fatalf("%d acknowledged messages never delivered after %d kill -9 cycles", missing, cycles)
	}
	d.proc.Signal(t, syscall.SIGTERM)
	if code := d.proc.Wait(t, 20*time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM:\n%s", code, d.proc.Stderr.String())
	}
}
