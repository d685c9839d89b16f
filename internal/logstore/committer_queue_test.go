package logstore

import (
	"errors"
	"testing"
	"time"

	"github.com/dropin/nsq/internal/vfs"
)

// A proposer that does not wait for its proposals is held back once
// MaxQueuedBytes of proposals are not yet applied, and let through as
// rounds drain; closing the committer releases a held proposer with
// ErrSealed.
func TestCommitterQueueBound(t *testing.T) {
	l := openTestLog(t, vfs.NewMemFS(), 4096)
	defer l.Close()
	applying := make(chan struct{}, 16)
	gate := make(chan struct{})
	c, err := StartCommitter(CommitterOptions{
		Log:            l,
		MaxQueuedBytes: 250,
		Apply: func([]Entry) {
			applying <- struct{}{}
			<-gate
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := make([]byte, 100)
	p1 := c.Propose(1, rec)
	if err := p1.Wait(); err != nil {
		t.Fatal(err)
	}
	<-applying // round 1 is committed and stuck in Apply: its 100 bytes stay queued
	p2 := c.Propose(1, rec)
	if err := p2.Wait(); err != nil {
		t.Fatal(err)
	}
	third := make(chan *Proposal)
	go func() { third <- c.Propose(1, rec) }() // 300 > 250: must wait
	select {
	case <-third:
		t.Fatal("a proposal over MaxQueuedBytes was queued while nothing was applied")
	case <-time.After(50 * time.Millisecond):
	}
	close(gate) // rounds apply, room returns
	var p3 *Proposal
	select {
	case p3 = <-third:
	case <-time.After(10 * time.Second):
		t.Fatal("held proposal was not let through after rounds applied")
	}
	if err := p3.Wait(); err != nil {
		t.Fatal(err)
	}
	if _, last := p3.Indexes(); last != 3 {
		t.Fatalf("third proposal got index %d", last)
	}

	// A proposal larger than the bound goes alone once the queue is empty.
	if err := c.Propose(1, make([]byte, 1000)).Wait(); err != nil {
		t.Fatalf("oversized-for-the-queue proposal: %v", err)
	}
	c.Close()
	if err := c.Propose(1, rec).Wait(); !errors.Is(err, ErrSealed) {
		t.Fatalf("proposal after close: %v", err)
	}
}

// Close wakes a proposer held by the queue bound.
func TestCommitterCloseReleasesHeldProposer(t *testing.T) {
	l := openTestLog(t, vfs.NewMemFS(), 4096)
	defer l.Close()
	gate := make(chan struct{})
	entered := make(chan struct{}, 4)
	c, err := StartCommitter(CommitterOptions{
		Log:            l,
		MaxQueuedBytes: 150,
		Apply: func([]Entry) {
			entered <- struct{}{}
			<-gate
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Propose(1, make([]byte, 100)).Wait(); err != nil {
		t.Fatal(err)
	}
	<-entered
	held := make(chan error)
	go func() { held <- c.Propose(1, make([]byte, 100)).Wait() }()
	closed := make(chan struct{})
	go func() { c.Close(); close(closed) }()
	select {
	case err := <-held:
		if !errors.Is(err, ErrSealed) {
			t.Fatalf("held proposal after close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("close did not release the held proposer")
	}
	close(gate)
	<-closed
}
