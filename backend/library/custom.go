package library

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"inferenceruntime/backend/events"
	"inferenceruntime/backend/modelfile"
)

// AdapterBlob is one LoRA adapter of a custom model: a blob of the store
// and the scale it is applied with.
type AdapterBlob struct {
	Digest string  `json:"digest"`
	Scale  float64 `json:"scale"`
	// Path is the blob's file, filled when read.
	Path string `json:"path"`
}

// CustomSpec describes a custom model to record.
type CustomSpec struct {
	// Name must be free, or belong to a custom model, which is replaced
	// (as Ollama's create does).
	Name string
	// Base is the model whose file the new one shares: a library model, or
	// a blob from BlobModel.
	Base *Model
	// From is what the Modelfile's FROM said, kept to print it back.
	From string
	// Settings are the system prompt, template, parameters, messages and
	// license; its From and Adapters are ignored.
	Settings modelfile.File
	// Adapters must be blobs of the store already (PutBlob, ImportBlob).
	Adapters []AdapterBlob
}

// CreateCustom records a custom model: a new entry on its base's file with
// its own name, settings and adapters, all in one transaction, so a failure
// leaves nothing behind.
func (l *Library) CreateCustom(ctx context.Context, spec CustomSpec) (*Model, error) {
	if err := ValidateName(spec.Name); err != nil {
		return nil, err
	}
	b := spec.Base
	if b == nil || (b.Location != InBlob && b.Location != InPlace) {
		return nil, fmt.Errorf("create %s: the base must be a model of the library or a blob", spec.Name)
	}
	for i, a := range spec.Adapters {
		have, err := l.HasBlob(a.Digest)
		if err != nil {
			return nil, fmt.Errorf("create %s: adapter %d: %w", spec.Name, i+1, err)
		}
		if !have {
			return nil, fmt.Errorf("create %s: adapter %d: %w: blob sha256:%s", spec.Name, i+1, ErrMissing, a.Digest)
		}
	}
	settings := spec.Settings
	settings.From, settings.Adapters, settings.Lines = "", nil, nil
	settingsJSON, err := json.Marshal(settings)
	if err != nil {
		return nil, fmt.Errorf("create %s: encode settings: %w", spec.Name, err)
	}
	from := spec.From
	if from == "" {
		from = b.Name
	}
	m := &Model{ID: newID(), Name: spec.Name, Digest: b.Digest, Size: b.Size, Location: b.Location, Path: b.Path,
		Source: "modelfile", Meta: b.Meta, AddedAt: l.now(), Support: SupportOf(b.Meta), Base: from, mtime: b.mtime,
		Projector: b.Projector, ProjectorDigest: b.ProjectorDigest}
	if b.Location == InPlace {
		info, err := os.Stat(b.Path)
		if err != nil {
			return nil, fmt.Errorf("create %s: %w: %s", spec.Name, ErrMissing, b.Path)
		}
		m.mtime = info.ModTime().UnixNano()
	}

	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", spec.Name, err)
	}
	defer tx.Rollback()
	replaced, err := l.dropCustomNamed(ctx, tx, spec.Name)
	if err != nil {
		return nil, err
	}
	if err := insertTx(ctx, tx, m); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO model_settings (model_id, settings) VALUES (?, ?)`, m.ID, string(settingsJSON)); err != nil {
		return nil, fmt.Errorf("create %s: record settings: %w", spec.Name, err)
	}
	for i, a := range spec.Adapters {
		if _, err := tx.ExecContext(ctx, `INSERT INTO model_adapters (model_id, position, digest, scale) VALUES (?, ?, ?, ?)`,
			m.ID, i, a.Digest, a.Scale); err != nil {
			return nil, fmt.Errorf("create %s: record adapter %d: %w", spec.Name, i+1, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("create %s: %w", spec.Name, err)
	}
	for _, d := range replaced {
		l.removeBlobIfUnused(ctx, d)
	}
	l.changed("added", m)
	return l.Get(ctx, m.ID)
}

// dropCustomNamed deletes, inside tx, the custom model that has name as its
// display name, and returns the blobs it held (to collect after commit). A
// plain model of that name is ErrNameTaken: create never replaces one.
func (l *Library) dropCustomNamed(ctx context.Context, tx *sql.Tx, name string) ([]string, error) {
	var id, base, display, digest string
	var loc Location
	err := tx.QueryRowContext(ctx, `SELECT m.id, m.base, m.name, m.digest, m.location FROM model_names n
		JOIN models m ON m.id = n.model_id WHERE n.name = ?`, name).Scan(&id, &base, &display, &digest, &loc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("check name %q: %w", name, err)
	}
	if base == "" || !strings.EqualFold(display, name) {
		return nil, fmt.Errorf("%w: %q", ErrNameTaken, name)
	}
	blobs, err := adapterDigests(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if loc == InBlob {
		blobs = append(blobs, digest)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM models WHERE id = ?`, id); err != nil {
		return nil, fmt.Errorf("replace %q: %w", name, err)
	}
	return blobs, nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func adapterDigests(ctx context.Context, q querier, id string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT digest FROM model_adapters WHERE model_id = ? ORDER BY position`, id)
	if err != nil {
		return nil, fmt.Errorf("list adapters: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, fmt.Errorf("list adapters: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Custom returns a custom model's settings (From is its base) and adapters
// (with their blob paths); nil, nil for a model of its own file.
func (l *Library) Custom(ctx context.Context, m *Model) (*modelfile.File, []AdapterBlob, error) {
	if m == nil || m.Base == "" || m.ID == "" {
		return nil, nil, nil
	}
	var raw string
	err := l.db.QueryRowContext(ctx, `SELECT settings FROM model_settings WHERE model_id = ?`, m.ID).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("model %s: read settings: %w", m.Name, err)
	}
	f := &modelfile.File{}
	if err := json.Unmarshal([]byte(raw), f); err != nil {
		return nil, nil, fmt.Errorf("model %s: bad settings in database: %w", m.Name, err)
	}
	f.From = m.Base
	rows, err := l.db.QueryContext(ctx, `SELECT digest, scale FROM model_adapters WHERE model_id = ? ORDER BY position`, m.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("model %s: list adapters: %w", m.Name, err)
	}
	defer rows.Close()
	var ads []AdapterBlob
	for rows.Next() {
		var a AdapterBlob
		if err := rows.Scan(&a.Digest, &a.Scale); err != nil {
			return nil, nil, fmt.Errorf("model %s: list adapters: %w", m.Name, err)
		}
		if a.Path, err = l.blobPath(a.Digest); err != nil {
			return nil, nil, fmt.Errorf("model %s: %w", m.Name, err)
		}
		ads = append(ads, a)
		f.Adapters = append(f.Adapters, modelfile.Adapter{Path: a.Path, Scale: a.Scale})
	}
	return f, ads, rows.Err()
}

// PutBlob stores the bytes of r as a blob. With want set, they must have
// that digest: bytes that do not are refused and nothing is kept. It
// returns the digest, and whether the blob is new (not stored before).
func (l *Library) PutBlob(ctx context.Context, r io.Reader, want string) (string, bool, error) {
	if want != "" && !ValidDigest(want) {
		return "", false, fmt.Errorf("%w: %q (want sha256: and 64 lowercase hex digits)", ErrBadDigest, want)
	}
	meter := events.NewMeter(nil, events.TopicProgress, events.Progress{ID: newID(), Kind: "blob"})
	tmp, digest, err := l.writeTemp(ctx, r, meter)
	if err != nil {
		return "", false, fmt.Errorf("store blob: %w", err)
	}
	if want != "" && digest != want {
		_ = l.root.Remove(tmp)
		return "", false, fmt.Errorf("%w: the bytes have digest sha256:%s, not sha256:%s", ErrBadDigest, digest, want)
	}
	name, _ := BlobName(digest)
	if have, _ := l.HasBlob(digest); have {
		_ = l.root.Remove(tmp)
		return digest, false, nil
	}
	if err := l.root.Rename(tmp, blobsDir+"/"+name); err != nil {
		_ = l.root.Remove(tmp)
		return "", false, fmt.Errorf("store blob: %w", err)
	}
	syncDir(filepath.Join(l.dir, blobsDir))
	return digest, true, nil
}

// ReleaseBlob deletes the blob with digest d when no model refers to it.
func (l *Library) ReleaseBlob(ctx context.Context, d string) bool {
	return l.removeBlobIfUnused(ctx, d)
}

// ImportBlob copies the file at path into the store as a blob (an adapter
// or a model file for a custom model); see PutBlob.
func (l *Library) ImportBlob(ctx context.Context, path string) (string, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", false, err
	}
	defer f.Close()
	if info, err := f.Stat(); err != nil || !info.Mode().IsRegular() {
		return "", false, fmt.Errorf("%s: not a regular file", path)
	}
	return l.PutBlob(ctx, f, "")
}

// BlobPath is the file of the blob with digest d, which must be stored.
func (l *Library) BlobPath(d string) (string, error) {
	have, err := l.HasBlob(d)
	if err != nil {
		return "", err
	}
	if !have {
		return "", fmt.Errorf("%w: blob sha256:%s", ErrMissing, d)
	}
	return l.blobPath(d)
}

// BlobModel describes a stored blob as a model file (validating it as
// GGUF), to be the base of a custom model. It has no id: it is not
// recorded.
func (l *Library) BlobModel(d string) (*Model, error) {
	path, err := l.BlobPath(d)
	if err != nil {
		return nil, err
	}
	meta, err := validate(path)
	if err != nil {
		return nil, fmt.Errorf("blob sha256:%s: %w", d, err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("blob sha256:%s: %w", d, err)
	}
	return &Model{Name: "sha256:" + d, Digest: d, Size: info.Size(), Location: InBlob, Path: path, Meta: meta,
		Support: SupportOf(meta)}, nil
}
