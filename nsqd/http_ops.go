package nsqd

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/dropin/nsq/internal/httpapi"
	"github.com/dropin/nsq/internal/lg"
)

// Operations beyond NSQ: dead-letter settings, peek and the dead-letter
// ledger. Every route takes ?topic=&channel= of an existing channel (404
// TOPIC_NOT_FOUND / CHANNEL_NOT_FOUND otherwise) and changes nothing when
// it answers with an error.

// ChannelConfig is the answer of /channel/config.
type ChannelConfig struct {
	Topic   string `json:"topic"`
	Channel string `json:"channel"`
	// MaxAttempts is the limit in effect (0 = unlimited);
	// ChannelMaxAttempts the channel's own setting (0 = the daemon's
	// --max-attempts, DefaultMaxAttempts).
	MaxAttempts        uint16 `json:"max_attempts"`
	ChannelMaxAttempts uint16 `json:"channel_max_attempts"`
	DefaultMaxAttempts uint16 `json:"default_max_attempts"`
	// DeadLetterTopic is where dead letters go; ChannelDeadLetterTopic
	// the channel's own setting ("" = <topic>.dead).
	DeadLetterTopic        string `json:"dead_letter_topic"`
	ChannelDeadLetterTopic string `json:"channel_dead_letter_topic"`
	DeadLetterCount        uint64 `json:"dead_letter_count"`
}

func (s *httpServer) channelConfigOf(c *Channel) ChannelConfig {
	return ChannelConfig{
		Topic: c.topicName, Channel: c.name,
		MaxAttempts: c.attemptLimit(), ChannelMaxAttempts: c.channelMaxAttempts(), DefaultMaxAttempts: s.n.env.maxAttempts,
		DeadLetterTopic: c.deadLetterTopic(), ChannelDeadLetterTopic: c.configuredDeadLetterTopic(),
		DeadLetterCount: c.deadCount.Load(),
	}
}

// readJSON decodes the request body into v, refusing unknown fields and
// anything after the object: 400 INVALID_BODY.
func (s *httpServer) readJSON(req *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(req.Body, s.n.opts.MaxBodySize+1))
	if err != nil {
		return errInternal()
	}
	if int64(len(body)) > s.n.opts.MaxBodySize {
		return errTooLarge("BODY_TOO_BIG")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil || dec.More() {
		return errBadRequest("INVALID_BODY")
	}
	return nil
}

// channelConfig answers GET and POST /channel/config. A POST body sets
// the fields it names: {"max_attempts": N} (0 = the daemon's
// --max-attempts) and {"dead_letter_topic": "name"} ("" = <topic>.dead).
// The setting is in nsqd.dat before the answer.
func (s *httpServer) channelConfig(w http.ResponseWriter, req *http.Request, _ httprouter.Params) (any, error) {
	_, c, err := s.existingChannel(req)
	if err != nil {
		return nil, err
	}
	if req.Method != http.MethodPost {
		return s.channelConfigOf(c), nil
	}
	var body struct {
		MaxAttempts     *int    `json:"max_attempts"`
		DeadLetterTopic *string `json:"dead_letter_topic"`
	}
	if err := s.readJSON(req, &body); err != nil {
		return nil, err
	}
	maxAttempts, topic := c.channelMaxAttempts(), c.configuredDeadLetterTopic()
	if body.MaxAttempts != nil {
		if *body.MaxAttempts < 0 || *body.MaxAttempts > 65535 {
			return nil, errBadRequest("INVALID_MAX_ATTEMPTS")
		}
		maxAttempts = uint16(*body.MaxAttempts)
	}
	if body.DeadLetterTopic != nil {
		switch err := checkDeadLetterTopic(c.topicName, *body.DeadLetterTopic); {
		case errors.Is(err, errDeadTopicLoop):
			return nil, errBadRequest("DEAD_LETTER_TOPIC_LOOP")
		case err != nil:
			return nil, errBadRequest("INVALID_DEAD_LETTER_TOPIC")
		}
		topic = *body.DeadLetterTopic
	}
	c.setDeadLetterConfig(maxAttempts, topic)
	s.n.log.Logf(lg.INFO, "CHANNEL(%s:%s): max attempts %d, dead-letter topic %s",
		c.topicName, c.name, c.attemptLimit(), c.deadLetterTopic())
	if !c.ephemeral {
		s.persistPause()
	}
	return s.channelConfigOf(c), nil
}

// countParam reads the optional n parameter: 1..max, def when absent,
// else 400 INVALID_ARG_N.
func countParam(req *http.Request, def, max int) (int, error) {
	q, err := httpapi.ParseQuery(req)
	if err != nil {
		return 0, err
	}
	v, ok := q.Get("n")
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, errBadRequest("INVALID_ARG_N")
	}
	return n, nil
}

// channelPeek answers GET /channel/peek?topic=&channel=&n= (1..100,
// default 10): the first waiting messages, nothing changed.
func (s *httpServer) channelPeek(w http.ResponseWriter, req *http.Request, _ httprouter.Params) (any, error) {
	_, c, err := s.existingChannel(req)
	if err != nil {
		return nil, err
	}
	n, err := countParam(req, 10, MaxPeek)
	if err != nil {
		return nil, err
	}
	return c.peek(n), nil
}

// DeadLetters is the answer of GET /channel/dead.
type DeadLetters struct {
	Topic           string       `json:"topic"`
	Channel         string       `json:"channel"`
	DeadLetterTopic string       `json:"dead_letter_topic"`
	DeadLetterCount uint64       `json:"dead_letter_count"` // since start
	DeadLetters     []DeadLetter `json:"dead_letters"`      // oldest first
}

// channelDead answers GET /channel/dead?topic=&channel=&n=: the channel's
// recorded dead letters, oldest first (n of them, 1..1000, default all).
func (s *httpServer) channelDead(w http.ResponseWriter, req *http.Request, _ httprouter.Params) (any, error) {
	_, c, err := s.existingChannel(req)
	if err != nil {
		return nil, err
	}
	n, err := countParam(req, ledgerMaxRecords, ledgerMaxRecords)
	if err != nil {
		return nil, err
	}
	recs := c.dead.list(n)
	for i := range recs {
		recs[i].Preview = preview(recs[i].Body)
	}
	return DeadLetters{Topic: c.topicName, Channel: c.name, DeadLetterTopic: c.deadLetterTopic(),
		DeadLetterCount: c.deadCount.Load(), DeadLetters: recs}, nil
}

// channelDeadReplay answers POST /channel/dead/replay?topic=&channel=
// with {"ids": [...]} or {"all": true} and optionally "to": "topic"
// (default: published again to the original topic, so every channel gets
// it) or "channel" (queued again on this channel only). Replayed messages
// get fresh IDs and start at 0 attempts; they leave the ledger. The copies
// in the dead-letter topic are not touched.
func (s *httpServer) channelDeadReplay(w http.ResponseWriter, req *http.Request, _ httprouter.Params) (any, error) {
	t, c, err := s.existingChannel(req)
	if err != nil {
		return nil, err
	}
	var body struct {
		IDs []string `json:"ids"`
		All bool     `json:"all"`
		To  string   `json:"to"`
	}
	if err := s.readJSON(req, &body); err != nil {
		return nil, err
	}
	switch {
	case body.To != "" && body.To != "topic" && body.To != "channel":
		return nil, errBadRequest("INVALID_ARG_TO")
	case body.All == (body.IDs != nil):
		return nil, errBadRequest("MISSING_ARG_IDS") // exactly one of ids and all
	}
	ids := body.IDs
	if body.All {
		ids = nil
	}
	recs, missing := c.dead.take(ids)
	if missing != "" {
		return nil, httpapi.Err{Code: 404, Text: "DEAD_LETTER_NOT_FOUND"}
	}
	if len(recs) == 0 {
		return map[string]int{"replayed": 0}, nil
	}
	bodies := make([][]byte, len(recs))
	for i, r := range recs {
		bodies[i] = r.Body
	}
	if body.To == "channel" {
		err = c.replay(t, bodies)
	} else {
		err = t.Publish(bodies, 0)
	}
	if err != nil {
		c.dead.putBack(recs)
		if errors.Is(err, errNoSpace) {
			return nil, errUnavailable("DISK_FULL")
		}
		return nil, errUnavailable("REPLAY_FAILED")
	}
	s.n.log.Logf(lg.INFO, "CHANNEL(%s:%s): replayed %d dead letters to the %s", c.topicName, c.name, len(recs), orDefault(body.To, "topic"))
	return map[string]int{"replayed": len(recs)}, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// replay queues bodies on c alone as new messages of t (fresh IDs from
// t, 0 attempts).
func (c *Channel) replay(t *Topic, bodies [][]byte) error {
	block := make([]Message, len(bodies))
	if err := t.ids.fill(block); err != nil {
		return err
	}
	now := time.Now().UnixNano()
	msgs := make([]*Message, len(block))
	for i := range block {
		block[i].Body, block[i].Timestamp = bodies[i], now
		msgs[i] = &block[i]
	}
	return c.putMessages(msgs)
}
