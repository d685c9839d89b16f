package lg

import (
	"fmt"
	"log"
	"os"
	"strings"
	"sync/atomic"
)

// Level is a log severity. The numeric values are NSQ's (they show up in
// GET /config/log_level).
type Level int32

// The levels, lowest first.
const (
	DEBUG Level = 1
	INFO  Level = 2
	WARN  Level = 3
	ERROR Level = 4
	FATAL Level = 5
)

// String returns the name used in log lines.
func (l Level) String() string {
	switch l {
	case DEBUG:
		return "DEBUG"
	case INFO:
		return "INFO"
	case WARN:
		return "WARNING"
	case ERROR:
		return "ERROR"
	case FATAL:
		return "FATAL"
	}
	return fmt.Sprintf("LEVEL(%d)", int32(l))
}

// ParseLevel accepts debug, info, warn, error or fatal in any case.
func ParseLevel(s string) (Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return DEBUG, nil
	case "info":
		return INFO, nil
	case "warn", "warning":
		return WARN, nil
	case "error":
		return ERROR, nil
	case "fatal":
		return FATAL, nil
	}
	return 0, fmt.Errorf("invalid log level %q (want debug, info, warn, error or fatal)", s)
}

// Set implements flag.Value so a Level can be a command-line flag.
func (l *Level) Set(s string) error {
	v, err := ParseLevel(s)
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// Logger is what the daemons write to. *log.Logger satisfies it.
type Logger interface {
	Output(calldepth int, s string) error
}

// NewStderr returns NSQ's standard logger: stderr, the given prefix, and
// microsecond timestamps.
func NewStderr(prefix string) Logger {
	return log.New(os.Stderr, prefix, log.Ldate|log.Ltime|log.Lmicroseconds)
}

// Nop discards everything.
type Nop struct{}

// Output implements Logger.
func (Nop) Output(int, string) error { return nil }

// Leveled couples a Logger with a minimum level that can change at run time
// (PUT /config/log_level). It is safe for concurrent use.
type Leveled struct {
	out   Logger
	level atomic.Int32
}

// NewLeveled returns a Leveled writing lines at or above min to out.
func NewLeveled(out Logger, min Level) *Leveled {
	if out == nil {
		out = Nop{}
	}
	l := &Leveled{out: out}
	l.level.Store(int32(min))
	return l
}

// SetLevel changes the minimum level.
func (l *Leveled) SetLevel(min Level) { l.level.Store(int32(min)) }

// Level returns the minimum level.
func (l *Leveled) Level() Level { return Level(l.level.Load()) }

// Enabled reports whether a line at lvl would be written.
func (l *Leveled) Enabled(lvl Level) bool { return lvl >= l.Level() }

// Logf writes one line at lvl.
func (l *Leveled) Logf(lvl Level, format string, args ...any) {
	if l == nil || !l.Enabled(lvl) {
		return
	}
	l.out.Output(2, lvl.String()+": "+fmt.Sprintf(format, args...))
}

// Get implements flag.Getter.
func (l *Level) Get() any { return *l }
