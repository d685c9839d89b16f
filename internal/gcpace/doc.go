// Package gcpace keeps a lightly loaded daemon's heap small without
// slowing it down under load.
//
// Go's collector starts a cycle when the heap reaches twice the live heap
// (GOGC=100), but never below a 4 MB floor scaled by GOGC. A broker at a
// modest rate has a live heap of 1-2 MB, so its heap runs up to the floor:
// about 5 MB resident of a 14 MB process. At GOGC=50 the floor is 2 MB and
// the cycles, each cheap at that size, come about three times as often. The
// Pacer collects at Config.Low (50) while the heap grows slower than
// Config.Up (16 MB/s) and at Config.High (Go's 100) above it, so a daemon
// moving hundreds of thousands of messages a second pays what it paid
// before; it returns to Low when the rate at High falls under Config.Down.
//
// The operator wins: with GOGC or GOMEMLIMIT in the environment, Start
// does nothing. The pacer hears of each cycle through a cleanup on an
// unreachable sentinel (runtime.AddCleanup) and reads the bytes allocated
// from runtime/metrics, so an idle daemon does no work for it.
//
// Locks: Pacer.mu guards its state and is a leaf.
package gcpace
