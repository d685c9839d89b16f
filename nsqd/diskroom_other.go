//go:build !linux

package nsqd

// freeBytes is unknown off Linux: diskRoom then never refuses.
func freeBytes(string) (int64, bool) { return 0, false }
