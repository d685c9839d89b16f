package nsqd

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
)

// TestConcurrentTopicDelete: four concurrent deletes of one topic, twenty
// rounds: each answers 200 or 404, never a 500 from a double close.
func TestConcurrentTopicDelete(t *testing.T) {
	n := startNSQD(t, testOptions(t))
	for round := 0; round < 20; round++ {
		httpDo(t, n, "POST", "/topic/create?topic=doomed", "")
		httpDo(t, n, "POST", "/channel/create?topic=doomed&channel=c", "")
		httpDo(t, n, "POST", "/pub?topic=doomed", "m")
		var wg sync.WaitGroup
		codes := make([]int, 4)
		for i := range codes {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				codes[i], _, _ = httpDo(t, n, "POST", "/topic/delete?topic=doomed", "")
			}(i)
		}
		wg.Wait()
		for _, code := range codes {
			if code != 200 && code != 404 {
				t.Fatalf("round %d: delete answered %v", round, codes)
			}
		}
	}
}

// TestTopicDeleteDuringExit: deleting topics while the daemon exits must
// not close a disk queue twice (an unrecovered panic on the exit path).
func TestTopicDeleteDuringExit(t *testing.T) {
	for round := 0; round < 10; round++ {
		opts := testOptions(t)
		n, err := New(opts)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- n.Main() }()
		const topics = 16
		for i := 0; i < topics; i++ {
			tp, err := n.GetTopic(fmt.Sprintf("t%d", i))
			if err != nil {
				t.Fatal(err)
			}
			tp.GetChannel("c")
			tp.Publish([][]byte{[]byte("m")}, 0)
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); n.Exit() }()
		for i := 0; i < topics; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				for !n.isExiting() {
					runtime.Gosched()
				}
				n.DeleteExistingTopic(fmt.Sprintf("t%d", i))
			}(i)
		}
		wg.Wait()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
