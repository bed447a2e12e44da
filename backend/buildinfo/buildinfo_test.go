package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestFillFromBuildInfo(t *testing.T) {
	tests := []struct {
		name       string
		preset     Info
		bi         debug.BuildInfo
		wantVer    string
		wantCommit string
		wantDate   string
		wantMod    bool
	}{
		{
			name: "vcs settings fill empty fields",
			bi: debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
				{Key: "vcs.revision", Value: "abc123"},
				{Key: "vcs.time", Value: "2025-01-02T03:04:05Z"},
				{Key: "vcs.modified", Value: "true"},
			}},
			wantVer: "", wantCommit: "abc123", wantDate: "2025-01-02T03:04:05Z", wantMod: true,
		},
		{
			name:   "linker flags win over vcs settings",
			preset: Info{Version: "1.2.3", Commit: "fromldflags", Date: "2024-01-01"},
			bi: debug.BuildInfo{Main: debug.Module{Version: "v9.9.9"}, Settings: []debug.BuildSetting{
				{Key: "vcs.revision", Value: "abc123"},
				{Key: "vcs.time", Value: "2025-01-02T03:04:05Z"},
			}},
			wantVer: "1.2.3", wantCommit: "fromldflags", wantDate: "2024-01-01",
		},
		{
			name:    "module version without v prefix",
			bi:      debug.BuildInfo{Main: debug.Module{Version: "v0.4.0"}},
			wantVer: "0.4.0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := tt.preset
			fillFromBuildInfo(&info, &tt.bi)
			if info.Version != tt.wantVer || info.Commit != tt.wantCommit || info.Date != tt.wantDate || info.Modified != tt.wantMod {
				t.Errorf("got %+v, want version=%q commit=%q date=%q modified=%v", info, tt.wantVer, tt.wantCommit, tt.wantDate, tt.wantMod)
			}
		})
	}
}

func TestGetNeverEmpty(t *testing.T) {
	info := Get()
	if info.Version == "" || info.Commit == "" || info.Date == "" {
		t.Errorf("Get left a field empty: %+v", info)
	}
	if info.GoVersion != runtime.Version() {
		t.Errorf("GoVersion = %q, want %q", info.GoVersion, runtime.Version())
	}
	s := info.String()
	for _, want := range []string{"Inference Runtime " + info.Version, runtime.GOOS + "/" + runtime.GOARCH, runtime.Version()} {
		if !strings.Contains(s, want) {
			t.Errorf("String() = %q, missing %q", s, want)
		}
	}
}
