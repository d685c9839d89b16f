package main

import (
	"encoding/json"
	"errors"
	"log"
	"strconv"
)

// errMissingRequiredField makes the handler fail (REQ with backoff) a JSON
// message that lacks the field whose value is required. NSQ does this
// instead of dropping the message, so such a message loops until go-nsq
// gives up on it after max_attempts; we keep that behaviour.
var errMissingRequiredField = errors.New("missing field to check required value")

// jsonFilter implements --require-json-field/--require-json-value and
// --whitelist-json-field. Safe for concurrent use (read-only).
type jsonFilter struct {
	requireField string
	requireValue string
	requireNum   float64
	requireIsNum bool // requireValue parses as a number
	whitelist    []string
	logger       *log.Logger
}

// newJSONFilter returns nil when no JSON flag is set: then bodies pass
// byte for byte without being decoded.
func newJSONFilter(o *options, logger *log.Logger) *jsonFilter {
	if o.requireField == "" && len(o.whitelistField) == 0 {
		return nil
	}
	f := &jsonFilter{
		requireField: o.requireField,
		requireValue: o.requireValue,
		whitelist:    o.whitelistField,
		logger:       logger,
	}
	if n, err := strconv.ParseFloat(o.requireValue, 64); err == nil {
		f.requireNum, f.requireIsNum = n, true
	}
	return f
}

// apply decides what to publish for body: out and keep=true to publish
// out, keep=false to drop the message (FIN without publishing), or an
// error to REQueue it.
func (f *jsonFilter) apply(body []byte) (out []byte, keep bool, err error) {
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err != nil {
		f.logger.Printf("ERROR: Unable to decode json: %s", body)
		return nil, false, nil
	}
	if f.requireField != "" {
		v, ok := obj[f.requireField]
		if !ok {
			if f.requireValue != "" {
				f.logger.Printf("ERROR: %s", errMissingRequiredField)
				return nil, false, errMissingRequiredField
			}
			return nil, false, nil
		}
		if f.requireValue != "" && !f.matches(v) {
			return nil, false, nil
		}
	}
	if len(f.whitelist) == 0 {
		return body, true, nil
	}
	// Re-encoded by encoding/json as NSQ does: sorted keys, whole floats
	// as integers, <, > and & escaped.
	kept := make(map[string]any, len(f.whitelist))
	for _, k := range f.whitelist {
		if v, ok := obj[k]; ok {
			kept[k] = v
		}
	}
	out, err = json.Marshal(kept)
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// matches compares a decoded JSON value with --require-json-value: a
// string must equal it exactly, a number must equal it numerically (when
// the flag is a number); nothing else matches.
func (f *jsonFilter) matches(v any) bool {
	switch v := v.(type) {
	case string:
		return v == f.requireValue
	case float64:
		return f.requireIsNum && v == f.requireNum
	}
	return false
}
