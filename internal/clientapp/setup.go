package clientapp

import (
	"errors"
	"fmt"
	"io"
	"log"
)

// Flags is what Setup needs from an app's parsed command line.
type Flags interface {
	// ShowVersion reports whether --version was given; an app without
	// that flag (to_nsq) returns false.
	ShowVersion() bool
	// Validate checks the flags and fills in the values derived from
	// them; its error is the text the app logs before exiting 1.
	Validate() error
}

// Setup is the start shared by every client app's run, with NSQ's exit
// statuses. It parses argv (program name first) with parse, whose only
// errors are ErrExit values from ParseFlags: the ErrExit's code is the
// exit status (0 after -h, 2 after a bad flag, which the flag set has
// already reported). Then --version prints VersionLine(app) on stdout and
// gives 0. Otherwise Setup makes the app's logger (NewLogger on stderr)
// and validates the flags, logging a failure and giving 1.
//
// When ok is false the app returns code at once; when ok is true the
// flags are valid and logger is ready.
func Setup[F Flags](app string, argv []string, stdout, stderr io.Writer,
	parse func(argv []string, stderr io.Writer) (F, error)) (flags F, logger *log.Logger, code int, ok bool) {
	flags, err := parse(argv, stderr)
	if err != nil {
		var exit ErrExit
		errors.As(err, &exit)
		return flags, nil, exit.Code, false
	}
	if flags.ShowVersion() {
		fmt.Fprintln(stdout, VersionLine(app))
		return flags, nil, 0, false
	}
	logger = NewLogger(stderr)
	if err := flags.Validate(); err != nil {
		logger.Print(err)
		return flags, logger, 1, false
	}
	return flags, logger, 0, true
}
