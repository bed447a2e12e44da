// Package buildinfo describes the running binary: its version, the commit it
// was built from, when, and with which Go toolchain. The desktop app and the
// ir CLI report the same facts from here.
//
// Release builds set Version, Commit and Date with -ldflags
// "-X inferenceruntime/backend/buildinfo.Version=..."; anything left empty is
// filled in from the information the Go toolchain embeds in every binary.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Set at link time with -ldflags -X (see the Makefile). Empty means "ask the
// Go toolchain".
var (
	Version = ""
	Commit  = ""
	Date    = ""
)

// Info is what a binary knows about its own build.
type Info struct {
	Version   string `json:"version"`   // semantic version or "dev"
	Commit    string `json:"commit"`    // VCS revision, "unknown" when not recorded
	Date      string `json:"date"`      // build or commit time (RFC 3339), "unknown" when not recorded
	Modified  bool   `json:"modified"`  // built from a work tree with uncommitted changes
	GoVersion string `json:"goVersion"` // toolchain that compiled the binary
	Platform  string `json:"platform"`  // GOOS/GOARCH
}

// Get returns the build information of the running binary.
func Get() Info {
	info := Info{
		Version:   Version,
		Commit:    Commit,
		Date:      Date,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		fillFromBuildInfo(&info, bi)
	}
	if info.Version == "" {
		info.Version = "dev"
	}
	if info.Commit == "" {
		info.Commit = "unknown"
	}
	if info.Date == "" {
		info.Date = "unknown"
	}
	return info
}

// fillFromBuildInfo completes the fields the linker flags left empty.
func fillFromBuildInfo(info *Info, bi *debug.BuildInfo) {
	if info.Version == "" {
		// "(devel)" is what go build reports for the main module of a work tree.
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			info.Version = strings.TrimPrefix(v, "v")
		}
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if info.Commit == "" {
				info.Commit = s.Value
			}
		case "vcs.time":
			if info.Date == "" {
				info.Date = s.Value
			}
		case "vcs.modified":
			info.Modified = s.Value == "true"
		}
	}
}

// String renders the information as the few lines `ir version` prints.
func (i Info) String() string {
	commit := i.Commit
	if i.Modified {
		commit += " (modified)"
	}
	return fmt.Sprintf("Inference Runtime %s\ncommit:  %s\nbuilt:   %s\ngo:      %s\nplatform: %s\n",
		i.Version, commit, i.Date, i.GoVersion, i.Platform)
}
