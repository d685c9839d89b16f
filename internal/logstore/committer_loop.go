package logstore

import "fmt"

// takeLocked removes the next round's proposals from pending: all of them
// up to MaxBatchBytes, and at least one.
func (c *Committer) takeLocked() []*Proposal {
	n, bytes := 0, 0
	for n < len(c.pending) {
		b := c.pending[n].bytes
		if n > 0 && bytes+b > c.opts.MaxBatchBytes {
			break
		}
		bytes += b
		n++
	}
	round := c.pending[:n:n]
	rest := c.pending[n:]
	if len(rest) == 0 {
		c.pending = nil
	} else {
		c.pending = append([]*Proposal(nil), rest...)
	}
	return round
}

func (c *Committer) commitLoop() {
	defer c.wg.Done()
	defer c.stopApplier()
	var ents []Entry
	for {
		c.mu.Lock()
		for len(c.pending) == 0 && !c.closed {
			c.wake.Wait()
		}
		if c.closed {
			rest := c.pending
			c.pending = nil
			c.mu.Unlock()
			c.release(failAll(rest, fmt.Errorf("%w: %w", ErrSealed, ErrClosed)))
			return
		}
		round := c.takeLocked()
		next := c.written + 1
		c.mu.Unlock()

		ents = ents[:0]
		for _, p := range round {
			p.first = next + uint64(len(ents))
			for _, r := range p.recs {
				ents = append(ents, Entry{Index: next + uint64(len(ents)), Term: c.opts.Term, Kind: r.Kind, Data: r.Data})
			}
			p.last = next + uint64(len(ents)) - 1
		}
		if c.opts.Gather != nil {
			for _, r := range c.opts.Gather() {
				ents = append(ents, Entry{Index: next + uint64(len(ents)), Term: c.opts.Term, Kind: r.Kind, Data: r.Data})
			}
		}
		c.runRound(round, ents)
		if len(ents) > 1024 {
			ents = nil // the applier owns the batch now; start a fresh one
		} else {
			ents = make([]Entry, 0, len(ents))
		}
	}
}

// runRound writes and syncs one round and reports its outcome.
func (c *Committer) runRound(round []*Proposal, ents []Entry) {
	last := ents[len(ents)-1].Index
	err := c.opts.Log.Append(ents)
	if err == nil {
		c.mu.Lock()
		c.written = last
		c.mu.Unlock()
		err = c.opts.Log.Sync()
	}
	if err != nil {
		c.fail(round, err)
		return
	}
	c.mu.Lock()
	c.synced, c.committed = last, last
	recovered := c.lastErr != nil
	c.lastErr = nil
	c.mu.Unlock()
	if recovered && c.opts.OnHealth != nil {
		c.opts.OnHealth(nil)
	}
	bytes := 0
	for _, p := range round {
		bytes += p.bytes
		close(p.done)
	}
	c.amu.Lock()
	c.applyQ = append(c.applyQ, applyRound{ents, bytes})
	c.applyWake.Signal()
	c.amu.Unlock()
}

// applyRound is a committed round waiting for the applier; bytes is the
// queue room its proposals hold until applied.
type applyRound struct {
	ents  []Entry
	bytes int
}

// fail fails a round. A log that is still writable (the write was cut back
// cleanly, e.g. ENOSPC) stays usable and the next round retries with fresh
// proposals; a broken log (failed sync) seals the committer and fails
// everything pending.
func (c *Committer) fail(round []*Proposal, err error) {
	err = fmt.Errorf("logstore: commit of entries from %d failed: %w", round[0].first, err)
	broken := c.opts.Log.Broken() != nil
	c.mu.Lock()
	c.lastErr = err
	c.written = c.committed // whatever was written of the round is gone or never served
	var rest []*Proposal
	if broken {
		c.sealed = err
		rest = c.pending
		c.pending = nil
		c.room.Broadcast()
	}
	c.mu.Unlock()
	// Report first: whoever sees the failed proposal (a publisher answered
	// E_PUB_FAILED) must already find the daemon unhealthy.
	if c.opts.OnHealth != nil {
		c.opts.OnHealth(err)
	}
	n := failAll(round, err)
	n += failAll(rest, fmt.Errorf("%w: %w", ErrSealed, err))
	c.release(n)
}

// failAll fails ps and returns the queue room they held.
func failAll(ps []*Proposal, err error) int {
	n := 0
	for _, p := range ps {
		n += p.bytes
		p.err = err
		close(p.done)
	}
	return n
}

func (c *Committer) applyLoop() {
	defer c.wg.Done()
	for {
		c.amu.Lock()
		for len(c.applyQ) == 0 && !c.applyClose {
			c.applyWake.Wait()
		}
		if len(c.applyQ) == 0 {
			c.amu.Unlock()
			return
		}
		q := c.applyQ
		c.applyQ = nil
		c.amu.Unlock()
		for _, r := range q {
			c.opts.Apply(r.ents)
			c.amu.Lock()
			c.applied = r.ents[len(r.ents)-1].Index
			close(c.appliedCh)
			c.appliedCh = make(chan struct{})
			c.amu.Unlock()
			c.release(r.bytes)
		}
	}
}

func (c *Committer) stopApplier() {
	c.amu.Lock()
	c.applyClose = true
	c.applyWake.Signal()
	c.amu.Unlock()
}
