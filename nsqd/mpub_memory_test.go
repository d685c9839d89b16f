package nsqd

import (
	"encoding/binary"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"
)

// heapAfterGC returns the live heap.
func heapAfterGC() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestMPUBHeaderDoesNotPinDeclaredSize: MPUB headers declaring 5 MB and a
// million messages, with no body behind them, cost little memory on TCP
// and on HTTP /mpub?binary=true.
func TestMPUBHeaderDoesNotPinDeclaredSize(t *testing.T) {
	opts := testOptions(t)
	n := startNSQD(t, opts)
	const conns = 6
	base := heapAfterGC()
	hdr := binary.BigEndian.AppendUint32(nil, uint32(opts.MaxBodySize))
	count := uint32((opts.MaxBodySize - 4) / 5)
	hdr = binary.BigEndian.AppendUint32(hdr, count)
	hdr = binary.BigEndian.AppendUint32(hdr, 100) // first message: 100 bytes
	hdr = append(hdr, "ab"...)                    // of which 2 arrive
	for i := 0; i < conns/2; i++ {
		c := dial(t, n)
		c.cmd("MPUB pinned")
		c.send(hdr)
		hc, err := net.Dial("tcp", n.RealHTTPAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { hc.Close() })
		req := fmt.Sprintf("POST /mpub?topic=pinned&binary=true HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", opts.MaxBodySize)
		hc.Write(append([]byte(req), hdr[4:]...))
	}
	// The daemon reads the headers within microseconds; watch the heap for
	// a while. Before the fix each connection pinned ~30 MB.
	limit := base + 48<<20
	deadline := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(deadline) {
		if h := heapAfterGC(); h > limit {
			t.Fatalf("heap %d MB after %d idle MPUB headers (base %d MB)", h>>20, conns, base>>20)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
