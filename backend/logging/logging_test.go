package logging

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

func TestFileGetsJSONLines(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs")
	var console bytes.Buffer
	log, closer, err := New(Options{Dir: dir, Name: "test", Console: true, ConsoleOut: &console, Level: zerolog.InfoLevel})
	if err != nil {
		t.Fatal(err)
	}
	log.Debug().Msg("hidden below the level")
	log.Info().Str("model", "tiny").Int("tokens", 7).Msg("loaded")
	log.Error().Msg("second line")
	if err := closer.Close(); err != nil {
		t.Fatal(err)
	}

	f, err := os.Open(filepath.Join(dir, "test.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2: %v", len(lines), lines)
	}
	first := lines[0]
	if first["message"] != "loaded" || first["level"] != "info" || first["model"] != "tiny" || first["tokens"] != float64(7) || first["program"] != "test" || first["time"] == nil {
		t.Errorf("first line = %v", first)
	}
	if c := console.String(); !strings.Contains(c, "loaded") || strings.Contains(c, `{"`) {
		t.Errorf("console output should be human-readable, got %q", c)
	}
}

func TestConsoleOnlyAndErrors(t *testing.T) {
	var console bytes.Buffer
	log, closer, err := New(Options{Name: "cli", Console: true, ConsoleOut: &console, Level: zerolog.DebugLevel})
	if err != nil {
		t.Fatal(err)
	}
	log.Debug().Msg("visible")
	closer.Close()
	if !strings.Contains(console.String(), "visible") {
		t.Errorf("console = %q", console.String())
	}

	if _, _, err := New(Options{Dir: t.TempDir()}); err == nil {
		t.Error("a file logger without a name was accepted")
	}
	blocker := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocker, nil, 0o600)
	if _, _, err := New(Options{Dir: filepath.Join(blocker, "logs"), Name: "x"}); err == nil {
		t.Error("a log directory under a regular file was accepted")
	}
}
