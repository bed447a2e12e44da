//go:build !bindings

// Inference Runtime's desktop app: a Wails window over the same backend the
// ir CLI uses. main wires the pieces together; App (app.go) is the facade
// the frontend calls. Builds with -tags bindings have their own main
// (bindings.go).
package main

import (
	"embed"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rs/zerolog"
	"github.com/wailsapp/wails/v2"
	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/options/assetserver"
	"github.com/wailsapp/wails/v2/pkg/options/linux"
	"github.com/wailsapp/wails/v2/pkg/options/mac"
	"github.com/wailsapp/wails/v2/pkg/options/windows"

	"inferenceruntime/backend/buildinfo"
	"inferenceruntime/backend/config"
	"inferenceruntime/backend/logging"
)

// The built frontend (npm run build). "all:" also accepts the committed
// placeholder, so Go builds and tests work before the frontend is built.
//
//go:embed all:frontend/dist
var assets embed.FS

//go:embed build/appicon.png
var icon []byte

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "inference-runtime:", err)
		os.Exit(1)
	}
}

func run() error {
	dataDir, err := config.EnsureDataDir("")
	if err != nil {
		return err
	}
	// A second start on the same data directory hands its files to the
	// running instance and ends here, before it opens anything there, the
	// log included (Wails' lock below does the same, but only after this
	// process has opened the data directory).
	args, cwd := startArgs()
	handedOff, handOffErr := handOff(instanceID(dataDir), args, cwd)
	if handedOff {
		return nil
	}
	level := zerolog.InfoLevel
	if devBuild {
		level = zerolog.DebugLevel
	}
	log, closeLog, err := logging.New(logging.Options{
		Dir:     config.LogsPath(dataDir),
		Name:    "desktop",
		Console: devBuild,
		Level:   level,
	})
	if err != nil {
		return err
	}
	defer closeLog.Close()
	info := buildinfo.Get()
	log.Info().Str("version", info.Version).Str("commit", info.Commit).Str("dataDir", dataDir).Msg("starting")
	webviewDir := filepath.Join(dataDir, "webview")
	if err := keepWebviewData(webviewDir); err != nil {
		log.Warn().Err(err).Msg("web view data")
	}

	if handOffErr != nil {
		log.Warn().Err(handOffErr).Msg("hand over to the running instance; starting another")
	}

	app := NewApp(dataDir, log)
	app.openFiles(openPaths(args, cwd))
	err = wails.Run(&options.App{
		Title:     "Inference Runtime",
		Width:     1100,
		Height:    720,
		MinWidth:  720,
		MinHeight: 480,
		AssetServer: &assetserver.Options{
			Assets: assets,
		},
		// Matches the dark theme's background so the first frame does not flash.
		BackgroundColour: &options.RGBA{R: 0x1b, G: 0x1d, B: 0x22, A: 0xff},
		OnStartup:        app.startup,
		OnShutdown:       app.shutdown,
		OnDomReady:       app.domReady,
		SingleInstanceLock: &options.SingleInstanceLock{
			UniqueId:               instanceID(dataDir),
			OnSecondInstanceLaunch: app.secondInstance,
		},
		DragAndDrop: &options.DragAndDrop{EnableFileDrop: true},
		Logger:      wailsLogger{log},
		Bind:        []any{app},
		Linux: &linux.Options{
			Icon:        icon,
			ProgramName: "inference-runtime",
			// Hardware compositing gives blank windows on many Linux GPU
			// stacks and under Xvfb; the UI needs none of it.
			WebviewGpuPolicy: linux.WebviewGpuPolicyNever,
		},
		Windows: &windows.Options{WebviewUserDataPath: webviewDir},
		Mac: &mac.Options{
			About: &mac.AboutInfo{Title: "Inference Runtime", Message: "Version " + info.Version, Icon: icon},
			// A .gguf opened from the Finder (CFBundleDocumentTypes in Info.plist).
			OnFileOpen: func(path string) { app.openFiles([]string{path}) },
		},
	})
	if err != nil {
		log.Error().Err(err).Msg("wails")
		return err
	}
	return nil
}

// wailsLogger sends Wails' own log lines into our log file.
type wailsLogger struct{ l zerolog.Logger }

func (w wailsLogger) Print(m string)   { w.l.Info().Str("from", "wails").Msg(m) }
func (w wailsLogger) Trace(m string)   { w.l.Trace().Str("from", "wails").Msg(m) }
func (w wailsLogger) Debug(m string)   { w.l.Debug().Str("from", "wails").Msg(m) }
func (w wailsLogger) Info(m string)    { w.l.Info().Str("from", "wails").Msg(m) }
func (w wailsLogger) Warning(m string) { w.l.Warn().Str("from", "wails").Msg(m) }
func (w wailsLogger) Error(m string)   { w.l.Error().Str("from", "wails").Msg(m) }
func (w wailsLogger) Fatal(m string)   { w.l.Error().Str("from", "wails").Msg("fatal: " + m) }
