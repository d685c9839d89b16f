// Package batchpub is the sending half shared by the nsqlog Writer and
// the file harvester: whatever buffers messages hands them to nsqd in
// MPUB batches, one batch at a time, so that they arrive and are
// acknowledged in order.
//
//   - Publisher sends a batch to one of several nsqd with go-nsq, failing
//     over in order, and PublishRetry retries it with backoff until nsqd
//     accepts it; a batch nsqd refuses (E_BAD_MESSAGE, ...) is split until
//     the single bad message is found and given up.
//   - Source.Next is the sender's wait: a batch is due when it is full,
//     when its first message waited the batch timeout, or when the owner
//     asks for a flush (Sync, Close, a drain at shutdown).
//   - Fit cuts a batch to the MPUB limits (messages per batch, body bytes).
//   - Failures throttles the log lines of a run of failed attempts.
//
// Delivery is at-least-once: when nsqd's OK to an MPUB is lost the batch
// is sent again.
//
// # Concurrency
//
// Publisher.mu guards the producers and the stopped flag and is never held
// while talking to nsqd; it is the package's only lock and a leaf.
// Publish, PublishRetry and Source.Next are called by one sending
// goroutine; Publisher.Stop may be called from any goroutine and makes a
// PublishRetry in progress return ErrStopped.
package batchpub
