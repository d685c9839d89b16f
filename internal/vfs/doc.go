// Package vfs is the small file-system interface the log engine does all its
// disk access through, with three implementations:
//
//   - OS: the real file system (package os), used in production.
//   - MemFS: a strict in-memory file system for tests. It remembers what has
//     been made durable: file contents become durable on File.Sync, directory
//     entries (creates, renames, removes, new directories) on SyncDir of the
//     directory holding them. Crash simulates a power cut: every byte and every
//     directory change not yet durable is thrown away. CrashTorn is the nastier
//     variant: each file keeps a random prefix of its unsynced tail, as a disk
//     that wrote some sectors of a write before the power went. CrashGarbled
//     also replaces a few of the kept unsynced bytes by random ones (a sector
//     written half, or writes reordered), never touching synced bytes.
//   - FaultFS: a wrapper that injects failures into another FS: the n-th Write
//     or Sync fails, or writes fail with ENOSPC once a byte budget is spent
//     (and succeed again when space is given back).
//
// The model is pebble's vfs.FS with its strict MemFS and errorfs; the code is
// our own. Names are slash-separated paths; MemFS cleans them with path.Clean
// and has no notion of a working directory, so tests use names such as
// "data/log/0001.seg".
//
// Semantics every implementation keeps:
//   - File.Write appends at the end of the file (O_APPEND), whatever was read
//     before. The engine only ever appends and truncates.
//   - Create truncates an existing file. OpenReadWrite opens an existing file
//     for appending and fails if it does not exist.
//   - List returns the names (not paths) of a directory's entries, sorted.
//
// # Concurrency
//
// All implementations are safe for concurrent use. A File may be used from
// several goroutines (ReadAt concurrently with Write, as the log reads its
// active segment while appending), but Close must not race with other calls.
//
// # Lock order
//
// MemFS has one mutex (MemFS.mu) that guards the whole tree; handles take it
// for every call and never hold it across calls. FaultFS.mu guards only its
// counters and is never held while calling the wrapped FS.
package vfs
