package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"time"
)

// flagSet is the flags of one command. A parse error is reported once, as
// "calsync CMD: <problem>" naming the flag as the help documents it
// (--name), followed by where to find the flags; the full list is printed
// for --help only, so the problem is not lost above it.
type flagSet struct {
	*flag.FlagSet
	cmd      string
	synopsis string // after "Usage: calsync "; further lines may follow
	about    string // paragraph printed between the synopsis and the flags
	stderr   io.Writer
}

func newFlagSet(cmd, synopsis string, stderr io.Writer) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet("calsync "+cmd, flag.ContinueOnError), cmd: cmd, synopsis: synopsis, stderr: stderr}
	// The flag package would print its message and the usage itself;
	// parse reports instead.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parse returns -1 to continue, or the exit code (0 for --help, 2 for bad
// flags).
func (fs *flagSet) parse(args []string) int {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return -1
	case errors.Is(err, flag.ErrHelp):
		fs.printUsage()
		return 0
	}
	return fs.fail("%s", fs.explain(err))
}

// fail reports a usage problem and returns exit code 2.
func (fs *flagSet) fail(format string, a ...any) int {
	fmt.Fprintf(fs.stderr, "calsync %s: %s\nRun 'calsync %s --help' for the flags.\n", fs.cmd, fmt.Sprintf(format, a...), fs.cmd)
	return 2
}

func (fs *flagSet) printUsage() {
	fmt.Fprintf(fs.stderr, "Usage: calsync %s\n\n", fs.synopsis)
	if fs.about != "" {
		fmt.Fprintf(fs.stderr, "%s\n\n", fs.about)
	}
	fs.SetOutput(fs.stderr)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// The flag package's messages, which name flags with one dash.
var (
	flagUnknown  = regexp.MustCompile(`^flag provided but not defined: -+(.+)$`)
	flagNoValue  = regexp.MustCompile(`^flag needs an argument: -+(.+)$`)
	flagBadValue = regexp.MustCompile(`^invalid (?:boolean )?value (".*") for (?:flag )?-+([^:]+): `)
)

// explain turns a parse error into a sentence that names the flag.
func (fs *flagSet) explain(err error) string {
	msg := err.Error()
	if m := flagUnknown.FindStringSubmatch(msg); m != nil {
		return "unknown flag --" + m[1]
	}
	if m := flagNoValue.FindStringSubmatch(msg); m != nil {
		return "--" + m[1] + " needs a value"
	}
	if m := flagBadValue.FindStringSubmatch(msg); m != nil {
		want := "a valid value"
		if f := fs.Lookup(m[2]); f == nil {
		} else if g, ok := f.Value.(flag.Getter); ok {
			switch g.Get().(type) {
			case bool:
				want = "true or false"
			case int, int64, uint, uint64:
				want = "a whole number"
			case float64:
				want = "a number"
			case time.Duration:
				want = "a duration such as 30s, 5m or 1h"
			}
		}
		return fmt.Sprintf("--%s %s: want %s", m[2], m[1], want)
	}
	return msg
}

// newLogger builds the process logger from the logging section.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if level == "" {
		level = "info"
	}
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("logging.level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	if strings.EqualFold(format, "json") {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}
