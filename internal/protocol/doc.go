// Package protocol holds the wire pieces shared by nsqd and nsqlookupd:
// the magic strings, frame types and frame writers, command-line
// tokenizing, and the typed client errors that carry an E_... code and say
// whether they close the connection.
package protocol
