package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/dropin/nsq/internal/cfg"
	"github.com/dropin/nsq/nsqlog"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("nsqlog", flag.ExitOnError)
	var addrs cfg.StringList
	fs.Var(&addrs, "nsqd-tcp-address", "nsqd TCP address (may be given multiple times: failover in order; required)")
	topic := fs.String("topic", "", "NSQ topic to log into (required)")
	count := fs.Int("count", 10, "number of log lines to write")
	policy := fs.String("policy", "block", "when the buffer is full: block (wait for nsqd) or drop (discard, counted)")
	buffer := fs.Int("buffer-lines", 10000, "most lines buffered while nsqd is slow or down")
	closeTimeout := fs.Duration("close-timeout", 5*time.Second, "how long to try delivering buffered lines at exit")
	fs.Parse(args)

	usageError := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "nsqlog: %s\n", fmt.Sprintf(format, a...))
		fs.Usage()
		return 1
	}
	if len(addrs) == 0 {
		return usageError("--nsqd-tcp-address is required")
	}
	if *topic == "" {
		return usageError("--topic is required")
	}
	if *count < 0 {
		return usageError("--count must not be negative")
	}
	pol, err := nsqlog.ParsePolicy(*policy)
	if err != nil {
		return usageError("--policy: %s", err)
	}
	w, err := nsqlog.New(nsqlog.Options{
		NSQDTCPAddresses: addrs,
		Topic:            *topic,
		Policy:           pol,
		MaxBufferedLines: *buffer,
		CloseTimeout:     *closeTimeout,
	})
	if err != nil {
		return usageError("%s", err)
	}

	core := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), w, zap.InfoLevel)
	logger := zap.New(core).With(zap.String("app", "nsqlog-example"))
	for i := 0; i < *count; i++ {
		logger.Info("hello from zap", zap.Int("n", i))
	}
	status := 0
	if err := logger.Sync(); err != nil {
		fmt.Fprintf(os.Stderr, "nsqlog: sync: %s\n", err)
		status = 1
	}
	if err := w.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "nsqlog: close: %s\n", err)
		status = 1
	}
	s := w.Stats()
	fmt.Printf("written=%d delivered=%d dropped=%d rejected=%d blocked=%d retries=%d\n",
		s.Written, s.Delivered, s.Dropped, s.Rejected, s.Blocked, s.Retries)
	return status
}
