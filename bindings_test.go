package main

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The bindings generator runs on every build (make bindings); it must write
// frontend/wailsjs and nothing else: no data folder, no log, no WebKit
// files in the user's home, and no noise on the terminal.
func TestBindingsGeneratorTouchesNoDataAndPrintsNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the generator")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "wailsbindings")
	build := exec.Command("go", "build", "-buildvcs=false", "-tags", "bindings,sqlite_fts5", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the generator: %v\n%s", err, out)
	}

	// Wails writes the bindings under the folder of wails.json, the working
	// directory; a copy keeps the test away from the real frontend/wailsjs.
	project := filepath.Join(tmp, "project")
	home := filepath.Join(tmp, "home")
	for _, d := range []string{project, home} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	config, err := os.ReadFile("wails.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(project, "wails.json"), config, 0o644); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(bin)
	cmd.Dir = project
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "HOME", "IR_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME":
		default:
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "HOME="+home)
	// Its stdout, a trace of every type converted, goes to a log file in
	// make bindings; stderr reaches the terminal.
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("generator: %v\n%s", err, stderr.String())
	}
	if s := stderr.String(); s != "" {
		t.Errorf("the generator printed on stderr:\n%.2000s", s)
	}
	if _, err := os.Stat(filepath.Join(project, "frontend", "wailsjs", "go", "main", "App.d.ts")); err != nil {
		t.Errorf("no bindings written: %v", err)
	}
	_ = filepath.WalkDir(home, func(path string, d fs.DirEntry, err error) error {
		if path != home {
			t.Errorf("the generator created %s", path)
		}
		return err
	})
}
