package library

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"

	"inferenceruntime/backend/events"
)

// ImportOptions controls Import.
type ImportOptions struct {
	// Name for the model; "" derives one from the file name (adding -2, -3,
	// ... if taken). A name given here must be free.
	Name string
	// InPlace records the file where it lies instead of copying it into the
	// store. The file is re-checked whenever the model is used.
	InPlace bool
	// Source is recorded as where the model came from (default: the path).
	Source string
	// ProgressID names the progress events (default: a new id).
	ProgressID string
	// Projector is a vision projector ("mmproj") file to pair with the
	// model. "" looks for one next to the file (FindProjector).
	Projector string
}

// ImportResult is what Import did.
type ImportResult struct {
	Model *Model
	// Existing is true when the library already had this model (same bytes
	// and no new name asked for, or the same in-place file): nothing new was
	// recorded.
	Existing bool
}

// minFreeMargin is left free on the disk beyond what an import or download
// needs.
const minFreeMargin = 256 << 20

// copyChunkHook, when set (by tests), runs after every chunk an import
// copies, so a test can slow the copy down enough to kill it mid-way.
var copyChunkHook func()

// Import adds the GGUF file at path to the library. The file is fully
// validated with the GGUF reader first; a bad file is refused and nothing is
// left behind. A copied file is hashed while it is copied into a temp file
// in the store, synced, and renamed to its blob name; the model is recorded
// only after that, so a crash at any point leaves no half-imported model.
func (l *Library) Import(ctx context.Context, path string, opts ImportOptions) (ImportResult, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return ImportResult{}, fmt.Errorf("import %s: %w", path, err)
	}
	info, err := os.Stat(abs)
	if err != nil {
		return ImportResult{}, fmt.Errorf("import: %w", err)
	}
	if !info.Mode().IsRegular() {
		return ImportResult{}, fmt.Errorf("import %s: not a regular file", abs)
	}
	if opts.Name != "" {
		if err := ValidateName(opts.Name); err != nil {
			return ImportResult{}, err
		}
		// Fail before copying gigabytes.
		if taken, err := l.nameTaken(ctx, opts.Name); err != nil {
			return ImportResult{}, err
		} else if taken {
			return ImportResult{}, fmt.Errorf("import %s: %w: %q", abs, ErrNameTaken, opts.Name)
		}
	}
	meta, err := validate(abs)
	if err != nil {
		return ImportResult{}, fmt.Errorf("import %s: %w", abs, err)
	}
	if meta.Architecture == "clip" {
		return ImportResult{}, fmt.Errorf("import %s: %w", abs, ErrIsProjector)
	}
	if opts.Projector != "" {
		// Refuse a wrong projector before copying the model.
		if err := checkProjector(&Model{Name: NameFromFile(abs), Meta: meta}, opts.Projector); err != nil {
			return ImportResult{}, fmt.Errorf("import %s: projector %s: %w", abs, opts.Projector, err)
		}
	}
	res, err := l.importFile(ctx, abs, info, meta, opts)
	if err != nil || res.Model == nil {
		return res, err
	}
	if opts.Projector != "" {
		m, err := l.SetProjector(ctx, res.Model.ID, opts.Projector)
		if err != nil {
			return res, fmt.Errorf("import %s: %w", abs, err)
		}
		res.Model = m
	} else {
		res.Model = l.attachFound(ctx, res.Model, abs)
	}
	return res, nil
}

// importFile records a validated model file, copied or in place.
func (l *Library) importFile(ctx context.Context, abs string, info os.FileInfo, meta Meta, opts ImportOptions) (ImportResult, error) {
	if opts.Source == "" {
		opts.Source = abs
	}
	if opts.ProgressID == "" {
		opts.ProgressID = newID()
	}
	if opts.InPlace {
		return l.importInPlace(ctx, abs, info, meta, opts, 0)
	}
	if free, err := FreeSpace(l.dir); err == nil && free >= 0 && free < info.Size()+minFreeMargin {
		return ImportResult{}, fmt.Errorf("import %s: %w: need %s, %s free", abs, ErrNoSpace,
			events.FormatBytes(info.Size()+minFreeMargin), events.FormatBytes(free))
	}
	meter := events.NewMeter(l.emit, events.TopicProgress, events.Progress{
		ID: opts.ProgressID, Kind: "import", Name: filepath.Base(abs), Total: info.Size()})
	tmp, digest, err := l.copyToTemp(ctx, abs, meter)
	if err != nil {
		meter.State("failed", err.Error())
		return ImportResult{}, fmt.Errorf("import %s: %w", abs, err)
	}
	res, err := l.adopt(ctx, tmp, digest, meta, opts, NameFromFile(abs))
	if err != nil {
		meter.State("failed", err.Error())
		return ImportResult{}, fmt.Errorf("import %s: %w", abs, err)
	}
	meter.Set(info.Size())
	meter.State("done", "")
	return res, nil
}

// copyToTemp copies src into a new, locked temp file of the store while
// hashing it, syncs it, and returns the temp file's name (relative to the
// store) and the digest.
func (l *Library) copyToTemp(ctx context.Context, src string, meter *events.Meter) (string, string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", "", err
	}
	defer in.Close()
	return l.writeTemp(ctx, in, meter)
}

// writeTemp copies in into a new, locked temp file of the store while
// hashing it, as copyToTemp does.
func (l *Library) writeTemp(ctx context.Context, in io.Reader, meter *events.Meter) (string, string, error) {
	name := tmpDir + "/import-" + newID() + ".tmp"
	out, err := l.root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", "", fmt.Errorf("create temp file: %w", err)
	}
	ok := false
	defer func() {
		out.Close()
		if !ok {
			_ = l.root.Remove(name)
		}
	}()
	// The lock tells a later startup that this temp file's writer is alive.
	if err := TryLock(out); err != nil {
		return "", "", err
	}
	h := sha256.New()
	buf := make([]byte, 1<<20)
	var done int64
	for {
		if err := ctx.Err(); err != nil {
			return "", "", err
		}
		n, rerr := in.Read(buf)
		if n > 0 {
			if _, err := out.Write(buf[:n]); err != nil {
				return "", "", fmt.Errorf("write temp file: %w", err)
			}
			h.Write(buf[:n])
			done += int64(n)
			meter.Set(done)
			if copyChunkHook != nil {
				copyChunkHook()
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return "", "", fmt.Errorf("read: %w", rerr)
		}
	}
	if err := out.Sync(); err != nil {
		return "", "", fmt.Errorf("sync temp file: %w", err)
	}
	ok = true
	return name, hex.EncodeToString(h.Sum(nil)), nil
}

// partialPattern is the only form of download file ImportDownload accepts.
var partialPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.partial$`)

// ImportDownload moves a finished, hash-verified download (a file of the
// downloads folder, named "<uuid>.partial") into the blob store and records
// it. The file is validated as GGUF first; an invalid file is deleted.
func (l *Library) ImportDownload(ctx context.Context, partial, digest string, opts ImportOptions) (ImportResult, error) {
	if !partialPattern.MatchString(partial) {
		return ImportResult{}, fmt.Errorf("import download: bad file name %q", partial)
	}
	if _, err := BlobName(digest); err != nil {
		return ImportResult{}, err
	}
	rel := downloadsDir + "/" + partial
	meta, err := validate(filepath.Join(l.dir, downloadsDir, partial))
	if err != nil {
		_ = l.root.Remove(rel)
		return ImportResult{}, fmt.Errorf("import download: %w", err)
	}
	// Downloads keep no lock once verified; take the temp path's role.
	return l.adopt(ctx, rel, digest, meta, opts, "")
}

// adopt turns a complete temp file (relative to the store) with a known
// digest into a blob and records the model. If the store already holds the
// blob, the temp file is dropped.
func (l *Library) adopt(ctx context.Context, tmp, digest string, meta Meta, opts ImportOptions, fallbackName string) (ImportResult, error) {
	blob, err := BlobName(digest)
	if err != nil {
		_ = l.root.Remove(tmp)
		return ImportResult{}, err
	}
	// Same bytes, already a model, and no new name asked for: nothing to do.
	if existing, err := l.modelByDigest(ctx, digest); err != nil {
		_ = l.root.Remove(tmp)
		return ImportResult{}, err
	} else if existing != nil && (opts.Name == "" || l.answersTo(ctx, existing, opts.Name)) {
		_ = l.root.Remove(tmp)
		return ImportResult{Model: existing, Existing: true}, nil
	}
	if tmp != "" {
		// Validate the copy we keep, not just the file we read: it might
		// have changed while we copied.
		if tmpMeta, err := validate(filepath.Join(l.dir, tmp)); err != nil {
			_ = l.root.Remove(tmp)
			return ImportResult{}, err
		} else {
			meta = tmpMeta
		}
	}
	have, err := l.HasBlob(digest)
	if err != nil {
		_ = l.root.Remove(tmp)
		return ImportResult{}, err
	}
	created := false
	if have {
		_ = l.root.Remove(tmp)
	} else {
		if err := l.root.Rename(tmp, blobsDir+"/"+blob); err != nil {
			_ = l.root.Remove(tmp)
			return ImportResult{}, fmt.Errorf("store blob: %w", err)
		}
		syncDir(filepath.Join(l.dir, blobsDir))
		created = true
	}
	info, err := l.root.Stat(blobsDir + "/" + blob)
	if err != nil {
		return ImportResult{}, fmt.Errorf("stat blob: %w", err)
	}
	m := &Model{ID: newID(), Name: opts.Name, Digest: digest, Size: info.Size(), Location: InBlob,
		Source: opts.Source, Meta: meta, AddedAt: l.now(), Support: SupportOf(meta)}
	if m.Name == "" {
		if m.Name, err = l.freeName(ctx, fallbackName); err != nil {
			return ImportResult{}, err
		}
	}
	if err := l.insert(ctx, m); err != nil {
		if created {
			l.removeBlobIfUnused(ctx, digest)
		}
		return ImportResult{}, err
	}
	m.Path, _ = l.blobPath(digest)
	l.changed("added", m)
	return ImportResult{Model: m}, nil
}

// importInPlace records a file outside the store. folderID is non-zero when
// a library folder scan found it.
func (l *Library) importInPlace(ctx context.Context, abs string, info os.FileInfo, meta Meta, opts ImportOptions, folderID int64) (ImportResult, error) {
	if existing, err := l.modelByPath(ctx, abs); err != nil {
		return ImportResult{}, err
	} else if existing != nil {
		return ImportResult{Model: existing, Existing: true}, nil
	}
	m := &Model{ID: newID(), Name: opts.Name, Size: info.Size(), Location: InPlace, Path: abs,
		FolderID: folderID, Source: opts.Source, Meta: meta, AddedAt: l.now(), mtime: info.ModTime().UnixNano(),
		Support: SupportOf(meta)}
	if m.Name == "" {
		var err error
		if m.Name, err = l.freeName(ctx, NameFromFile(abs)); err != nil {
			return ImportResult{}, err
		}
	}
	if err := l.insert(ctx, m); err != nil {
		return ImportResult{}, err
	}
	l.changed("added", m)
	return ImportResult{Model: m}, nil
}

func (l *Library) modelByDigest(ctx context.Context, digest string) (*Model, error) {
	return l.modelWhere(ctx, `m.location = 'blob' AND m.digest = ? ORDER BY m.added_at LIMIT 1`, digest)
}

func (l *Library) modelByPath(ctx context.Context, path string) (*Model, error) {
	return l.modelWhere(ctx, `m.location = 'path' AND m.path = ? AND m.base = ''`, path)
}

// modelWhere returns the first model matching the condition, or nil.
func (l *Library) modelWhere(ctx context.Context, cond string, args ...any) (*Model, error) {
	m, err := l.scanModel(l.db.QueryRowContext(ctx, `SELECT `+modelColumns+` FROM models m WHERE `+cond, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up model: %w", err)
	}
	return m, l.loadNames(ctx, []*Model{m})
}

// answersTo reports whether m has the given name or alias.
func (l *Library) answersTo(ctx context.Context, m *Model, name string) bool {
	var id string
	err := l.db.QueryRowContext(ctx, `SELECT model_id FROM model_names WHERE name = ?`, name).Scan(&id)
	return err == nil && id == m.ID
}

// removeBlobIfUnused deletes the blob with the digest when no model refers
// to it. It reports whether it deleted it.
func (l *Library) removeBlobIfUnused(ctx context.Context, digest string) bool {
	blob, err := BlobName(digest)
	if err != nil {
		return false
	}
	used, err := l.digestUsed(ctx, l.db, digest)
	if err != nil || used {
		return false
	}
	return l.root.Remove(blobsDir+"/"+blob) == nil
}

// syncDir makes a rename in dir durable (best effort; not all systems can
// sync a directory).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// touch records that a model was used now.
func (l *Library) touch(ctx context.Context, id string) error {
	_, err := l.db.ExecContext(ctx, `UPDATE models SET last_used_at = ? WHERE id = ?`, l.now().UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("mark model used: %w", err)
	}
	return nil
}
