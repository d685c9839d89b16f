package promtext

import (
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// AddGo adds the go_* families the Prometheus client's Go collector
// exports most commonly: goroutines, threads, version, GC pauses and the
// memstats gauges.
func AddGo(w *Writer) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	threads, _ := runtime.ThreadCreateProfile(nil)
	w.Add("go_goroutines", "Number of goroutines that currently exist.", Gauge, float64(runtime.NumGoroutine()))
	w.Add("go_threads", "Number of OS threads created.", Gauge, float64(threads))
	w.Add("go_info", "Information about the Go environment.", Gauge, 1, Label{"version", runtime.Version()})
	var gc debug.GCStats
	gc.PauseQuantiles = make([]time.Duration, 5)
	debug.ReadGCStats(&gc)
	for i, q := range []string{"0", "0.25", "0.5", "0.75", "1"} {
		w.Add("go_gc_duration_seconds", "A summary of the wall-time pause (stop-the-world) duration in garbage collection cycles.",
			Summary, gc.PauseQuantiles[i].Seconds(), Label{"quantile", q})
	}
	w.AddSummaryTotals("go_gc_duration_seconds", "", gc.PauseTotal.Seconds(), uint64(gc.NumGC))
	mem := []struct {
		name, help string
		typ        Type
		v          uint64
	}{
		{"go_memstats_alloc_bytes", "Number of heap bytes allocated and currently in use.", Gauge, ms.Alloc},
		{"go_memstats_alloc_bytes_total", "Total number of heap bytes allocated, even if freed.", Counter, ms.TotalAlloc},
		{"go_memstats_sys_bytes", "Number of bytes obtained from system.", Gauge, ms.Sys},
		{"go_memstats_mallocs_total", "Total number of heap objects allocated.", Counter, ms.Mallocs},
		{"go_memstats_frees_total", "Total number of heap objects frees.", Counter, ms.Frees},
		{"go_memstats_heap_alloc_bytes", "Number of heap bytes allocated and currently in use.", Gauge, ms.HeapAlloc},
		{"go_memstats_heap_sys_bytes", "Number of heap bytes obtained from system.", Gauge, ms.HeapSys},
		{"go_memstats_heap_idle_bytes", "Number of heap bytes waiting to be used.", Gauge, ms.HeapIdle},
		{"go_memstats_heap_inuse_bytes", "Number of heap bytes that are in use.", Gauge, ms.HeapInuse},
		{"go_memstats_heap_released_bytes", "Number of heap bytes released to OS.", Gauge, ms.HeapReleased},
		{"go_memstats_heap_objects", "Number of currently allocated objects.", Gauge, ms.HeapObjects},
		{"go_memstats_stack_inuse_bytes", "Number of bytes obtained from system for stack allocator.", Gauge, ms.StackInuse},
		{"go_memstats_next_gc_bytes", "Number of heap bytes when next garbage collection will take place.", Gauge, ms.NextGC},
	}
	for _, m := range mem {
		w.Add(m.name, m.help, m.typ, float64(m.v))
	}
	w.Add("go_memstats_last_gc_time_seconds", "Number of seconds since 1970 of last garbage collection.", Gauge, float64(ms.LastGC)/1e9)
}

var startTime = time.Now()

// AddProcess adds the process_* families (Linux: read from /proc/self;
// elsewhere only the start time).
func AddProcess(w *Writer) {
	w.Add("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", Gauge, procStart())
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return
	}
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s)
	// after the command: state is field 3 of stat(5), so f[k] is field k+3
	field := func(n int) float64 {
		if n-3 < 0 || n-3 >= len(f) {
			return 0
		}
		v, _ := strconv.ParseFloat(f[n-3], 64)
		return v
	}
	const ticks = 100 // USER_HZ on Linux
	w.Add("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", Counter, (field(14)+field(15))/ticks)
	w.Add("process_virtual_memory_bytes", "Virtual memory size in bytes.", Gauge, field(23))
	w.Add("process_resident_memory_bytes", "Resident memory size in bytes.", Gauge, field(24)*float64(os.Getpagesize()))
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		w.Add("process_open_fds", "Number of open file descriptors.", Gauge, float64(len(fds)))
	}
	if lim, ok := maxFDs(); ok {
		w.Add("process_max_fds", "Maximum number of open file descriptors.", Gauge, lim)
	}
}

// maxFDs reads the soft "Max open files" limit from /proc/self/limits.
func maxFDs() (float64, bool) {
	b, err := os.ReadFile("/proc/self/limits")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "Max open files") {
			f := strings.Fields(strings.TrimPrefix(line, "Max open files"))
			if len(f) > 0 {
				if v, err := strconv.ParseFloat(f[0], 64); err == nil {
					return v, true
				}
			}
		}
	}
	return 0, false
}

func procStart() float64 { return float64(startTime.UnixNano()) / 1e9 }
