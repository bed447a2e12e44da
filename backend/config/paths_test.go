package config

import (
	"errors"
	"path/filepath"
	"testing"
)

func TestDataDir(t *testing.T) {
	home := func() (string, error) { return "/home/ada", nil }
	noHome := func() (string, error) { return "", errors.New("no home") }
	cwd, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		override string
		goos     string
		env      map[string]string
		home     func() (string, error)
		want     string
		wantErr  bool
	}{
		{name: "override wins over IR_HOME", override: "/srv/ir", goos: "linux", env: map[string]string{"IR_HOME": "/other"}, home: home, want: "/srv/ir"},
		{name: "relative override made absolute", override: "data", goos: "linux", home: home, want: filepath.Join(cwd, "data")},
		{name: "IR_HOME wins over XDG", goos: "linux", env: map[string]string{"IR_HOME": "/tmp/irhome", "XDG_DATA_HOME": "/xdg"}, home: home, want: "/tmp/irhome"},
		{name: "linux XDG_DATA_HOME", goos: "linux", env: map[string]string{"XDG_DATA_HOME": "/xdg"}, home: home, want: "/xdg/inference-runtime"},
		{name: "linux relative XDG ignored", goos: "linux", env: map[string]string{"XDG_DATA_HOME": "rel"}, home: home, want: "/home/ada/.local/share/inference-runtime"},
		{name: "linux default", goos: "linux", home: home, want: "/home/ada/.local/share/inference-runtime"},
		{name: "freebsd follows XDG", goos: "freebsd", home: home, want: "/home/ada/.local/share/inference-runtime"},
		{name: "macOS", goos: "darwin", env: map[string]string{"XDG_DATA_HOME": "/xdg"}, home: home, want: "/home/ada/Library/Application Support/Inference Runtime"},
		{name: "windows AppData", goos: "windows", env: map[string]string{"AppData": "/Users/ada/AppData/Roaming"}, home: home, want: filepath.Join("/Users/ada/AppData/Roaming", "Inference Runtime")},
		{name: "windows without AppData", goos: "windows", home: home, wantErr: true},
		{name: "linux without home", goos: "linux", home: noHome, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			got, err := dataDir(tt.override, tt.goos, getenv, tt.home)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("want an error, got %q", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEnsureDataDirHonoursIRHome(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "home")
	t.Setenv(EnvHome, dir)
	got, err := EnsureDataDir("")
	if err != nil {
		t.Fatal(err)
	}
	if got != dir {
		t.Fatalf("got %q, want %q", got, dir)
	}
	if _, err := LoadSettings(got); err != nil {
		t.Fatalf("fresh data dir: %v", err)
	}
}
