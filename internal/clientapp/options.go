package clientapp

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/nsqio/go-nsq"
)

// OptionFlag is the flag.Value behind --consumer-opt and --producer-opt:
// each occurrence is "name,value" (split at the first comma; "-" in the
// name becomes "_"), applied to Config at once, so a later occurrence wins.
// A bare "name" means the boolean option is true. It is not safe for
// concurrent use (flag parsing is single-threaded).
type OptionFlag struct {
	Config *nsq.Config
}

// String implements flag.Value.
func (f *OptionFlag) String() string { return "" }

// Set implements flag.Value.
func (f *OptionFlag) Set(opt string) error { return SetOption(f.Config, opt) }

// boolOptions are the go-nsq options that may be given without a value.
var boolOptions = map[string]bool{
	"tls_v1":                     true,
	"tls_insecure_skip_verify":   true,
	"deflate":                    true,
	"snappy":                     true,
	"skip_lookupd_authorization": true,
}

// knownOptions are the names go-nsq's Config.Set accepts: the opt tags of
// Config's fields plus the TLS options it handles separately.
var knownOptions = func() map[string]bool {
	m := map[string]bool{
		"tls_root_ca_file": true, "tls_insecure_skip_verify": true,
		"tls_cert": true, "tls_key": true, "tls_min_version": true,
	}
	t := reflect.TypeOf(nsq.Config{})
	for i := 0; i < t.NumField(); i++ {
		if opt := t.Field(i).Tag.Get("opt"); opt != "" {
			m[opt] = true
		}
	}
	return m
}()

// SetOption applies one "name,value" option to cfg with go-nsq's own
// parsing, range checks and error texts (e.g. "invalid read_timeout !
// 10m0s > 5m0s", "invalid option bogus").
//
// Where go-nsq v1.1.0 panics instead of returning an error, SetOption
// returns an error: tls_config (a *tls.Config cannot come from text), an
// unknown backoff_strategy, and any option that is not a boolean given
// without a value (go-nsq panics for local_addr, tls_cert and tls_key and
// stores the text "%!s(bool=true)" for string options; we reject all of
// them alike).
func SetOption(cfg *nsq.Config, opt string) (err error) {
	name, value, hasValue := strings.Cut(opt, ",")
	name = strings.ReplaceAll(name, "-", "_")
	switch {
	case name == "tls_config":
		return errors.New("tls_config cannot be set from the command line " +
			"(use tls_v1, tls_root_ca_file, tls_insecure_skip_verify, tls_cert, tls_key, tls_min_version)")
	case name == "backoff_strategy" && value != "exponential" && value != "full_jitter":
		return fmt.Errorf("invalid backoff_strategy %q (want exponential or full_jitter)", value)
	case !knownOptions[name]:
		return fmt.Errorf("invalid option %s", name)
	case !hasValue && !boolOptions[name]:
		return fmt.Errorf("option %s needs a value (%s,<value>)", name, name)
	}
	// go-nsq's reflection-based setter panics on type mismatches it does
	// not foresee; turn any such panic into an ordinary error.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("invalid value %q for option %s", value, name)
		}
	}()
	if !hasValue {
		return cfg.Set(name, true)
	}
	return cfg.Set(name, value)
}
