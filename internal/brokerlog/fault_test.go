package brokerlog

import (
	"errors"
	"sync"
	"syscall"
	"testing"

	"github.com/dropin/nsq/internal/logstore"
	"github.com/dropin/nsq/internal/vfs"
)

type healthLog struct {
	mu   sync.Mutex
	errs []error
}

func (h *healthLog) record(err error) { h.mu.Lock(); h.errs = append(h.errs, err); h.mu.Unlock() }

func (h *healthLog) last() (error, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.errs) == 0 {
		return nil, 0
	}
	return h.errs[len(h.errs)-1], len(h.errs)
}

func TestPublishFailsOnSyncErrorAndEngineTurnsUnhealthy(t *testing.T) {
	mem := vfs.NewMemFS()
	ff := vfs.NewFaultFS(mem)
	h := &healthLog{}
	e := openEngine(t, ff, Options{OnHealth: h.record})
	wait(t, e, e.CreateChannel("t", "c", Start{}))
	wait(t, e, e.Publish("t", msgs(1, 3, 0)))
	ff.FailSync(1)
	if err := e.Publish("t", msgs(4, 2, 0)).Wait(); !errors.Is(err, vfs.ErrInjected) {
		t.Fatalf("publish in the failed round: %v", err)
	}
	if err := e.Publish("t", msgs(6, 1, 0)).Wait(); !errors.Is(err, logstore.ErrSealed) {
		t.Fatalf("publish after a failed sync: %v", err)
	}
	if e.Healthy() == nil {
		t.Fatal("engine healthy after a failed sync")
	}
	if err, n := h.last(); err == nil || n != 1 {
		t.Fatalf("health callback: %v (%d calls)", err, n)
	}
	e.Close()
	mem.Crash()
	e = openEngine(t, mem, Options{})
	defer e.Close()
	if got := seqs(drain(t, e, "t", "c")); len(got) != 3 {
		t.Fatalf("acknowledged messages after the failure and a crash: %v", got)
	}
	if e.Healthy() != nil {
		t.Fatalf("reopened engine unhealthy: %v", e.Healthy())
	}
}

func TestFullDiskFailsClearlyAndResumes(t *testing.T) {
	ff := vfs.NewFaultFS(vfs.NewMemFS())
	h := &healthLog{}
	e := openEngine(t, ff, Options{OnHealth: h.record})
	defer e.Close()
	wait(t, e, e.CreateChannel("t", "c", Start{}))
	wait(t, e, e.Publish("t", msgs(1, 2, 0)))
	ff.LimitSpace(30)
	for i := 0; i < 3; i++ {
		err := e.Publish("t", msgs(100, 5, 0)).Wait()
		if !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("publish on a full disk: %v", err)
		}
	}
	if err := e.Healthy(); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("health on a full disk: %v", err)
	}
	ff.LimitSpace(-1)
	wait(t, e, e.Publish("t", msgs(3, 2, 0)))
	if e.Healthy() != nil {
		t.Fatalf("still unhealthy after space returned: %v", e.Healthy())
	}
	if err, _ := h.last(); err != nil {
		t.Fatalf("health callback did not report recovery: %v", err)
	}
	got := drain(t, e, "t", "c")
	if len(got) != 4 || string(got[2].Body) != "body-3" {
		t.Fatalf("after the full disk: %v", seqs(got))
	}
}
