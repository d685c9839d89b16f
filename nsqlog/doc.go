// Package nsqlog lets a Go program log straight into an NSQ topic.
//
// A Writer batches log lines into MPUB commands to nsqd (go-nsq producers,
// one per address, failing over in order). It is both an io.Writer (give it
// to log.New) and a zapcore.WriteSyncer (give it to zapcore.NewCore):
//
//	w, err := nsqlog.New(nsqlog.Options{
//		NSQDTCPAddresses: []string{"127.0.0.1:4150"},
//		Topic:            "app_logs",
//		Policy:           nsqlog.Drop,
//	})
//	core := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), w, zap.InfoLevel)
//	logger := zap.New(core)
//	defer w.Close()
//	defer logger.Sync()
//
// Each Write is one NSQ message. Lines wait in a bounded buffer
// (MaxBufferedLines and MaxBufferedBytes, counting lines in flight) until a
// batch is full or BatchTimeout passed; one batch is in flight at a time, so
// messages keep their order. A failed MPUB is retried with backoff, moving to
// the next address; a line nsqd refuses (E_BAD_MESSAGE, e.g. larger than its
// --max-msg-size) is given up and counted in Stats.Rejected.
//
// When nsqd is unreachable the buffer fills and the caller's Policy decides:
// Block makes Write wait (nothing is lost, logging stalls; counted in
// Stats.Blocked), Drop discards new lines (logging never stalls; counted in
// Stats.Dropped). Sync waits for every earlier line to be acknowledged, at
// most SyncTimeout. Close delivers what it can within CloseTimeout and counts
// the rest as dropped.
//
// Delivery is at-least-once: if nsqd's OK to an MPUB is lost the batch is
// sent again, so consumers must tolerate duplicates.
//
// Publisher, the failover MPUB sender underneath (internal/batchpub's,
// which the file harvester shares), is exported for other programs that
// batch their own messages.
//
// Lock order: Writer.mu is the Writer's only lock; it is never held while
// talking to nsqd, and the Publisher's own lock is a leaf.
package nsqlog
