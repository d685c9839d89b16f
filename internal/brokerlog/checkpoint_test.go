package brokerlog

import (
	"reflect"
	"strings"
	"testing"

	"github.com/dropin/nsq/internal/vfs"
)

func TestCheckpointRoundTrip(t *testing.T) {
	mem := vfs.NewMemFS()
	e := openEngine(t, mem, Options{})
	wait(t, e, e.CreateChannel("t", "c", Start{}))
	wait(t, e, e.CreateChannel("t", "p", Start{}))
	wait(t, e, e.PauseChannel("t", "p"))
	wait(t, e, e.Publish("t", msgs(1, 30, 5)))
	wait(t, e, e.Publish("u", msgs(31, 3, 7)))
	wait(t, e, e.PauseTopic("u"))
	for _, s := range []uint64{1, 2, 5, 9, 10} {
		e.Finish("t", "c", s)
	}
	e.Requeue("t", "c", 3, 99, 2)
	e.Delivered("t", "c", 4, 1)
	flush(t, e)
	index, err := e.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	if i, term := e.LastCheckpoint(); i != index || term != 1 {
		t.Fatalf("LastCheckpoint = %d, %d", i, term)
	}
	st, term, err := loadCheckpoint(mem, "/data/checkpoint")
	if err != nil || term != 1 {
		t.Fatalf("load: %v (term %d)", err, term)
	}
	e.state.mu.Lock()
	for _, tp := range e.state.topics {
		tp.version = 0 // live wake-up counter, not state
	}
	e.state.mu.Unlock()
	e.state.mu.RLock()
	want := e.state
	same := st.applied == want.applied && reflect.DeepEqual(st.topics, want.topics) && reflect.DeepEqual(st.timeMarks, want.timeMarks)
	e.state.mu.RUnlock()
	if !same {
		t.Fatalf("decoded state differs:\n%+v\n%+v", st.topics["t"], want.topics["t"])
	}
	e.Close()

	// A damaged checkpoint stops recovery with a clear error.
	f, _ := mem.OpenReadWrite("/data/checkpoint")
	size, _ := f.Size()
	buf := make([]byte, size)
	f.ReadAt(buf, 0)
	buf[size-1] ^= 1
	f.Truncate(0)
	f.Write(buf)
	f.Close()
	if _, err := Open(Options{FS: mem, Dir: "/data"}); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("open with a damaged checkpoint: %v", err)
	}
}
