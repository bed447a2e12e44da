package library

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// minIDPrefix is the shortest id prefix Resolve accepts.
const minIDPrefix = 6

// Resolve finds the model meant by ref and checks that its file is usable.
// ref may be, in this order: a name or alias (any case), a model id or a
// unique id prefix (at least 6 characters), "name:latest" for name, a name
// without its ":tag" when exactly one model has that name with some tag, or
// the path of a GGUF file.
// A file that is not in the library comes back as an AdHoc model with its
// metadata and no id.
//
// For an in-place model the file is re-checked: gone → ErrMissing (and the
// model is marked missing); a different size or time → validated and its
// metadata refreshed.
func (l *Library) Resolve(ctx context.Context, ref string) (*Model, error) {
	m, err := l.find(ctx, ref)
	if err != nil {
		return nil, err
	}
	if m == nil {
		return l.resolveFile(ctx, ref)
	}
	return m, l.check(ctx, m)
}

// ResolveInstalled is Resolve without the file-path fallback: only models
// in the library are found. Servers use it so that a client can never make
// them open a file by naming its path. The model's own file is checked as
// by Resolve.
func (l *Library) ResolveInstalled(ctx context.Context, ref string) (*Model, error) {
	m, err := l.Find(ctx, ref)
	if err != nil {
		return nil, err
	}
	return m, l.check(ctx, m)
}

// Find looks a model up in the database only, with the rules of Resolve
// minus the file path: name or alias (any case), id or unique id prefix,
// "name:latest", untagged name. It never opens or stats a file, so Missing
// and the metadata are as last recorded. No match is ErrNotFound; an
// ambiguous untagged name or id prefix is ErrAmbiguous (which matches
// ErrNotFound too).
func (l *Library) Find(ctx context.Context, ref string) (*Model, error) {
	m, err := l.find(ctx, ref)
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, ref)
	}
	return m, nil
}

// Use is Resolve that also records the model as used now.
func (l *Library) Use(ctx context.Context, ref string) (*Model, error) {
	m, err := l.Resolve(ctx, ref)
	if err != nil || m.ID == "" {
		return m, err
	}
	return m, l.touch(ctx, m.ID)
}

// find looks ref up as name, id, id prefix, then untagged name. It returns
// nil, nil when nothing matches.
func (l *Library) find(ctx context.Context, ref string) (*Model, error) {
	if ref == "" {
		return nil, fmt.Errorf("%w: empty name", ErrNotFound)
	}
	var id string
	err := l.db.QueryRowContext(ctx, `SELECT model_id FROM model_names WHERE name = ?`, ref).Scan(&id)
	if err == nil {
		return l.Get(ctx, id)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("look up %q: %w", ref, err)
	}
	if len(ref) >= minIDPrefix && isIDPrefix(ref) {
		ids, err := l.column(ctx, `SELECT id FROM models WHERE substr(id, 1, ?) = ? LIMIT 2`, len(ref), strings.ToLower(ref))
		if m, err := l.onlyOne(ctx, ids, err, fmt.Sprintf("id prefix %q is ambiguous", ref)); m != nil || err != nil {
			return m, err
		}
	}
	// "name:latest" means the name without a tag, as in Ollama.
	if base, ok := cutSuffixFold(ref, ":latest"); ok && base != "" {
		return l.find(ctx, base)
	}
	if !strings.Contains(ref, ":") {
		ids, err := l.column(ctx, `SELECT DISTINCT model_id FROM model_names
			WHERE substr(name, 1, ?) = ? COLLATE NOCASE LIMIT 2`, len(ref)+1, ref+":")
		if m, err := l.onlyOne(ctx, ids, err, fmt.Sprintf("%q has several tags; name one (%s:TAG)", ref, ref)); m != nil || err != nil {
			return m, err
		}
	}
	return nil, nil
}

// onlyOne returns the model when ids holds exactly one id, an error naming
// the ambiguity when it holds more, and nil, nil when it is empty.
func (l *Library) onlyOne(ctx context.Context, ids []string, err error, ambiguous string) (*Model, error) {
	switch {
	case err != nil:
		return nil, err
	case len(ids) == 1:
		return l.Get(ctx, ids[0])
	case len(ids) > 1:
		return nil, fmt.Errorf("%w: %s", ErrAmbiguous, ambiguous)
	}
	return nil, nil
}

func cutSuffixFold(s, suffix string) (string, bool) {
	if len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix) {
		return s[:len(s)-len(suffix)], true
	}
	return s, false
}

func isIDPrefix(s string) bool {
	for _, r := range strings.ToLower(s) {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r == '-') {
			return false
		}
	}
	return true
}

func (l *Library) column(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := l.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query models: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("query models: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// resolveFile treats ref as a file path.
func (l *Library) resolveFile(ctx context.Context, ref string) (*Model, error) {
	abs, err := filepath.Abs(ref)
	if err != nil {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, ref)
	}
	info, err := os.Stat(abs)
	if err != nil || !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %q is neither a model name nor a file", ErrNotFound, ref)
	}
	if m, err := l.modelByPath(ctx, abs); err != nil {
		return nil, err
	} else if m != nil {
		return m, l.check(ctx, m)
	}
	meta, err := validate(abs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", abs, err)
	}
	return &Model{Name: NameFromFile(abs), Size: info.Size(), Location: AdHoc, Path: abs, Source: abs, Meta: meta,
		Support: SupportOf(meta)}, nil
}

// check verifies that a model's file is there and unchanged.
func (l *Library) check(ctx context.Context, m *Model) error {
	switch m.Location {
	case InBlob:
		name, err := BlobName(m.Digest)
		if err != nil {
			return fmt.Errorf("model %s: %w", m.Name, err)
		}
		if _, err := l.root.Stat(blobsDir + "/" + name); err != nil {
			return fmt.Errorf("model %s: %w: blob %s: %v", m.Name, ErrMissing, name, err)
		}
		return nil
	case InPlace:
		info, err := os.Stat(m.Path)
		if err != nil || !info.Mode().IsRegular() {
			if !m.Missing {
				_ = l.setMissing(ctx, m.ID, true)
				m.Missing = true
			}
			return fmt.Errorf("model %s: %w: %s", m.Name, ErrMissing, m.Path)
		}
		if info.Size() == m.Size && info.ModTime().UnixNano() == m.mtime && !m.Missing {
			return nil
		}
		meta, err := validate(m.Path)
		if err != nil {
			return fmt.Errorf("model %s changed on disk (%s): %w", m.Name, m.Path, err)
		}
		return l.refresh(ctx, m, info, meta)
	}
	return nil
}

// refresh records new size, time and metadata of an in-place file.
func (l *Library) refresh(ctx context.Context, m *Model, info os.FileInfo, meta Meta) error {
	metaJSON, err := jsonString(meta)
	if err != nil {
		return err
	}
	_, err = l.db.ExecContext(ctx, `UPDATE models SET size = ?, mtime = ?, missing = 0, architecture = ?, param_count = ?,
		file_type = ?, context_length = ?, vocab_size = ?, chat_template = ?, meta = ? WHERE id = ?`,
		info.Size(), info.ModTime().UnixNano(), meta.Architecture, meta.ParamCount, meta.FileType, meta.ContextLength,
		meta.VocabSize, meta.ChatTemplate, metaJSON, m.ID)
	if err != nil {
		return fmt.Errorf("update model %s: %w", m.Name, err)
	}
	m.Size, m.mtime, m.Missing, m.Meta = info.Size(), info.ModTime().UnixNano(), false, meta
	return nil
}

func (l *Library) setMissing(ctx context.Context, id string, missing bool) error {
	v := 0
	if missing {
		v = 1
	}
	_, err := l.db.ExecContext(ctx, `UPDATE models SET missing = ? WHERE id = ?`, v, id)
	return err
}

// RemoveResult says what Remove did.
type RemoveResult struct {
	ModelID      string `json:"modelId"`
	Name         string `json:"name"`         // the name that was removed
	ModelRemoved bool   `json:"modelRemoved"` // false when only an alias went
	BlobRemoved  bool   `json:"blobRemoved"`
}

// Remove takes a name away. When ref is the model's last name, or its id,
// the model's record goes too, and its blob when no other model uses the
// same bytes. Files imported in place are never deleted.
func (l *Library) Remove(ctx context.Context, ref string) (RemoveResult, error) {
	m, err := l.Find(ctx, ref)
	if err != nil {
		return RemoveResult{}, err
	}
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return RemoveResult{}, fmt.Errorf("remove %q: %w", ref, err)
	}
	defer tx.Rollback()
	res := RemoveResult{ModelID: m.ID, Name: m.Name}
	byName := l.answersTo(ctx, m, ref)
	if byName && len(m.Aliases) > 0 {
		// Only this name goes; if it was the display name, the oldest
		// remaining alias takes its place.
		var canonical string
		if err := tx.QueryRowContext(ctx, `SELECT name FROM model_names WHERE name = ?`, ref).Scan(&canonical); err != nil {
			return RemoveResult{}, fmt.Errorf("remove %q: %w", ref, err)
		}
		res.Name = canonical
		if _, err := tx.ExecContext(ctx, `DELETE FROM model_names WHERE name = ?`, ref); err != nil {
			return RemoveResult{}, fmt.Errorf("remove %q: %w", ref, err)
		}
		if strings.EqualFold(canonical, m.Name) {
			if _, err := tx.ExecContext(ctx, `UPDATE models SET name = (SELECT name FROM model_names
				WHERE model_id = ? ORDER BY created_at, name LIMIT 1) WHERE id = ?`, m.ID, m.ID); err != nil {
				return RemoveResult{}, fmt.Errorf("rename %q: %w", ref, err)
			}
		}
		if err := tx.Commit(); err != nil {
			return RemoveResult{}, fmt.Errorf("remove %q: %w", ref, err)
		}
		l.changed("renamed", m)
		return res, nil
	}
	adapters, err := adapterDigests(ctx, tx, m.ID)
	if err != nil {
		return RemoveResult{}, fmt.Errorf("remove %q: %w", ref, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM models WHERE id = ?`, m.ID); err != nil {
		return RemoveResult{}, fmt.Errorf("remove %q: %w", ref, err)
	}
	if err := tx.Commit(); err != nil {
		return RemoveResult{}, fmt.Errorf("remove %q: %w", ref, err)
	}
	res.ModelRemoved = true
	if m.Location == InBlob {
		res.BlobRemoved = l.removeBlobIfUnused(ctx, m.Digest)
	}
	for _, d := range adapters {
		l.removeBlobIfUnused(ctx, d)
	}
	if m.ProjectorDigest != "" {
		l.removeBlobIfUnused(ctx, m.ProjectorDigest)
	}
	l.changed("removed", m)
	return res, nil
}

// Alias gives the model meant by src the additional name dst.
func (l *Library) Alias(ctx context.Context, src, dst string) (*Model, error) {
	if err := ValidateName(dst); err != nil {
		return nil, err
	}
	m, err := l.Find(ctx, src)
	if err != nil {
		return nil, err
	}
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("alias %q: %w", dst, err)
	}
	defer tx.Rollback()
	if err := addName(ctx, tx, dst, m.ID, l.now()); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("alias %q: %w", dst, err)
	}
	l.changed("renamed", m)
	return l.Get(ctx, m.ID)
}
