//go:build linux && !bindings

package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWebviewDataStaysInTheDataFolder(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", "/home/ada/.local/share")
	t.Setenv("XDG_CACHE_HOME", "") // restored after the test
	os.Unsetenv("XDG_CACHE_HOME")
	// Nothing is written there. GLib keeps its answer for the life of the
	// process, so every run of the test (-count=N) asks for the same folder.
	dir := filepath.Join(os.TempDir(), "ir-webview-test")
	if err := keepWebviewData(dir); err != nil {
		t.Fatal(err)
	}
	data, cache := glibUserDirs()
	if data != filepath.Join(dir, "data") || cache != filepath.Join(dir, "cache") {
		t.Errorf("WebKit would store into %s and %s, not under %s", data, cache, dir)
	}
	if got := os.Getenv("XDG_DATA_HOME"); got != "/home/ada/.local/share" {
		t.Errorf("XDG_DATA_HOME is %q afterwards; programs the app starts need the user's own", got)
	}
	if got, set := os.LookupEnv("XDG_CACHE_HOME"); set {
		t.Errorf("XDG_CACHE_HOME is set afterwards (%q); it was not before", got)
	}
}
