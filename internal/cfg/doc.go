// Package cfg merges command-line flags, a TOML config file and built-in
// defaults into a daemon's Options struct, with NSQ's precedence: a flag
// given on the command line beats the config file, which beats the default.
//
// Options fields take part when they carry a `flag:"name"` tag. The config
// file key is the flag name with "-" replaced by "_", unless a `cfg:"key"`
// tag says otherwise (NSQ's overrides such as node-id → id).
//
// It holds no locks of its own.
package cfg
