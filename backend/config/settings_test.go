package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLoadMissingGivesDefaults(t *testing.T) {
	s, err := LoadSettings(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s, Defaults()) {
		t.Errorf("got %+v, want defaults %+v", s, Defaults())
	}
	if s.API.Enabled || s.API.Port != DefaultAPIPort || s.Theme != "system" {
		t.Errorf("unexpected defaults: %+v", s)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "created-on-save")
	want := Defaults()
	want.API.Enabled = true
	want.API.Port = 8080
	want.API.AllowedOrigins = []string{"http://localhost:3000"}
	want.API.APIKey = "secret"
	want.Threads = 6
	want.Backend = "cpu"
	want.ContextLength = 8192
	want.Theme = "dark"
	if err := SaveSettings(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := LoadSettings(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip: got %+v, want %+v", got, want)
	}
	fi, err := os.Stat(SettingsPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("settings file mode %v, want 0600 (it holds the API key)", perm)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestLoadPartialFileKeepsDefaults(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(SettingsPath(dir), []byte(`{"theme":"light","api":{"enabled":true}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := LoadSettings(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	want.Theme = "light"
	want.API.Enabled = true
	if !reflect.DeepEqual(s, want) {
		t.Errorf("got %+v, want %+v", s, want)
	}
}

func TestLoadBadFiles(t *testing.T) {
	tests := []struct {
		name, content, wantErr string
	}{
		{"not json", "{theme: dark", "not valid JSON"},
		{"wrong type", `{"threads":"many"}`, "not valid JSON"},
		{"bad port", `{"api":{"port":70000}}`, "api port 70000"},
		{"bad theme", `{"theme":"purple"}`, `theme "purple"`},
		{"bad backend", `{"backend":"tpu"}`, `backend "tpu"`},
		{"negative threads", `{"threads":-1}`, "threads -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(SettingsPath(dir), []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := LoadSettings(dir)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), SettingsPath(dir)) {
				t.Fatalf("err = %v, want it to mention %q and the file", err, tt.wantErr)
			}
			if !reflect.DeepEqual(s, Defaults()) {
				t.Errorf("on error got %+v, want defaults", s)
			}
		})
	}
}

func TestSaveRejectsInvalid(t *testing.T) {
	dir := t.TempDir()
	good := Defaults()
	if err := SaveSettings(dir, good); err != nil {
		t.Fatal(err)
	}
	bad := Defaults()
	bad.API.Port = 0
	if err := SaveSettings(dir, bad); err == nil {
		t.Fatal("saving port 0 succeeded")
	}
	got, err := LoadSettings(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, good) {
		t.Errorf("a rejected save changed the file: %+v", got)
	}
}

func TestWriteFileAtomicReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.json")
	for _, content := range []string{"first", "second, longer content", "3"} {
		if err := WriteFileAtomic(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != content {
			t.Errorf("got %q, want %q", got, content)
		}
	}
	if err := WriteFileAtomic(filepath.Join(t.TempDir(), "missing", "f"), []byte("x"), 0o644); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
}

// TestGPULayersSetting: the device picker's GPU layers take what
// --gpu-layers does; settings without the field are automatic.
func TestGPULayersSetting(t *testing.T) {
	for _, v := range []string{"", "auto", "all", "0", "12"} {
		s := Defaults()
		s.GPULayers = v
		if err := s.Validate(); err != nil {
			t.Errorf("%q: %v", v, err)
		}
	}
	for _, v := range []string{"-1", "some", "1.5"} {
		s := Defaults()
		s.GPULayers = v
		if err := s.Validate(); err == nil {
			t.Errorf("%q accepted", v)
		}
	}
	if d := Defaults(); d.GPULayers != "auto" || d.Device != "" {
		t.Errorf("defaults: %q %q", d.GPULayers, d.Device)
	}
}
