// Package testshared locates the reference data that tests read from the
// folder "shared" beside the repository (../shared from the directory
// holding go.mod). The data is large and not part of the repository, so
// tests that need it skip when it is absent.
package testshared

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the path of ../shared/<rel...> (relative to the repository
// root) and skips the test, naming the path it looked for, when that path
// does not exist.
func Dir(t testing.TB, rel ...string) string {
	t.Helper()
	p, err := Find(rel...)
	if err != nil {
		t.Skipf("shared test data not available: %v", err)
	}
	return p
}

// Find returns the path of ../shared/<rel...> (relative to the repository
// root), or an error naming what is missing. It is for tests that can go on
// without the data.
func Find(rel ...string) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	p := filepath.Join(append([]string{root, "..", "shared"}, rel...)...)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s is absent (../shared is looked for next to the repository root %s)", p, root)
	}
	return p, nil
}

// repoRoot walks up from the working directory (a test's package
// directory) to the directory holding go.mod.
func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("locate ../shared: %w", err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", errors.New("no go.mod above " + wd + ", so ../shared cannot be located")
		}
	}
}
