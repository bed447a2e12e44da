// Package logging sets up the structured logger shared by the desktop app
// and the ir CLI: JSON lines to a size-rotated file in the data directory,
// plus a human-readable console stream during development.
package logging

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"
	"gopkg.in/natefinch/lumberjack.v2"
)

// Options says where and how to log.
type Options struct {
	// Dir is the folder for log files (config.LogsPath of the data directory).
	// Empty means no file: console only.
	Dir string
	// Name is the program writing the log, used for the file name
	// (<Name>.log). Each program gets its own file because rotation is not
	// safe across processes.
	Name string
	// Console adds a coloured, human-readable stream on Console (default
	// stderr), for development and for CLI debugging.
	Console    bool
	ConsoleOut io.Writer
	// Mirror, when set, gets the same JSON lines as the file (ir serve
	// writes its request log to stderr too).
	Mirror io.Writer
	// Level is the minimum level; the zero value is Debug, so set it.
	Level zerolog.Level
}

// Rotation limits: a log never takes more than about MaxSizeMB*(MaxBackups+1).
const (
	MaxSizeMB  = 10
	MaxBackups = 3
	MaxAgeDays = 30
)

// New returns a logger and a Closer that flushes and closes the log file.
func New(opts Options) (zerolog.Logger, io.Closer, error) {
	var writers []io.Writer
	var closer io.Closer = nopCloser{}
	if opts.Dir != "" {
		if opts.Name == "" {
			return zerolog.Nop(), nopCloser{}, fmt.Errorf("logging: Options.Name is empty")
		}
		if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
			return zerolog.Nop(), nopCloser{}, fmt.Errorf("create log directory: %w", err)
		}
		file := &lumberjack.Logger{
			Filename:   filepath.Join(opts.Dir, opts.Name+".log"),
			MaxSize:    MaxSizeMB,
			MaxBackups: MaxBackups,
			MaxAge:     MaxAgeDays,
		}
		writers = append(writers, file)
		closer = file
	}
	if opts.Mirror != nil {
		writers = append(writers, opts.Mirror)
	}
	if opts.Console {
		out := opts.ConsoleOut
		if out == nil {
			out = os.Stderr
		}
		writers = append(writers, zerolog.ConsoleWriter{Out: out, TimeFormat: time.TimeOnly})
	}
	if len(writers) == 0 {
		return zerolog.Nop(), closer, nil
	}
	l := zerolog.New(zerolog.MultiLevelWriter(writers...)).
		Level(opts.Level).
		With().Timestamp().Str("program", opts.Name).Logger()
	return l, closer, nil
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }
