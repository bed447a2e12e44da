package service

import (
	"context"
	"fmt"

	"inferenceruntime/backend/library"
	"inferenceruntime/backend/modelstore"
)

// StoreEntry is a catalog model with, per variant, whether it is installed
// and whether it fits this machine.
type StoreEntry struct {
	Model    modelstore.CatalogModel `json:"model"`
	Variants []StoreVariant          `json:"variants"`
}

// StoreVariant is one downloadable file of a StoreEntry.
type StoreVariant struct {
	modelstore.Variant
	Name      string      `json:"name"` // the library name it gets: "<id>:<quant>"
	Installed bool        `json:"installed"`
	Fit       library.Fit `json:"fit"`
}

// StoreList returns the catalog models matching search ("" for all), with
// fit estimates at contextLen tokens (0: the configured default) made from
// the catalog's hyper-parameters, without network access.
func (s *Service) StoreList(ctx context.Context, search string, contextLen int64) ([]StoreEntry, error) {
	var out []StoreEntry
	for _, m := range s.Catalog.Search(search) {
		e := StoreEntry{Model: m}
		for _, v := range m.Variants {
			name := m.ID + ":" + v.Quant
			_, err := s.Library.Resolve(ctx, name)
			e.Variants = append(e.Variants, StoreVariant{Variant: v, Name: name, Installed: err == nil,
				Fit: s.fit(m.Meta(v), v.Size, contextLen)})
		}
		out = append(out, e)
	}
	return out, nil
}

// ResolvePull interprets what a user asked to pull (a catalog id, an
// org/repo with an optional :QUANT, a file, a URL) as one file to download.
func (s *Service) ResolvePull(ctx context.Context, ref string) (modelstore.Target, error) {
	return s.Resolver.Resolve(ctx, ref)
}

// PullFit estimates whether a pull target fits this machine: from the
// catalog for curated models, else from the file's header fetched with a
// small Range request.
func (s *Service) PullFit(ctx context.Context, t modelstore.Target, contextLen int64) (library.Fit, error) {
	if t.Catalog != nil {
		if v, ok := t.Catalog.Variant(t.Quant); ok {
			return s.fit(t.Catalog.Meta(v), v.Size, contextLen), nil
		}
	}
	meta, size, err := modelstore.FetchMeta(ctx, s.Resolver.Client, t.URL)
	if err != nil {
		return library.Fit{}, err
	}
	return s.fit(meta, size, contextLen), nil
}

// PullResult is what Pull started.
type PullResult struct {
	Target   modelstore.Target   `json:"target"`
	Download modelstore.Download `json:"download"`
	// Model is set, and nothing is downloaded, when the library already
	// has a model of that name.
	Model *library.Model `json:"model,omitempty"`
}

// Pull resolves ref and starts (or continues) its download in the
// background; progress arrives as events.Progress of kind "download". Use
// WaitDownload to block until it ends.
func (s *Service) Pull(ctx context.Context, ref string) (PullResult, error) {
	t, err := s.Resolver.Resolve(ctx, ref)
	if err != nil {
		return PullResult{}, err
	}
	if m, err := s.Library.Resolve(ctx, t.Name); err == nil {
		return PullResult{Target: t, Model: m}, nil
	} else if !isNotFound(err) {
		return PullResult{}, fmt.Errorf("pull %s: %w", t.Name, err)
	}
	d, err := s.Downloads.Start(ctx, t)
	if err != nil {
		return PullResult{}, err
	}
	return PullResult{Target: t, Download: d}, nil
}

// WaitDownload blocks until a download started in this process ends and
// returns its final state, with the reason when it did not complete.
func (s *Service) WaitDownload(ctx context.Context, id string) (modelstore.Download, error) {
	return s.Downloads.Wait(ctx, id)
}

// ListDownloads returns all downloads, newest first.
func (s *Service) ListDownloads(ctx context.Context) ([]modelstore.Download, error) {
	return s.Downloads.List(ctx)
}

// PauseDownload pauses a download; its partial file stays.
func (s *Service) PauseDownload(ctx context.Context, id string) error {
	return s.Downloads.Pause(ctx, id)
}

// ResumeDownload continues a paused or failed download.
func (s *Service) ResumeDownload(ctx context.Context, id string) (modelstore.Download, error) {
	return s.Downloads.Resume(ctx, id)
}

// CancelDownload stops a download and deletes its partial file.
func (s *Service) CancelDownload(ctx context.Context, id string) error {
	return s.Downloads.Cancel(ctx, id)
}

// ResumeDownloads continues the downloads that were running when the
// process last stopped (the desktop app calls it once at start).
func (s *Service) ResumeDownloads(ctx context.Context) ([]modelstore.Download, error) {
	return s.Downloads.ResumeAll(ctx)
}
