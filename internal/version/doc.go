// Package version holds the version every daemon and app reports.
//
// Two numbers live here. Binary is the NSQ version whose behaviour we
// reproduce; it goes on the wire (IDENTIFY responses, /info, lookupd
// registrations, user agents) so that tools which compare versions
// (nsqadmin's out_of_date flag, clients that gate features on it) treat our
// daemons exactly like that NSQ release. Build is what this particular build
// is, baked in by the release tooling; only --version lines and start-up logs
// show it, so an operator can tell which build runs.
//
// It holds no locks of its own.
package version
