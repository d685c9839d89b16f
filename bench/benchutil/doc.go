// Package benchutil holds what the bench tools share: a minimal V2
// protocol connection (its framing is internal/protocol's), one
// connection per CPU, the start barrier, the timed run and the result
// line.
//
// It holds no locks of its own.
package benchutil
