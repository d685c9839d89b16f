// Package names holds NSQ's rules for topic and channel names, shared by
// nsqd, nsqlookupd and nsqadmin.
//
// It holds no locks of its own.
package names
