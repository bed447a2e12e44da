package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/wailsapp/wails/v2/pkg/options"
	wruntime "github.com/wailsapp/wails/v2/pkg/runtime"
)

// Opening files. `inference-runtime FILE.gguf...` (what a file manager runs
// for a double-click, through the desktop entry's Exec line or xdg-open)
// imports the files with the same progress and notice as a drop on the
// window. One instance runs per data directory: a second start hands its
// arguments to the running one (Wails' SingleInstanceLock, see instanceID)
// and exits, so the model lands in the window that is already open.

// opener holds the files asked for before the frontend can show their
// progress and the library can take them: the first instance's own
// arguments, and any handed over while the window was still loading.
type opener struct {
	mu      sync.Mutex
	ctx     context.Context // the window's, once its page has loaded
	started bool            // the data directory has been opened (or failed to)
	pending []string
}

// openPaths turns command-line arguments into the absolute paths of the
// files to import: file:// URIs (a desktop entry's %U) become paths,
// relative paths are taken from dir (the starting instance's working
// directory), and options (-x, --x) and other URI schemes are skipped.
func openPaths(args []string, dir string) []string {
	var paths []string
	for _, a := range args {
		if a == "" || strings.HasPrefix(a, "-") {
			continue
		}
		if u, err := url.Parse(a); err == nil && len(u.Scheme) > 1 {
			if u.Scheme != "file" || (u.Host != "" && u.Host != "localhost") {
				continue
			}
			a = u.Path
		}
		if !filepath.IsAbs(a) {
			a = filepath.Join(dir, a)
		}
		paths = append(paths, filepath.Clean(a))
	}
	return paths
}

// instanceID names the single-instance lock of a data directory: the app
// started twice on one directory runs once, while a test's app on its own
// temporary directory stays independent of the user's. It is made of
// letters, digits and a dot, so that it is a valid D-Bus name element on
// Linux and a valid object name on Windows.
func instanceID(dataDir string) string {
	if abs, err := filepath.Abs(dataDir); err == nil {
		dataDir = abs
	}
	sum := sha256.Sum256([]byte(dataDir))
	return "inferenceruntime.h" + hex.EncodeToString(sum[:8])
}

// openFiles imports paths as a drop would, or keeps them until the page
// has loaded (the frontend would miss the events before that) and the data
// directory is open.
func (a *App) openFiles(paths []string) {
	if len(paths) == 0 {
		return
	}
	a.open.mu.Lock()
	a.open.pending = append(a.open.pending, paths...)
	a.open.mu.Unlock()
	a.flushOpen()
}

// domReady runs when the window's page has loaded.
func (a *App) domReady(ctx context.Context) {
	a.open.mu.Lock()
	a.open.ctx = ctx
	a.open.mu.Unlock()
	a.flushOpen()
}

// serviceOpened runs once startup has opened the data directory.
func (a *App) serviceOpened() {
	a.open.mu.Lock()
	a.open.started = true
	a.open.mu.Unlock()
	a.flushOpen()
}

// flushOpen imports the files kept so far once both the page and the data
// directory are ready.
func (a *App) flushOpen() {
	a.open.mu.Lock()
	if a.open.ctx == nil || !a.open.started || len(a.open.pending) == 0 {
		if len(a.open.pending) > 0 {
			a.log.Info().Strs("paths", a.open.pending).Msg("files to open once the window has loaded")
		}
		a.open.mu.Unlock()
		return
	}
	paths := a.open.pending
	a.open.pending = nil
	a.open.mu.Unlock()
	a.log.Info().Strs("paths", paths).Msg("files opened")
	a.filesDropped(paths)
}

// secondInstance receives the arguments of a second start of the app on
// the same data directory: the window comes to the front and the files
// named are imported.
func (a *App) secondInstance(d options.SecondInstanceData) {
	a.log.Info().Strs("args", d.Args).Str("dir", d.WorkingDirectory).Msg("second instance")
	a.open.mu.Lock()
	ctx := a.open.ctx
	a.open.mu.Unlock()
	if ctx != nil && ctx.Value("frontend") != nil {
		wruntime.WindowUnminimise(ctx)
		wruntime.WindowShow(ctx)
	}
	a.openFiles(openPaths(d.Args, d.WorkingDirectory))
}

// startArgs are this process's arguments for openPaths and the
// single-instance hand-over.
func startArgs() (args []string, dir string) {
	dir, _ = os.Getwd()
	return os.Args[1:], dir
}
