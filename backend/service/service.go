// Package service holds the use-cases of Inference Runtime — import, list,
// pull, remove, chat, ... — in one place shared by the desktop app
// (app.go), the command line (cmd/ir) and the HTTP API. Each front end
// opens one Service and calls its methods; none of them touches the
// database or the store directly.
package service

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"inferenceruntime/backend/config"
	"inferenceruntime/backend/db"
	"inferenceruntime/backend/events"
	"inferenceruntime/backend/library"
	"inferenceruntime/backend/modelstore"
)

// Options configure Open. Zero values take the defaults.
type Options struct {
	// Home overrides the data directory (the --home flag); "" means
	// $IR_HOME or the per-OS default.
	Home string
	// Emitter receives progress and change events; it can be replaced
	// later with SetEmitter (the desktop app gets its Wails context only at
	// start-up).
	Emitter events.Emitter
	// StoreURL is the model store's base URL; "" means $IR_STORE_URL or
	// https://huggingface.co.
	StoreURL string
	// Downloads tunes the download manager (timeouts, retries, limits).
	Downloads modelstore.Options
	// ResumeDownloads continues, in the background, the downloads that were
	// running when the process last stopped (or was killed). The desktop app
	// sets it; one-shot commands leave it off.
	ResumeDownloads bool
}

// Service is an open data directory: database, library, store and
// downloads. It is safe for concurrent use.
type Service struct {
	Dir       string
	DB        *sql.DB
	Library   *library.Library
	Catalog   *modelstore.Catalog
	Resolver  *modelstore.Resolver
	Downloads *modelstore.Manager

	emitter *swapEmitter
}

// Open opens (creating if needed) the data directory and everything in it.
// It starts no downloads unless opts.ResumeDownloads is set.
func Open(ctx context.Context, opts Options) (*Service, error) {
	dir, err := config.EnsureDataDir(opts.Home)
	if err != nil {
		return nil, err
	}
	s := &Service{Dir: dir, emitter: &swapEmitter{e: events.Or(opts.Emitter)}}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()
	if s.DB, err = db.Open(config.DatabasePath(dir)); err != nil {
		return nil, err
	}
	if s.Library, err = library.Open(ctx, s.DB, filepath.Join(dir, "models"), s.emitter); err != nil {
		return nil, err
	}
	if s.Catalog, err = modelstore.LoadCatalog(); err != nil {
		return nil, err
	}
	base := opts.StoreURL
	if base == "" {
		base = os.Getenv(modelstore.EnvStoreURL)
	}
	if base == "" {
		base = modelstore.DefaultBaseURL
	}
	client := opts.Downloads.Client
	if client == nil {
		client = modelstore.NewClient()
	}
	// A Hugging Face token (for gated repositories) goes to the store only.
	client = modelstore.WithToken(client, base, os.Getenv(modelstore.EnvToken))
	s.Resolver = &modelstore.Resolver{BaseURL: strings.TrimRight(base, "/"), Client: client, Catalog: s.Catalog}
	dopts := opts.Downloads
	dopts.Client = client
	if s.Downloads, err = modelstore.NewManager(s.DB, s.Library, s.emitter, dopts); err != nil {
		return nil, err
	}
	if opts.ResumeDownloads {
		if _, err := s.Downloads.ResumeAll(ctx); err != nil {
			return nil, err
		}
	}
	ok = true
	return s, nil
}

// Close stops running downloads (they continue at the next ResumeDownloads)
// and closes the database.
func (s *Service) Close() error {
	var errs []error
	if s.Downloads != nil {
		errs = append(errs, s.Downloads.Close())
	}
	if s.Library != nil {
		errs = append(errs, s.Library.Close())
	}
	if s.DB != nil {
		errs = append(errs, s.DB.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close service: %w", err)
	}
	return nil
}

// SetEmitter replaces where events go (nil: nowhere).
func (s *Service) SetEmitter(e events.Emitter) { s.emitter.set(e) }

// swapEmitter forwards to an emitter that can be replaced while running.
type swapEmitter struct {
	mu sync.RWMutex
	e  events.Emitter
}

func (w *swapEmitter) Emit(topic string, payload any) {
	w.mu.RLock()
	e := w.e
	w.mu.RUnlock()
	e.Emit(topic, payload)
}

func (w *swapEmitter) set(e events.Emitter) {
	w.mu.Lock()
	w.e = events.Or(e)
	w.mu.Unlock()
}
