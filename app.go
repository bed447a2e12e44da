package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"
	wruntime "github.com/wailsapp/wails/v2/pkg/runtime"

	"inferenceruntime/backend/buildinfo"
	"inferenceruntime/backend/config"
	"inferenceruntime/backend/db"
	"inferenceruntime/backend/events"
	"inferenceruntime/backend/httpapi"
	"inferenceruntime/backend/service"
)

// EventFilesDropped carries the absolute paths of files dropped on the
// window ([]string) to the frontend.
const EventFilesDropped = "files:dropped"

// EventAPIStatus carries an APIStatus whenever the local API starts or stops.
const EventAPIStatus = "api:status"

// App is the facade the frontend calls through the generated bindings. Each
// bound method returns (T, error); the error becomes a rejected promise in
// the frontend. Token streams and progress reach the frontend as events
// (service.TopicChat, service.TopicModelLoad, events.TopicProgress,
// events.TopicLibrary). Real work belongs in backend/service, not here.
type App struct {
	ctx     context.Context
	dataDir string
	log     zerolog.Logger
	emit    events.Emitter
	open    opener // files to import from the command line (app_open.go)

	mu     sync.Mutex // guards everything below and settings writes
	svc    *service.Service
	svcErr error // why the data directory could not be opened
	runner *service.Runner
	chats  *service.Chats
	api    *httpapi.Server
	apiErr error // why the API did not start
}

// NewApp returns an App keeping its data in dataDir.
func NewApp(dataDir string, log zerolog.Logger) *App {
	return &App{dataDir: dataDir, log: log, emit: events.Nop{}}
}

// startup runs once the window exists. A database that cannot be opened
// does not stop the app: Status reports the reason so the UI can show it.
func (a *App) startup(ctx context.Context) {
	a.ctx = ctx
	a.emit = events.NewWails(ctx, wruntime.EventsEmit)
	a.openService(ctx)
	a.serviceOpened()
	wruntime.OnFileDrop(ctx, func(x, y int, paths []string) { a.filesDropped(paths) })
	devStartup(a)
}

// openService opens the data directory (database, library, store, chat
// history), resumes interrupted downloads and starts the API if enabled.
func (a *App) openService(ctx context.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	settings, err := config.LoadSettings(a.dataDir)
	if err != nil {
		a.log.Error().Err(err).Msg("load settings; using defaults")
		settings = config.Defaults()
	}
	a.svc, a.svcErr = service.Open(ctx, service.Options{Home: a.dataDir, Emitter: a.emit, ResumeDownloads: true})
	if a.svcErr != nil {
		a.log.Error().Err(a.svcErr).Msg("open data directory")
		a.svc = nil
		return
	}
	a.runner = a.newRunner(settings)
	if a.chats, a.svcErr = a.svc.NewChats(ctx, a.runner); a.svcErr != nil {
		a.log.Error().Err(a.svcErr).Msg("open chat history")
		a.svc.Close()
		a.svc, a.runner = nil, nil
		return
	}
	if settings.API.Enabled {
		a.startAPILocked(settings)
	}
}

// newRunner makes the runner for the inference settings. The app's chats
// and its local API share it, so a model is loaded once.
func (a *App) newRunner(s config.Settings) *service.Runner {
	backend := s.Backend
	if backend == "auto" {
		backend = ""
	}
	parallel := s.Parallel
	if parallel == 0 {
		// One person chats; the API's clients decode in the same batch.
		parallel = max(2, service.AutoParallel())
	}
	layers, err := service.ParseGPULayers(s.GPULayers)
	if err != nil { // validated when saved: only a hand-edited file gets here
		layers = service.GPULayersAuto
	}
	device := s.Device
	if backend == "" || backend == "cpu" {
		device = ""
	}
	return a.svc.NewRunner(false, service.RunnerOptions{
		Backend: backend, Device: device, GPULayers: layers, Threads: s.Threads, ContextLength: s.ContextLength, Parallel: parallel,
		KVType: s.KVType,
	})
}

func inferenceChanged(a, b config.Settings) bool {
	return a.Threads != b.Threads || a.Backend != b.Backend || a.ContextLength != b.ContextLength || a.Parallel != b.Parallel ||
		a.Device != b.Device || a.GPULayers != b.GPULayers ||
		a.KVType != b.KVType
}

// shutdown runs after the window closed: replies are saved as stopped,
// the API drains, downloads pause (they continue at the next start).
func (a *App) shutdown(context.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.chats != nil {
		a.chats.Close()
	}
	a.stopAPILocked()
	if a.runner != nil {
		a.runner.Close()
	}
	if a.svc != nil {
		if err := a.svc.Close(); err != nil {
			a.log.Error().Err(err).Msg("close data directory")
		}
	}
	a.svc, a.chats, a.runner = nil, nil, nil
}

// errNoData is returned by calls that need the database when it could not
// be opened.
var errNoData = errors.New("the data directory is not available")

// service returns the open service, or why there is none.
func (a *App) service() (*service.Service, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.svc == nil {
		if a.svcErr != nil {
			return nil, fmt.Errorf("%w: %v", errNoData, a.svcErr)
		}
		return nil, errNoData
	}
	return a.svc, nil
}

// chatService returns the chat use-case, or why there is none.
func (a *App) chatService() (*service.Chats, error) {
	if _, err := a.service(); err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.chats, nil
}

// context returns the app's context (Background before start-up, in tests).
func (a *App) context() context.Context {
	if a.ctx == nil {
		return context.Background()
	}
	return a.ctx
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
	if a.svcErr != nil {
		s.DatabaseError = a.svcErr.Error()
	}
	return s, nil
}

// GetSettings returns the saved settings (the defaults on first run).
func (a *App) GetSettings() (config.Settings, error) {
	return config.LoadSettings(a.dataDir)
}

// SaveSettings validates and stores s, returning what was stored. Changes
// apply at once: the API starts, stops or restarts; new threads, backend or
// context length give new replies (and the API) a new runner.
func (a *App) SaveSettings(s config.Settings) (config.Settings, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	old, err := config.LoadSettings(a.dataDir)
	if err != nil {
		old = config.Defaults()
	}
	if err := config.SaveSettings(a.dataDir, s); err != nil {
		return config.Settings{}, err
	}
	saved, err := config.LoadSettings(a.dataDir)
	if err != nil {
		return config.Settings{}, fmt.Errorf("read back settings: %w", err)
	}
	a.log.Info().Str("theme", saved.Theme).Bool("api", saved.API.Enabled).Msg("settings saved")
	runnerChanged := false
	if inferenceChanged(old, saved) && a.svc != nil && a.chats != nil {
		// New replies use the new settings; replies streaming now finish on
		// the old runner, which then unloads its models.
		prev := a.runner
		a.runner = a.newRunner(saved)
		a.chats.SetRunner(a.runner)
		prev.Close()
		runnerChanged = true
	}
	if apiChanged(old, saved) || runnerChanged || saved.API.Enabled && a.api == nil {
		a.stopAPILocked()
		if saved.API.Enabled {
			a.startAPILocked(saved)
		}
		a.emit.Emit(EventAPIStatus, a.apiStatusLocked())
	}
	return saved, nil
}

func apiChanged(a, b config.Settings) bool {
	if a.API.Enabled != b.API.Enabled || a.API.Port != b.API.Port || a.API.APIKey != b.API.APIKey ||
		len(a.API.AllowedOrigins) != len(b.API.AllowedOrigins) {
		return true
	}
	for i := range a.API.AllowedOrigins {
		if a.API.AllowedOrigins[i] != b.API.AllowedOrigins[i] {
			return true
		}
	}
	return false
}

// APIStatus says whether the local API runs and where.
type APIStatus struct {
	Enabled bool   `json:"enabled"`
	Running bool   `json:"running"`
	URL     string `json:"url"`
	Error   string `json:"error"`
}

// APIStatus reports the local API's state.
func (a *App) APIStatus() (APIStatus, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.apiStatusLocked(), nil
}

func (a *App) apiStatusLocked() APIStatus {
	st := APIStatus{Enabled: a.api != nil || a.apiErr != nil}
	if a.apiErr != nil {
		st.Error = a.apiErr.Error()
	}
	if a.api != nil {
		s := a.api.Status()
		st.Running, st.URL = s.Running, s.URL
		if s.Error != "" {
			st.Error = s.Error
		}
	}
	return st
}

func (a *App) startAPILocked(s config.Settings) {
	a.apiErr = nil
	if a.svc == nil {
		a.apiErr = errNoData
		return
	}
	cfg := httpapi.ConfigFromSettings(s)
	cfg.Logger = a.log.With().Str("from", "api").Logger()
	srv, err := httpapi.New(cfg, a.svc, a.runner)
	if err == nil {
		err = srv.Start()
	}
	if err != nil {
		a.apiErr = fmt.Errorf("start the local API: %w", err)
		a.log.Error().Err(err).Msg("start api")
		return
	}
	a.api = srv
	a.log.Info().Str("url", srv.URL()).Msg("api started")
}

func (a *App) stopAPILocked() {
	a.apiErr = nil
	if a.api == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.api.Shutdown(ctx); err != nil {
		a.log.Warn().Err(err).Msg("stop api")
	}
	a.api = nil
}

// OpenURL opens an http(s) link in the system browser; any other scheme is
// refused (links in model output must not reach file: or custom handlers).
func (a *App) OpenURL(url string) (bool, error) {
	if err := checkExternalURL(url); err != nil {
		return false, err
	}
	if a.ctx == nil {
		return false, errors.New("no window")
	}
	wruntime.BrowserOpenURL(a.ctx, url)
	return true, nil
}
