//go:build bindings

// `make bindings` builds the app with -tags bindings and runs it: wails.Run
// then writes frontend/wailsjs from the methods of the bound App instead of
// opening a window. This main replaces the app's so that generating
// bindings opens no data folder and writes no log: a build must not create
// or touch the user's data.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/rs/zerolog"
	"github.com/wailsapp/wails/v2"
	"github.com/wailsapp/wails/v2/pkg/options"
)

// envBindingsChild marks the generator process that filterNoise watches.
const envBindingsChild = "IR_BINDINGS_CHILD"

func main() {
	if os.Getenv(envBindingsChild) == "" {
		os.Exit(runFiltered())
	}
	// NewApp only records the folder; the bindings need the methods, not data.
	if err := wails.Run(&options.App{Bind: []any{NewApp("", zerolog.Nop())}}); err != nil {
		fmt.Fprintln(os.Stderr, "bindings:", err)
		os.Exit(1)
	}
}

// runFiltered runs the generator as a child process and passes its stderr on
// through filterNoise. Wails prints its complaints with the println builtin,
// straight to file descriptor 2, so only another process can filter them.
func runFiltered() int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bindings:", err)
		return 1
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), envBindingsChild+"=1")
	cmd.Stdin, cmd.Stdout = os.Stdin, os.Stdout
	stderr, err := cmd.StderrPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bindings:", err)
		return 1
	}
	filterNoise(stderr, os.Stderr)
	if err := cmd.Wait(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() > 0 {
			return exit.ExitCode()
		}
		fmt.Fprintln(os.Stderr, "bindings:", err)
		return 1
	}
	return 0
}

// filterNoise copies the generator's stderr to w without the two lines Wails
// prints for every struct field of type time.Time ("KnownStructs: <all
// bound structs>" and "Not found: time.Time"). Wails has no model for
// time.Time and types such a field `any`; its JSON value is an RFC 3339
// string, which src/lib/api/types.ts declares. Any other type Wails cannot
// find is still printed: that one would be a real gap in the bindings.
func filterNoise(r io.Reader, w io.Writer) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20) // the struct list is one long line
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "KnownStructs: ") || line == "Not found: time.Time" {
			continue
		}
		fmt.Fprintln(w, line)
	}
	// A line too long to scan: pass the rest on untouched rather than lose it.
	if sc.Err() != nil {
		_, _ = io.Copy(w, r)
	}
}
