package nsqd

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"

	"github.com/dropin/nsq/internal/lg"
	"github.com/dropin/nsq/internal/names"
	"github.com/dropin/nsq/internal/version"
)

// metadataFile is nsqd.dat, NSQ's list of topics, channels and pause
// state.
const metadataFile = "nsqd.dat"

// logSettingsFile holds, in --storage=log, what the log does not: channel
// dead-letter settings and the dead-letter-target mark of topics. Same
// JSON as nsqd.dat, under another name so a log data directory is never
// taken for an NSQ one; topics and channels themselves come from the log.
const logSettingsFile = "nsqd.settings.json"

// metaChannel is one channel of nsqd.dat. The dead-letter fields are ours
// and left out when unset; NSQ's nsqd ignores them when it reads the file.
type metaChannel struct {
	Name            string `json:"name"`
	Paused          bool   `json:"paused"`
	MaxAttempts     uint16 `json:"max_attempts,omitempty"`
	DeadLetterTopic string `json:"dead_letter_topic,omitempty"`
}

type metaTopic struct {
	Name     string        `json:"name"`
	Paused   bool          `json:"paused"`
	Channels []metaChannel `json:"channels"`
	// DeadLetterTarget marks a topic that received dead letters (ours):
	// --max-attempts does not apply to it.
	DeadLetterTarget bool `json:"dead_letter_target,omitempty"`
}

type metadata struct {
	Topics  []metaTopic `json:"topics"`
	Version string      `json:"version"`
}

// lockDir takes an exclusive, non-blocking flock on dir.
func lockDir(dir string) (*os.File, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot flock directory %s (possibly in use by another instance of nsqd): %w", dir, err)
	}
	return f, nil
}

func (n *NSQD) unlockDataDir() {
	if n.dataDir != nil {
		syscall.Flock(int(n.dataDir.Fd()), syscall.LOCK_UN)
		n.dataDir.Close()
		n.dataDir = nil
	}
}

// loadMetadata recreates the topics and channels of nsqd.dat. Topics start
// delivering only once all their channels exist.
func (n *NSQD) loadMetadata() error {
	n.loading.Store(true)
	defer n.loading.Store(false)
	path := filepath.Join(n.opts.DataPath, metadataFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("failed to read metadata %s: %w", path, err)
	}
	var m metadata
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("failed to parse metadata in %s: %w", path, err)
	}
	for _, mt := range m.Topics {
		if !names.IsValidTopicName(mt.Name) {
			n.log.Logf(lg.WARN, "NSQ: skipping creation of invalid topic %s", mt.Name)
			continue
		}
		t, err := n.GetTopic(mt.Name)
		if err != nil {
			return err
		}
		if mt.Paused {
			t.Pause()
		}
		if mt.DeadLetterTarget {
			t.deadTarget.Store(true)
		}
		for _, mc := range mt.Channels {
			if !names.IsValidChannelName(mc.Name) {
				n.log.Logf(lg.WARN, "NSQ: skipping creation of invalid channel %s", mc.Name)
				continue
			}
			c, err := t.GetChannel(mc.Name)
			if err != nil {
				return err
			}
			if mc.Paused {
				c.Pause()
			}
			if err := checkDeadLetterTopic(mt.Name, mc.DeadLetterTopic); err != nil {
				n.log.Logf(lg.WARN, "CHANNEL(%s:%s): ignoring dead_letter_topic in %s - %s", mt.Name, mc.Name, metadataFile, err)
				mc.DeadLetterTopic = ""
			}
			c.setDeadLetterConfig(mc.MaxAttempts, mc.DeadLetterTopic)
		}
		t.start()
	}
	return nil
}

// snapshotMetadata lists the non-ephemeral topics and channels.
func (n *NSQD) snapshotMetadata() metadata {
	m := metadata{Version: version.Binary}
	for _, t := range n.topicList() {
		if t.ephemeral {
			continue
		}
		mt := metaTopic{Name: t.name, Paused: t.IsPaused(), DeadLetterTarget: t.deadTarget.Load() && !isDeadLetterName(t.name)}
		for _, c := range t.Channels() {
			if c.ephemeral {
				continue
			}
			mt.Channels = append(mt.Channels, metaChannel{Name: c.name, Paused: c.IsPaused(),
				MaxAttempts: c.channelMaxAttempts(), DeadLetterTopic: c.configuredDeadLetterTopic()})
		}
		m.Topics = append(m.Topics, mt)
	}
	return m
}

// persistMetadata writes nsqd.dat (in log mode logSettingsFile) atomically:
// a temp file, fsync, rename.
func (n *NSQD) persistMetadata() error {
	name := metadataFile
	if n.lm != nil {
		name = logSettingsFile
	}
	n.metaMu.Lock()
	defer n.metaMu.Unlock()
	data, err := json.Marshal(n.snapshotMetadata())
	if err != nil {
		return err
	}
	path := filepath.Join(n.opts.DataPath, name)
	tmp := fmt.Sprintf("%s.%d.tmp", path, rand.Int())
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	f.Close()
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(n.opts.DataPath); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// markMetadataDirty asks the metadata loop to rewrite nsqd.dat; several
// changes in a row are written once.
func (n *NSQD) markMetadataDirty() {
	select {
	case n.metaWake <- struct{}{}:
	default:
	}
}

// metadataLoop writes nsqd.dat whenever it is marked dirty.
func (n *NSQD) metadataLoop() {
	for {
		select {
		case <-n.metaWake:
			if err := n.persistMetadata(); err != nil {
				n.log.Logf(lg.ERROR, "failed to persist metadata: %s", err)
			}
		case <-n.exitCh:
			return
		}
	}
}

// readLogSettings reads logSettingsFile by topic name (empty when absent).
func (n *NSQD) readLogSettings() (map[string]metaTopic, error) {
	path := filepath.Join(n.opts.DataPath, logSettingsFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read %s: %w", path, err)
	}
	var m metadata
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("failed to parse %s: %w", path, err)
	}
	byName := make(map[string]metaTopic, len(m.Topics))
	for _, mt := range m.Topics {
		byName[mt.Name] = mt
	}
	return byName, nil
}

// applyLogSettings gives a topic the log recreated, and its channels, their
// saved settings before it starts delivering. It creates nothing: an entry
// of a deleted channel is ignored (and dropped at the next write).
func (n *NSQD) applyLogSettings(t *Topic, mt metaTopic) {
	if mt.DeadLetterTarget {
		t.deadTarget.Store(true)
	}
	for _, mc := range mt.Channels {
		c, ok := t.getExistingChannel(mc.Name)
		if !ok {
			continue
		}
		if err := checkDeadLetterTopic(t.name, mc.DeadLetterTopic); err != nil {
			n.log.Logf(lg.WARN, "CHANNEL(%s:%s): ignoring dead_letter_topic in %s - %s", t.name, mc.Name, logSettingsFile, err)
			mc.DeadLetterTopic = ""
		}
		c.setDeadLetterConfig(mc.MaxAttempts, mc.DeadLetterTopic)
	}
}
