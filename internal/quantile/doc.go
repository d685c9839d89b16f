// Package quantile tracks latency percentiles over a sliding time window,
// for nsqd's e2e_processing_latency stats. It uses the CKMS targeted
// quantile streams of github.com/beorn7/perks.
//
// Locks: Window.mu guards its two streams and rotation time; it is a leaf lock
// (nothing else is taken while it is held).
package quantile
