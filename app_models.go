package main

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
	wruntime "github.com/wailsapp/wails/v2/pkg/runtime"

	"inferenceruntime/backend/events"
	"inferenceruntime/backend/library"
	"inferenceruntime/backend/modelstore"
	"inferenceruntime/backend/service"
)

// Model library, store and downloads. Imports and downloads report through
// events.TopicProgress; library changes through events.TopicLibrary.

// ModelCard is a model as the Models view shows it.
type ModelCard struct {
	*library.Model
	Fit    library.Fit `json:"fit"`
	Loaded bool        `json:"loaded"`
	// Where a loaded model runs, from the runner: the device ("cpu",
	// "vulkan0", "vulkan0+cpu") and GPULayers of its Layers blocks there.
	Device    string `json:"device"`
	GPULayers int    `json:"gpuLayers"`
	Layers    int    `json:"layers"`
}

// ListModels returns the installed models with their fit estimates.
func (a *App) ListModels() ([]ModelCard, error) {
	svc, err := a.service()
	if err != nil {
		return nil, err
	}
	ctx := a.context()
	models, err := svc.ListModels(ctx)
	if err != nil {
		return nil, err
	}
	loaded := map[string]service.LoadedModel{}
	a.mu.Lock()
	if a.runner != nil {
		for _, m := range a.runner.Loaded() {
			loaded[m.Ref.ID] = m
		}
	}
	a.mu.Unlock()
	cards := make([]ModelCard, 0, len(models))
	for _, m := range models {
		card := ModelCard{Model: m}
		if l, ok := loaded[m.ID]; ok {
			card.Loaded, card.Device, card.GPULayers, card.Layers = true, l.Device, l.GPULayers, l.Layers
		}
		if fit, err := svc.ModelFit(ctx, m.ID, 0); err == nil {
			card.Fit = fit
		}
		cards = append(cards, card)
	}
	return cards, nil
}

// ImportStarted names the progress events of one file's import.
type ImportStarted struct {
	ID   string `json:"id"`
	Path string `json:"path"`
	Name string `json:"name"`
}

// ImportModels imports files into the library in the background, one
// after the other; each reports events.Progress with its ID (kind
// "import"), ending in state "done" or "failed" with the reason.
func (a *App) ImportModels(paths []string) ([]ImportStarted, error) {
	svc, err := a.service()
	if err != nil {
		return nil, err
	}
	started := make([]ImportStarted, 0, len(paths))
	for _, p := range paths {
		st := ImportStarted{ID: uuid.NewString(), Path: p, Name: filepath.Base(p)}
		started = append(started, st)
		a.emit.Emit(events.TopicProgress, events.Progress{ID: st.ID, Kind: "import", Name: st.Name, State: "queued"})
	}
	go func() {
		for _, st := range started {
			a.importOne(svc, st)
		}
	}()
	return started, nil
}

func (a *App) importOne(svc *service.Service, st ImportStarted) {
	res, err := svc.ImportModel(a.context(), st.Path, library.ImportOptions{ProgressID: st.ID})
	p := events.Progress{ID: st.ID, Kind: "import", Name: st.Name, State: "done"}
	if err != nil {
		p.State, p.Error = "failed", importError(err)
		a.log.Warn().Err(err).Str("path", st.Path).Msg("import")
	} else {
		p.Name = res.Model.Name
		a.log.Info().Str("path", st.Path).Str("model", res.Model.Name).Bool("existing", res.Existing).Msg("import")
	}
	a.emit.Emit(events.TopicProgress, p)
}

// importError explains an import failure in a sentence.
func importError(err error) string {
	if errors.Is(err, library.ErrInvalidGGUF) {
		return "not a valid GGUF model file: " + err.Error()
	}
	return err.Error()
}

// ChooseAndImport opens a file dialog for GGUF files and imports the
// chosen ones (see ImportModels).
func (a *App) ChooseAndImport() ([]ImportStarted, error) {
	if a.ctx == nil {
		return nil, errors.New("no window")
	}
	paths, err := wruntime.OpenMultipleFilesDialog(a.ctx, wruntime.OpenDialogOptions{
		Title:   "Import models",
		Filters: []wruntime.FileFilter{{DisplayName: "GGUF models (*.gguf)", Pattern: "*.gguf"}, {DisplayName: "All files", Pattern: "*"}},
	})
	if err != nil || len(paths) == 0 {
		return []ImportStarted{}, err
	}
	return a.ImportModels(paths)
}

// filesDropped handles files dropped on the window: GGUF imports start at
// once and the frontend hears of them.
func (a *App) filesDropped(paths []string) {
	a.log.Info().Strs("paths", paths).Msg("files dropped")
	images, paths := splitDrop(paths)
	if len(images) > 0 {
		a.emit.Emit(EventImagesDropped, images)
	}
	if len(paths) == 0 {
		return
	}
	a.emit.Emit(EventFilesDropped, paths)
	started, err := a.ImportModels(paths)
	if err != nil {
		a.log.Error().Err(err).Msg("import dropped files")
		return
	}
	a.emit.Emit(EventImportsStarted, started)
}

// EventImportsStarted carries the []ImportStarted of a file drop.
const EventImportsStarted = "imports:started"

// DeleteModel removes a model name (the model goes with its last name).
func (a *App) DeleteModel(name string) (library.RemoveResult, error) {
	svc, err := a.service()
	if err != nil {
		return library.RemoveResult{}, err
	}
	a.mu.Lock()
	r := a.runner
	a.mu.Unlock()
	if r != nil {
		_, _ = r.Unload(a.context(), name)
	}
	return svc.RemoveModel(a.context(), name)
}

// AddAlias gives a model another name.
func (a *App) AddAlias(model, alias string) (*library.Model, error) {
	svc, err := a.service()
	if err != nil {
		return nil, err
	}
	return svc.CopyModel(a.context(), model, strings.TrimSpace(alias))
}

// Folders lists the library folders (models indexed where they lie).
func (a *App) Folders() ([]library.Folder, error) {
	svc, err := a.service()
	if err != nil {
		return nil, err
	}
	return svc.Folders(a.context())
}

// ChooseFolder opens a folder dialog and adds the chosen folder ("" when
// cancelled; the report says what the scan found).
func (a *App) ChooseFolder() (library.ScanReport, error) {
	if a.ctx == nil {
		return library.ScanReport{}, errors.New("no window")
	}
	dir, err := wruntime.OpenDirectoryDialog(a.ctx, wruntime.OpenDialogOptions{Title: "Add a library folder"})
	if err != nil || dir == "" {
		return library.ScanReport{}, err
	}
	return a.AddFolder(dir)
}

// AddFolder indexes the GGUF files of a folder in place.
func (a *App) AddFolder(path string) (library.ScanReport, error) {
	svc, err := a.service()
	if err != nil {
		return library.ScanReport{}, err
	}
	_, rep, err := svc.AddFolder(a.context(), path)
	return rep, err
}

// RemoveFolder forgets a library folder and the models found there.
func (a *App) RemoveFolder(path string) (bool, error) {
	svc, err := a.service()
	if err != nil {
		return false, err
	}
	if err := svc.RemoveFolder(a.context(), path); err != nil {
		return false, err
	}
	return true, nil
}

// RescanFolders looks for new, missing and returning files.
func (a *App) RescanFolders() (library.ScanReport, error) {
	svc, err := a.service()
	if err != nil {
		return library.ScanReport{}, err
	}
	return svc.Rescan(a.context())
}

// StoreList returns the catalog filtered by search, with sizes, fit
// estimates and what is installed.
func (a *App) StoreList(search string) ([]service.StoreEntry, error) {
	svc, err := a.service()
	if err != nil {
		return nil, err
	}
	return svc.StoreList(a.context(), search, 0)
}

// RecommendedModel returns the catalog model to offer when none is
// installed, chosen for this machine's free memory, and whether the store
// can be reached right now.
func (a *App) RecommendedModel() (service.Recommendation, error) {
	svc, err := a.service()
	if err != nil {
		return service.Recommendation{}, err
	}
	return svc.Recommend(a.context())
}

// Pull starts a download (catalog "id:QUANT", "org/repo:QUANT" or a URL).
func (a *App) Pull(ref string) (service.PullResult, error) {
	svc, err := a.service()
	if err != nil {
		return service.PullResult{}, err
	}
	return svc.Pull(a.context(), ref)
}

// Downloads lists the downloads, running and past.
func (a *App) Downloads() ([]modelstore.Download, error) {
	svc, err := a.service()
	if err != nil {
		return nil, err
	}
	return svc.ListDownloads(a.context())
}

// PauseDownload pauses a download; its partial file is kept.
func (a *App) PauseDownload(id string) (bool, error) {
	svc, err := a.service()
	if err != nil {
		return false, err
	}
	return true, svc.PauseDownload(a.context(), id)
}

// ResumeDownload continues a paused or failed download.
func (a *App) ResumeDownload(id string) (modelstore.Download, error) {
	svc, err := a.service()
	if err != nil {
		return modelstore.Download{}, err
	}
	return svc.ResumeDownload(a.context(), id)
}

// CancelDownload stops a download and deletes its partial file.
func (a *App) CancelDownload(id string) (bool, error) {
	svc, err := a.service()
	if err != nil {
		return false, err
	}
	return true, svc.CancelDownload(a.context(), id)
}

// ComputeDevices lists the compute devices of this machine as `ir devices`
// does, with a backend that has none (Name "") saying why: the Settings'
// device picker offers them.
func (a *App) ComputeDevices() ([]service.DeviceInfo, error) {
	return service.Devices(), nil
}

// checkExternalURL accepts absolute http and https URLs only.
func checkExternalURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("link %q: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("link %q: only http and https links open in the browser", raw)
	}
	return nil
}
