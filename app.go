package main

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/rs/zerolog"
	wruntime "github.com/wailsapp/wails/v2/pkg/runtime"

	"inferenceruntime/backend/buildinfo"
	"inferenceruntime/backend/config"
	"inferenceruntime/backend/db"
)

// EventFilesDropped carries the absolute paths of files dropped on the
// window ([]string) to the frontend.
const EventFilesDropped = "files:dropped"

// App is the facade the frontend calls through the generated bindings. Each
// bound method returns (T, error); the error becomes a rejected promise in
// the frontend. Real work belongs in the backend packages, not here.
type App struct {
	ctx     context.Context
	dataDir string
	log     zerolog.Logger

	mu    sync.Mutex // guards db, dbErr and settings writes
	db    *sql.DB
	dbErr error
}

// NewApp returns an App keeping its data in dataDir.
func NewApp(dataDir string, log zerolog.Logger) *App {
	return &App{dataDir: dataDir, log: log}
}

// startup runs once the window exists. A database that cannot be opened
// does not stop the app: Status reports the reason so the UI can show it.
func (a *App) startup(ctx context.Context) {
	a.ctx = ctx
	a.openDatabase()
	wruntime.OnFileDrop(ctx, func(x, y int, paths []string) {
		a.log.Info().Strs("paths", paths).Msg("files dropped")
		wruntime.EventsEmit(ctx, EventFilesDropped, paths)
	})
}

func (a *App) openDatabase() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.db, a.dbErr = db.Open(config.DatabasePath(a.dataDir))
	if a.dbErr != nil {
		a.log.Error().Err(a.dbErr).Msg("open database")
	}
}

// shutdown runs after the window closed.
func (a *App) shutdown(context.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.db != nil {
		if err := a.db.Close(); err != nil {
			a.log.Error().Err(err).Msg("close database")
		}
		a.db = nil
	}
}

// Version returns the build information of the running app.
func (a *App) Version() (buildinfo.Info, error) {
	return buildinfo.Get(), nil
}

// Status describes the app's health for the About panel and error banners.
type Status struct {
	DataDir       string `json:"dataDir"`
	SchemaVersion int    `json:"schemaVersion"`
	// DatabaseError is why the database could not be opened ("" when it is fine).
	DatabaseError string `json:"databaseError"`
}

// Status reports where the data lives and whether the database opened.
func (a *App) Status() (Status, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := Status{DataDir: a.dataDir, SchemaVersion: db.SchemaVersion()}
	if a.dbErr != nil {
		s.DatabaseError = a.dbErr.Error()
	}
	return s, nil
}

// GetSettings returns the saved settings (the defaults on first run).
func (a *App) GetSettings() (config.Settings, error) {
	return config.LoadSettings(a.dataDir)
}

// SaveSettings validates and stores s, returning what was stored.
func (a *App) SaveSettings(s config.Settings) (config.Settings, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := config.SaveSettings(a.dataDir, s); err != nil {
		return config.Settings{}, err
	}
	saved, err := config.LoadSettings(a.dataDir)
	if err != nil {
		return config.Settings{}, fmt.Errorf("read back settings: %w", err)
	}
	a.log.Info().Str("theme", saved.Theme).Bool("api", saved.API.Enabled).Msg("settings saved")
	return saved, nil
}
