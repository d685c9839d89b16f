// Package lg is the small leveled logger shared by the daemons.
//
// A daemon is given one Logger (anything with Output, such as *log.Logger or
// a test adaptor around testing.TB) and a minimum Level; Logf drops lines
// below that level and prefixes the rest with the level name, giving NSQ's
// line format "<prefix><date time.micro> <LEVEL>: <text>".
//
// It holds no locks of its own.
package lg
