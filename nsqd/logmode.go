package nsqd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/dropin/nsq/internal/brokerlog"
	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/logstore"
	"github.com/dropin/nsq/internal/names"
)

// Storage modes (--storage).
const (
	StorageDiskQueue = "diskqueue"
	StorageLog       = "log"
)

// logDirName is the engine's directory inside --data-path.
const logDirName = "brokerlog"

// errPubFailed: the log could not make a publish durable (write or fsync
// failed). Nothing was acknowledged for it.
var errPubFailed = errors.New("the write to the log failed")

// logHousekeepingInterval is how often the log is checkpointed and
// compacted.
const logHousekeepingInterval = 5 * time.Second

// logMode is the daemon's durable log (--storage=log): one engine for every
// non-ephemeral topic and channel. Topics publish through it and channels
// read from it (logmode_topic.go, logmode_channel.go); the daemon creates,
// deletes, pauses and empties through it, so what exists survives kill -9.
type logMode struct {
	eng     *brokerlog.Engine // with replication: this node's own group's
	syncAck bool
	log     *lg.Leveled
	repl    *replSet // nil on a single node (replication.go)
}

// checkStorageDir refuses a log directory in diskqueue mode (a log is
// never converted back to disk queues) and, in log mode, NSQ disk queues
// beside an existing log (takeOverNSQDir imports an NSQ directory only
// into a new log).
func checkStorageDir(opts *Options) error {
	logDir := filepath.Join(opts.DataPath, logDirName)
	_, err := os.Stat(logDir)
	hasLog := err == nil
	queues, _ := filepath.Glob(filepath.Join(opts.DataPath, "*.diskqueue.*.dat"))
	switch {
	case opts.Storage == StorageDiskQueue && hasLog:
		return fmt.Errorf("--data-path %s holds a --storage=log engine (%s/): switching back to diskqueue is not supported; start with --storage=log or use another --data-path", opts.DataPath, logDirName)
	case opts.Storage == StorageLog && len(queues) > 0 && !hasLog:
		// only a replicated node gets here (takeOverNSQDir has run otherwise)
		return fmt.Errorf("--data-path %s holds NSQ disk queues (%d files, e.g. %s): they are imported into the log of a single node only, not into replication groups; start once without replication to import them, or use another --data-path",
			opts.DataPath, len(queues), filepath.Base(queues[0]))
	case opts.Storage == StorageLog && len(queues) > 0:
		// takeOverNSQDir imported a directory without a log; NSQ files
		// beside an existing log were put there later
		return fmt.Errorf("--data-path %s holds a --storage=log engine (%s/) and also NSQ disk queues (%d files, e.g. %s): an NSQ data directory is imported only into a new log; drain the queues with --storage=diskqueue in another --data-path, or move them away",
			opts.DataPath, logDirName, len(queues), filepath.Base(queues[0]))
	}
	return nil
}

// openLogMode opens the engine in --data-path; disk errors of its commits
// set /ping unhealthy until a commit succeeds again.
func openLogMode(n *NSQD, rc *replConfig) (*logMode, error) {
	if rc != nil {
		return openReplicated(n, rc)
	}
	eng, err := brokerlog.Open(brokerlog.Options{
		Dir:          filepath.Join(n.opts.DataPath, logDirName),
		RetainFor:    n.opts.LogRetention.For,
		RetainBytes:  n.opts.LogRetention.Bytes,
		SegmentBytes: n.opts.LogSegmentBytes,
		OnHealth: func(err error) {
			if err != nil {
				n.log.Logf(lg.ERROR, "LOG: commit failed: %s", err)
				n.setHealth(err)
				return
			}
			n.clearHealth()
		},
		Logf: func(f string, args ...any) { n.log.Logf(lg.INFO, "LOG: "+f, args...) },
	})
	if err != nil {
		return nil, fmt.Errorf("failed to open the log: %w", err)
	}
	return &logMode{eng: eng, syncAck: n.opts.SyncAck, log: n.log}, nil
}

// logged reports whether a topic of this name lives in the log.
func (lm *logMode) logged(topic string) bool { return lm != nil && !names.IsEphemeral(topic) }

// await waits until p is durable and applied, so State shows its change.
func (lm *logMode) await(p *logstore.Proposal) error {
	if err := p.Wait(); err != nil {
		return fmt.Errorf("%w: %w", errPubFailed, err)
	}
	_, last := p.Indexes()
	return lm.eng.Committer().WaitApplied(context.Background(), last)
}

// ensureTopic creates topic in the log unless it exists there.
func (lm *logMode) ensureTopic(topic string) error {
	if _, ok := lm.eng.State().Topic(topic); ok {
		return nil
	}
	return lm.await(lm.eng.CreateTopic(topic))
}

// ensureChannel creates a channel at the tail unless it exists.
func (lm *logMode) ensureChannel(topic, channel string) error {
	if _, ok := lm.eng.State().Channel(topic, channel); ok {
		return nil
	}
	return lm.await(lm.eng.CreateChannel(topic, channel, brokerlog.Start{Mode: brokerlog.StartLatest}))
}

// do runs a topic or channel change and logs a failure (pause and unpause
// have no error to return; the failure also makes /ping unhealthy).
func (lm *logMode) do(what string, p *logstore.Proposal) error {
	err := lm.await(p)
	if err != nil {
		lm.log.Logf(lg.ERROR, "LOG: %s: %s", what, err)
	}
	return err
}

// doAll runs a topic or channel change in the node's log and, with
// replication, in every other group of this node too (forwarded to their
// leaders, not awaited: the own group's outcome is the answer). A delete is
// remembered for a while so the watch loop does not recreate what another
// group has not applied yet.
func (lm *logMode) doAll(what string, op func(e *brokerlog.Engine) *logstore.Proposal) error {
	if lm.repl != nil {
		lm.repl.fanOut(what, op)
	}
	return lm.do(what, op(lm.eng))
}

// loadFromLog recreates the topics and channels the log holds, with their
// pause state; ephemeral channels (a previous run's) are deleted. Topics
// start once their channels exist.
func (n *NSQD) loadFromLog() error {
	n.loading.Store(true)
	defer n.loading.Store(false)
	settings, err := n.readLogSettings()
	if err != nil {
		return err
	}
	st := n.lm.eng.State()
	for _, ti := range st.Topics() {
		if !names.IsValidTopicName(ti.Name) {
			n.log.Logf(lg.WARN, "NSQ: skipping invalid topic %s in the log", ti.Name)
			continue
		}
		t, err := n.GetTopic(ti.Name)
		if err != nil {
			return err
		}
		t.paused.Store(ti.Paused)
		for _, name := range ti.Channels {
			if names.IsEphemeral(name) || !names.IsValidChannelName(name) {
				n.lm.do("delete channel "+ti.Name+":"+name, n.lm.eng.DeleteChannel(ti.Name, name))
				continue
			}
			ci, _ := st.Channel(ti.Name, name)
			c, err := t.GetChannel(name)
			if err != nil {
				return err
			}
			c.paused.Store(ci.Paused)
		}
		n.applyLogSettings(t, settings[ti.Name])
		t.start()
	}
	return nil
}

// logHousekeeping checkpoints the state and compacts the log now and then.
func (n *NSQD) logHousekeeping() {
	tick := time.NewTicker(logHousekeepingInterval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			n.lm.checkpoint()
		case <-n.exitCh:
			return
		}
	}
}

// checkpoint writes a checkpoint if entries were applied since the last,
// then removes the segments nothing needs.
func (lm *logMode) checkpoint() {
	if lm.repl != nil {
		lm.repl.checkpoint()
		return
	}
	if idx, _ := lm.eng.LastCheckpoint(); idx == lm.eng.State().Applied() {
		return
	}
	if _, err := lm.eng.Checkpoint(); err != nil {
		lm.log.Logf(lg.ERROR, "LOG: checkpoint failed: %s", err)
		return
	}
	if _, err := lm.eng.Compact(time.Now()); err != nil {
		lm.log.Logf(lg.ERROR, "LOG: compaction failed: %s", err)
	}
}

// close checkpoints and closes the engine after the topics have stopped.
func (lm *logMode) close() {
	if lm.repl != nil {
		lm.repl.checkpoint()
		lm.repl.close()
		return
	}
	lm.checkpoint()
	if err := lm.eng.Close(); err != nil {
		lm.log.Logf(lg.ERROR, "LOG: close failed: %s", err)
	}
}

// abort closes the engine after a failed start.
func (lm *logMode) abort() {
	if lm.repl != nil {
		lm.repl.close()
		return
	}
	lm.eng.Close()
}
