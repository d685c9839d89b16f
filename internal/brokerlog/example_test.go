package brokerlog_test

import (
	"context"
	"fmt"
	"time"

	"github.com/dropin/nsq/internal/brokerlog"
	"github.com/dropin/nsq/internal/vfs"
)

// The life of a message: publish (acknowledged once durable), read by a
// channel, finished; a crash in between loses nothing acknowledged.
func Example() {
	mem := vfs.NewMemFS() // vfs.OS() in production
	e, err := brokerlog.Open(brokerlog.Options{FS: mem, Dir: "/data"})
	if err != nil {
		panic(err)
	}
	if err := e.CreateChannel("orders", "billing", brokerlog.Start{}).Wait(); err != nil {
		panic(err)
	}
	now := time.Unix(1700000000, 0).UnixNano() // the proposer's clock, never apply's
	p := e.Publish("orders", []brokerlog.Message{
		{ID: [16]byte{1}, Timestamp: now, Body: []byte("first")},
		{ID: [16]byte{2}, Timestamp: now, Body: []byte("second")},
	})
	if err := p.Wait(); err != nil { // here a broker answers OK
		panic(err)
	}
	_, last := p.Indexes()
	e.Committer().WaitApplied(context.Background(), last) // readers see applied entries only

	r, _ := e.NewReader("orders", "billing", brokerlog.ReaderOptions{})
	ds, _ := r.Next(10)
	e.Finish("orders", "billing", ds[0].Seq) // rides the next commit, unawaited
	for i := 0; i < 1000; i++ {              // poll until the FIN is applied
		if ci, _ := e.State().Channel("orders", "billing"); ci.Floor > ds[0].Seq {
			break
		}
		time.Sleep(time.Millisecond)
	}

	mem.Crash() // power cut: nothing un-synced survives
	e, err = brokerlog.Open(brokerlog.Options{FS: mem, Dir: "/data"})
	if err != nil {
		panic(err)
	}
	defer e.Close()
	r, _ = e.NewReader("orders", "billing", brokerlog.ReaderOptions{})
	ds, _ = r.Next(10)
	for _, d := range ds {
		fmt.Printf("seq %d: %s\n", d.Seq, d.Body)
	}
	// Output:
	// seq 2: second
}
