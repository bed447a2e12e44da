// Package library keeps the models a person has installed: a
// content-addressed blob store (blobs/sha256-<hex>) for copied files,
// references to files used where they lie, the GGUF metadata read at import,
// and the names and aliases models answer to, all recorded in SQLite.
//
// Every file of the store is reached through an os.Root opened on the store
// folder, and digests must match one strict pattern, so no name, digest or
// database value can make the library touch a path outside it. Files the
// user imports in place are opened by their recorded absolute path and are
// never written or deleted.
package library

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"

	"inferenceruntime/backend/events"
	"inferenceruntime/inference/gguf"
)

// Folders inside the store.
const (
	blobsDir     = "blobs"
	tmpDir       = "tmp"
	downloadsDir = "downloads"
)

// orphanAge is how old a blob without a model must be before startup
// removes it. A fresh one may belong to an import in another process that
// has renamed its blob but not yet written its row.
const orphanAge = time.Hour

// Location says where a model's bytes are.
type Location string

// Locations of a model's file.
const (
	InBlob  Location = "blob" // copied into the store, named by digest
	InPlace Location = "path" // a file outside the store, used where it lies
	// AdHoc marks a Resolve result for a file that is not in the library.
	AdHoc Location = "file"
)

// Model is one installed model.
type Model struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`    // display name
	Aliases  []string `json:"aliases"` // other names, sorted
	Digest   string   `json:"digest"`  // SHA-256, "" when an in-place file was not hashed
	Size     int64    `json:"size"`
	Location Location `json:"location"`
	// Path is the file to load: the blob for InBlob, the user's file for
	// InPlace and AdHoc.
	Path       string    `json:"path"`
	FolderID   int64     `json:"folderId,omitempty"` // set when found by a library folder scan
	Source     string    `json:"source,omitempty"`
	Meta       Meta      `json:"meta"`
	AddedAt    time.Time `json:"addedAt"`
	LastUsedAt time.Time `json:"lastUsedAt"` // zero when never used
	Missing    bool      `json:"missing"`    // in-place file gone at the last check
	// Support says whether this build can run the model (its architecture
	// is registered with the engine); worked out when the record is read.
	Support Support `json:"support"`
	// Base is, for a custom model (ir create), the model or file it was
	// made from; "" for a model of its own file.
	Base string `json:"base,omitempty"`
	// Projector is the vision projector ("mmproj") file the model reads
	// images through: a blob of the store, or a file where it lies for a
	// model imported in place; "" for a text-only model.
	Projector       string `json:"projector,omitempty"`
	ProjectorDigest string `json:"projectorDigest,omitempty"` // set when the projector is a blob
	mtime           int64
}

// Library is the model library. It is safe for concurrent use, and several
// processes may share one store and database.
type Library struct {
	db   *sql.DB
	dir  string
	root *os.Root
	emit events.Emitter
	now  func() time.Time
}

// Open opens (creating if needed) the store folder dir and uses db, which
// must carry the library migrations. It removes temp files left by imports
// that died, and old blobs no model refers to.
func Open(ctx context.Context, db *sql.DB, dir string, emit events.Emitter) (*Library, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("library folder %s: %w", dir, err)
	}
	for _, sub := range []string{"", blobsDir, tmpDir, downloadsDir} {
		if err := os.MkdirAll(filepath.Join(abs, sub), 0o755); err != nil {
			return nil, fmt.Errorf("create library folder: %w", err)
		}
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("open library folder: %w", err)
	}
	l := &Library{db: db, dir: abs, root: root, emit: events.Or(emit), now: time.Now}
	l.cleanTemp()
	if err := l.collectOrphans(ctx); err != nil {
		root.Close()
		return nil, err
	}
	return l, nil
}

// Close releases the store folder.
func (l *Library) Close() error { return l.root.Close() }

// Dir is the absolute path of the store folder.
func (l *Library) Dir() string { return l.dir }

// DownloadsDir is the folder where downloads keep their partial files.
func (l *Library) DownloadsDir() string { return filepath.Join(l.dir, downloadsDir) }

// OpenDownloads returns a root confined to the downloads folder.
func (l *Library) OpenDownloads() (*os.Root, error) {
	r, err := l.root.OpenRoot(downloadsDir)
	if err != nil {
		return nil, fmt.Errorf("open downloads folder: %w", err)
	}
	return r, nil
}

// cleanTemp removes temp files whose writer is gone: a live writer holds a
// lock on its file.
func (l *Library) cleanTemp() {
	entries, err := fs.ReadDir(l.root.FS(), tmpDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := tmpDir + "/" + e.Name()
		if info, err := e.Info(); !locksWork && (err != nil || l.now().Sub(info.ModTime()) < 24*time.Hour) {
			continue // without locks, only age tells a dead writer's file
		}
		f, err := l.root.OpenFile(name, os.O_RDWR, 0)
		if err != nil {
			continue
		}
		if TryLock(f) == nil {
			_ = l.root.Remove(name)
		}
		f.Close()
	}
}

// collectOrphans removes blobs that no model refers to and that are old
// enough not to belong to an import in progress elsewhere.
func (l *Library) collectOrphans(ctx context.Context) error {
	entries, err := fs.ReadDir(l.root.FS(), blobsDir)
	if err != nil {
		return fmt.Errorf("list blobs: %w", err)
	}
	for _, e := range entries {
		digest, err := DigestFromBlobName(e.Name())
		if err != nil {
			continue // not ours; leave it alone
		}
		info, err := e.Info()
		if err != nil || l.now().Sub(info.ModTime()) < orphanAge {
			continue
		}
		used, err := l.digestUsed(ctx, l.db, digest)
		if err != nil {
			return err
		}
		if !used {
			_ = l.root.Remove(blobsDir + "/" + e.Name())
		}
	}
	return nil
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (l *Library) digestUsed(ctx context.Context, q queryer, digest string) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM models WHERE location = 'blob' AND digest = ?)
		+ (SELECT count(*) FROM model_adapters WHERE digest = ?)
		+ (SELECT count(*) FROM models WHERE projector_digest = ?)`, digest, digest, digest).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look up blob users: %w", err)
	}
	return n > 0, nil
}

// blobPath is the absolute path of the blob with the given digest.
func (l *Library) blobPath(digest string) (string, error) {
	name, err := BlobName(digest)
	if err != nil {
		return "", err
	}
	return filepath.Join(l.dir, blobsDir, name), nil
}

// HasBlob reports whether the store holds a complete blob with digest d.
func (l *Library) HasBlob(d string) (bool, error) {
	name, err := BlobName(d)
	if err != nil {
		return false, err
	}
	_, err = l.root.Stat(blobsDir + "/" + name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("stat blob: %w", err)
	}
	return true, nil
}

// validate opens path with the GGUF reader, which checks the header and
// that every tensor lies inside the file, and returns its metadata. The
// error does not name the file: every caller already does, and saying it
// twice buries the reason.
func validate(path string) (Meta, error) {
	f, err := gguf.Open(path)
	if err != nil {
		var fe *gguf.FormatError
		var pe *fs.PathError
		switch {
		case errors.As(err, &fe):
			err = fe
		case errors.As(err, &pe):
			err = fmt.Errorf("%s: %w", pe.Op, pe.Err)
		}
		return Meta{}, fmt.Errorf("%w: %w", ErrInvalidGGUF, err)
	}
	defer f.Close()
	return ReadMeta(f), nil
}

// modelColumns is the column list scanModel expects.
const modelColumns = `m.id, m.name, m.digest, m.size, m.location, m.path, m.mtime, coalesce(m.folder_id, 0), m.source,
	m.meta, m.added_at, m.last_used_at, m.missing, m.base, m.projector_digest, m.projector_path`

type scanner interface{ Scan(dest ...any) error }

func (l *Library) scanModel(s scanner) (*Model, error) {
	var m Model
	var metaJSON string
	var added, used int64
	var missing int
	if err := s.Scan(&m.ID, &m.Name, &m.Digest, &m.Size, &m.Location, &m.Path, &m.mtime, &m.FolderID, &m.Source,
		&metaJSON, &added, &used, &missing, &m.Base, &m.ProjectorDigest, &m.Projector); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(metaJSON), &m.Meta); err != nil {
		return nil, fmt.Errorf("model %s: bad metadata in database: %w", m.ID, err)
	}
	m.AddedAt = time.UnixMilli(added)
	if used > 0 {
		m.LastUsedAt = time.UnixMilli(used)
	}
	m.Missing = missing != 0
	m.Support = SupportOf(m.Meta)
	if m.Location == InBlob {
		p, err := l.blobPath(m.Digest)
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", m.ID, err)
		}
		m.Path = p
	}
	if m.ProjectorDigest != "" {
		p, err := l.blobPath(m.ProjectorDigest)
		if err != nil {
			return nil, fmt.Errorf("model %s: projector: %w", m.ID, err)
		}
		m.Projector = p
	}
	return &m, nil
}

// loadNames fills the aliases of the given models.
func (l *Library) loadNames(ctx context.Context, ms []*Model) error {
	if len(ms) == 0 {
		return nil
	}
	byID := map[string]*Model{}
	for _, m := range ms {
		byID[m.ID] = m
		m.Aliases = nil
	}
	rows, err := l.db.QueryContext(ctx, `SELECT name, model_id FROM model_names ORDER BY name`)
	if err != nil {
		return fmt.Errorf("list model names: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, id string
		if err := rows.Scan(&name, &id); err != nil {
			return fmt.Errorf("list model names: %w", err)
		}
		if m := byID[id]; m != nil && !strings.EqualFold(name, m.Name) {
			m.Aliases = append(m.Aliases, name)
		}
	}
	return rows.Err()
}

// List returns every model, sorted by name.
func (l *Library) List(ctx context.Context) ([]*Model, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT `+modelColumns+` FROM models m ORDER BY m.name COLLATE NOCASE`)
	if err != nil {
		return nil, fmt.Errorf("list models: %w", err)
	}
	defer rows.Close()
	var ms []*Model
	for rows.Next() {
		m, err := l.scanModel(rows)
		if err != nil {
			return nil, fmt.Errorf("list models: %w", err)
		}
		ms = append(ms, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list models: %w", err)
	}
	return ms, l.loadNames(ctx, ms)
}

// Get returns the model with the given id.
func (l *Library) Get(ctx context.Context, id string) (*Model, error) {
	m, err := l.scanModel(l.db.QueryRowContext(ctx, `SELECT `+modelColumns+` FROM models m WHERE m.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: id %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("get model %s: %w", id, err)
	}
	return m, l.loadNames(ctx, []*Model{m})
}

// insert records a new model and its name in one transaction. The file must
// already be complete (a blob, or the user's file).
func (l *Library) insert(ctx context.Context, m *Model) error {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record model: %w", err)
	}
	defer tx.Rollback()
	if err := insertTx(ctx, tx, m); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record model: %w", err)
	}
	return nil
}

// insertTx records a model and its name inside tx.
func insertTx(ctx context.Context, tx *sql.Tx, m *Model) error {
	metaJSON, err := jsonString(m.Meta)
	if err != nil {
		return err
	}
	var folder any
	if m.FolderID != 0 {
		folder = m.FolderID
	}
	path, projPath := m.Path, m.Projector
	if m.Location == InBlob {
		path = ""
	}
	if m.ProjectorDigest != "" {
		projPath = ""
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO models (id, name, digest, size, location, path, mtime, folder_id, source,
		architecture, param_count, file_type, context_length, vocab_size, chat_template, meta, added_at, missing, base,
		projector_digest, projector_path)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)`,
		m.ID, m.Name, m.Digest, m.Size, string(m.Location), path, m.mtime, folder, m.Source,
		m.Meta.Architecture, m.Meta.ParamCount, m.Meta.FileType, m.Meta.ContextLength, m.Meta.VocabSize,
		m.Meta.ChatTemplate, metaJSON, m.AddedAt.UnixMilli(), m.Base, m.ProjectorDigest, projPath)
	if err != nil {
		return fmt.Errorf("record model: %w", err)
	}
	return addName(ctx, tx, m.Name, m.ID, m.AddedAt)
}

func addName(ctx context.Context, tx *sql.Tx, name, id string, at time.Time) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM model_names WHERE name = ?`, name).Scan(&n); err != nil {
		return fmt.Errorf("check name %q: %w", name, err)
	}
	if n > 0 {
		return fmt.Errorf("%w: %q", ErrNameTaken, name)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO model_names (name, model_id, created_at) VALUES (?, ?, ?)`,
		name, id, at.UnixMilli()); err != nil {
		return fmt.Errorf("record name %q: %w", name, err)
	}
	return nil
}

// nameTaken reports whether a model already answers to name.
func (l *Library) nameTaken(ctx context.Context, name string) (bool, error) {
	var n int
	if err := l.db.QueryRowContext(ctx, `SELECT count(*) FROM model_names WHERE name = ?`, name).Scan(&n); err != nil {
		return false, fmt.Errorf("check name %q: %w", name, err)
	}
	return n > 0, nil
}

// FreeName returns base, or base-2, base-3, ... whichever no model answers
// to yet; for names derived from file names, never for names the user chose.
func (l *Library) FreeName(ctx context.Context, base string) (string, error) {
	return l.freeName(ctx, base)
}

func (l *Library) freeName(ctx context.Context, base string) (string, error) {
	name := base
	for i := 2; ; i++ {
		taken, err := l.nameTaken(ctx, name)
		if err != nil || !taken {
			return name, err
		}
		name = fmt.Sprintf("%s-%d", base, i)
	}
}

func newID() string { return uuid.NewString() }

func (l *Library) changed(action string, m *Model) {
	c := events.LibraryChange{Action: action}
	if m != nil {
		c.ModelID, c.Name = m.ID, m.Name
	}
	l.emit.Emit(events.TopicLibrary, c)
}

func jsonString(meta Meta) (string, error) {
	b, err := json.Marshal(meta)
	if err != nil {
		return "", fmt.Errorf("encode metadata: %w", err)
	}
	return string(b), nil
}
