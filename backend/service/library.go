package service

import (
	"context"
	"errors"

	"inferenceruntime/backend/config"
	"inferenceruntime/backend/library"
)

// DefaultKVBytes is the size of one cached key or value element assumed by
// fit estimates when the settings name no KV cache type: the engine's
// default cache is F32.
const DefaultKVBytes = 4

// ImportModel adds a GGUF file to the library (copied, or in place). Progress
// goes to the emitter as events.Progress of kind "import".
func (s *Service) ImportModel(ctx context.Context, path string, opts library.ImportOptions) (library.ImportResult, error) {
	return s.Library.Import(ctx, path, opts)
}

// ListModels returns the installed models, sorted by name.
func (s *Service) ListModels(ctx context.Context) ([]*library.Model, error) {
	return s.Library.List(ctx)
}

// ResolveModel finds a model by name, alias, id (or prefix) or file path and
// checks that its file is usable; Model.Path is the file to load. A GGUF
// file outside the library resolves with Location library.AdHoc.
func (s *Service) ResolveModel(ctx context.Context, ref string) (*library.Model, error) {
	return s.Library.Resolve(ctx, ref)
}

// ResolveInstalledModel is ResolveModel limited to installed models: it
// never opens a file named by path (for the HTTP API).
func (s *Service) ResolveInstalledModel(ctx context.Context, ref string) (*library.Model, error) {
	return s.Library.ResolveInstalled(ctx, ref)
}

// UseModel is ResolveModel that also records the model as used now; call it
// when a model is loaded to run.
func (s *Service) UseModel(ctx context.Context, ref string) (*library.Model, error) {
	return s.Library.Use(ctx, ref)
}

// RemoveModel removes a name, and the model (and its blob, when unshared)
// with its last name.
func (s *Service) RemoveModel(ctx context.Context, ref string) (library.RemoveResult, error) {
	return s.Library.Remove(ctx, ref)
}

// CopyModel gives the model src the additional name dst.
func (s *Service) CopyModel(ctx context.Context, src, dst string) (*library.Model, error) {
	return s.Library.Alias(ctx, src, dst)
}

// AddFolder indexes a folder's GGUF files in place.
func (s *Service) AddFolder(ctx context.Context, path string) (library.Folder, library.ScanReport, error) {
	return s.Library.AddFolder(ctx, path)
}

// RemoveFolder stops indexing a folder.
func (s *Service) RemoveFolder(ctx context.Context, path string) error {
	return s.Library.RemoveFolder(ctx, path)
}

// Folders lists the indexed folders.
func (s *Service) Folders(ctx context.Context) ([]library.Folder, error) {
	return s.Library.Folders(ctx)
}

// Rescan re-indexes every library folder.
func (s *Service) Rescan(ctx context.Context) (library.ScanReport, error) {
	return s.Library.Rescan(ctx)
}

// ModelFit estimates whether a library model fits in free memory at a
// context length (0: the configured default).
func (s *Service) ModelFit(ctx context.Context, ref string, contextLen int64) (library.Fit, error) {
	m, err := s.Library.Resolve(ctx, ref)
	if err != nil {
		return library.Fit{}, err
	}
	return s.fit(m.Meta, m.Size, contextLen), nil
}

// fit estimates against the machine's free memory. The context is the
// settings' when contextLen is 0, and never more than the model's, as a run
// would get.
func (s *Service) fit(meta library.Meta, size, contextLen int64) library.Fit {
	if contextLen <= 0 {
		contextLen = s.defaultContext()
	}
	if meta.ContextLength > 0 {
		contextLen = min(contextLen, meta.ContextLength)
	}
	avail, err := library.AvailableMemory()
	if err != nil {
		avail = -1
	}
	if f, err := library.EstimateFitKV(meta, size, contextLen, s.defaultKVType(), avail); err == nil {
		return f
	}
	return library.EstimateFit(meta, size, contextLen, DefaultKVBytes, avail)
}

// defaultKVType is the KV cache type from the settings ("" = f32): the
// estimate counts the cache a run would get.
func (s *Service) defaultKVType() string {
	st, err := config.LoadSettings(s.Dir)
	if err != nil {
		return ""
	}
	return st.KVType
}

// defaultContext is the context length from the settings.
func (s *Service) defaultContext() int64 {
	st, err := config.LoadSettings(s.Dir)
	if err != nil || st.ContextLength <= 0 {
		return config.DefaultContextLength
	}
	return int64(st.ContextLength)
}

// isNotFound reports whether err means no such model.
func isNotFound(err error) bool { return errors.Is(err, library.ErrNotFound) }
