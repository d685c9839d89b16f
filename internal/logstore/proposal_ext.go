package logstore

// NewProposal returns an open proposal handle for a committer other than
// Committer (the replicated one), which completes it with Complete.
func NewProposal() *Proposal { return &Proposal{done: make(chan struct{})} }

// Complete records the outcome of a proposal made by NewProposal and closes
// Done. It must be called exactly once.
func (p *Proposal) Complete(first, last uint64, err error) {
	p.first, p.last, p.err = first, last, err
	close(p.done)
}
