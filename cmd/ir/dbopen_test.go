package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"inferenceruntime/backend/config"
	"inferenceruntime/backend/db"
)

// dbOpenChildEnv makes a re-executed test binary run main() with the
// arguments in the variable (separated by \x1f), to observe exit code and
// stderr.
const dbOpenChildEnv = "IR_TEST_MAIN_ARGS"

// TestDBOpenChild is the child side of runIR; it does nothing in a normal run.
func TestDBOpenChild(t *testing.T) {
	args := os.Getenv(dbOpenChildEnv)
	if args == "" {
		t.Skip("only runs as the child process of runIR")
	}
	os.Args = append([]string{"ir"}, strings.Split(args, "\x1f")...)
	main()
	os.Exit(0)
}

// runIR runs `ir args...` in a child process and returns its stderr and exit code.
func runIR(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDBOpenChild$")
	cmd.Env = append(os.Environ(), dbOpenChildEnv+"="+strings.Join(args, "\x1f"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return stderr.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return stderr.String(), 0
}

// A damaged or too-new database must end ir with a message naming the file
// and exit status 1, not a panic (which would exit 2 with a stack trace).
func TestUnusableDatabaseIsAClearError(t *testing.T) {
	tests := []struct {
		name    string
		content []byte
		want    string
	}{
		{"not a database", bytes.Repeat([]byte("garbage "), 512), "is corrupt: file is not a database"},
		{"empty header page", append([]byte("SQLite format 3\x00"), make([]byte, 4080)...), "is corrupt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			path := config.DatabasePath(home)
			if err := os.WriteFile(path, tt.content, 0o600); err != nil {
				t.Fatal(err)
			}
			checkListFails(t, home, tt.want)
		})
	}
}

func TestNewerDatabaseIsAClearError(t *testing.T) {
	home := t.TempDir()
	d, err := db.Open(config.DatabasePath(home))
	if err != nil {
		t.Fatal(err)
	}
	future := db.SchemaVersion() + 1
	if _, err := d.Exec(fmt.Sprintf("PRAGMA user_version = %d", future)); err != nil {
		t.Fatal(err)
	}
	d.Close()
	checkListFails(t, home, fmt.Sprintf("was written by a newer version (schema %d > %d)", future, db.SchemaVersion()))
}

// checkListFails runs `ir list` on home and expects exit status 1 and a
// message about the database containing want.
func checkListFails(t *testing.T, home, want string) {
	t.Helper()
	path := config.DatabasePath(home)
	stderr, code := runIR(t, "--home", home, "list")
	if code != 1 {
		t.Errorf("exit code %d, want 1; stderr:\n%s", code, stderr)
	}
	prefix := "ir: database " + filepath.Clean(path) + " "
	if !strings.HasPrefix(stderr, prefix) || !strings.Contains(stderr, want) || strings.Contains(stderr, "panic") {
		t.Errorf("stderr = %q, want %q...%q", stderr, prefix, want)
	}
}
