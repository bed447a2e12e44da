// Package testproc runs the test binary again as a child process, so that a
// test can kill real work at a random moment (SIGKILL: no deferred code, no
// cleanup) and check what a restart finds.
//
// The child runs one helper test of the same package, which does the work
// when the environment variables the parent set are present and skips
// otherwise.
package testproc

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Run starts the test binary with only the test named helper, with env
// ("KEY=value") added to the environment. When kill is not nil, Run calls
// it once the child has started and kills the child as soon as it returns;
// kill decides the moment (by watching files, time, ...). Run waits for the
// child to end and returns what it wrote to stdout and stderr.
func Run(t testing.TB, helper string, env []string, kill func()) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+helper+"$", "-test.v")
	cmd.Env = append(os.Environ(), env...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out // one writer: exec copies both into it in order
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", helper, err)
	}
	if kill != nil {
		kill()
		_ = cmd.Process.Kill() // it may have ended on its own
	}
	_ = cmd.Wait() // a killed or failed child is what the caller examines
	return out.String()
}
