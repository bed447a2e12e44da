package library

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Folder is a folder whose GGUF files are indexed in place.
type Folder struct {
	ID      int64     `json:"id"`
	Path    string    `json:"path"`
	AddedAt time.Time `json:"addedAt"`
	Models  int       `json:"models"` // models found there
}

// ScanReport tells what a rescan changed.
type ScanReport struct {
	Added    []string   `json:"added"`    // names of new models
	Missing  []string   `json:"missing"`  // names of models whose file vanished
	Restored []string   `json:"restored"` // names of models whose file came back
	Skipped  []ScanSkip `json:"skipped"`  // candidate files that were not indexed
}

// ScanSkip is a file a scan looked at and left out.
type ScanSkip struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// maxScanDepth bounds how deep a folder scan descends.
const maxScanDepth = 10

// SuggestedFolders returns the folders other apps keep GGUF files in that
// exist on this machine: Hugging Face's cache, LM Studio's and Ollama's.
func SuggestedFolders() []string {
	home, err := os.UserHomeDir()
	if err != nil {
		return nil
	}
	var out []string
	hf := filepath.Join(home, ".cache", "huggingface", "hub")
	if v := os.Getenv("HF_HUB_CACHE"); v != "" {
		hf = v
	}
	for _, p := range []string{hf, filepath.Join(home, ".lmstudio", "models"),
		filepath.Join(home, ".cache", "lm-studio", "models"), filepath.Join(home, ".ollama", "models", "blobs")} {
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			out = append(out, p)
		}
	}
	return out
}

// AddFolder adds a folder to index and scans it.
func (l *Library) AddFolder(ctx context.Context, path string) (Folder, ScanReport, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return Folder{}, ScanReport{}, fmt.Errorf("add folder %s: %w", path, err)
	}
	abs = filepath.Clean(abs)
	if fi, err := os.Stat(abs); err != nil {
		return Folder{}, ScanReport{}, fmt.Errorf("add folder: %w", err)
	} else if !fi.IsDir() {
		return Folder{}, ScanReport{}, fmt.Errorf("add folder %s: not a folder", abs)
	}
	if within(abs, l.dir) {
		return Folder{}, ScanReport{}, fmt.Errorf("add folder %s: it is inside the library's own store", abs)
	}
	now := l.now()
	res, err := l.db.ExecContext(ctx, `INSERT INTO library_folders (path, added_at) VALUES (?, ?)`, abs, now.UnixMilli())
	if err != nil {
		if l.folderID(ctx, abs) != 0 {
			return Folder{}, ScanReport{}, fmt.Errorf("add folder %s: already a library folder", abs)
		}
		return Folder{}, ScanReport{}, fmt.Errorf("add folder %s: %w", abs, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return Folder{}, ScanReport{}, fmt.Errorf("add folder %s: %w", abs, err)
	}
	f := Folder{ID: id, Path: abs, AddedAt: now}
	var rep ScanReport
	if err := l.scanFolder(ctx, f, &rep); err != nil {
		return f, rep, err
	}
	f.Models = len(rep.Added)
	return f, rep, nil
}

func (l *Library) folderID(ctx context.Context, abs string) int64 {
	var id int64
	_ = l.db.QueryRowContext(ctx, `SELECT id FROM library_folders WHERE path = ?`, abs).Scan(&id)
	return id
}

// RemoveFolder stops indexing a folder (given by path) and forgets the
// models found there. The files themselves are not touched.
func (l *Library) RemoveFolder(ctx context.Context, path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("remove folder %s: %w", path, err)
	}
	res, err := l.db.ExecContext(ctx, `DELETE FROM library_folders WHERE path = ?`, filepath.Clean(abs))
	if err != nil {
		return fmt.Errorf("remove folder %s: %w", abs, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: no library folder %s", ErrNotFound, abs)
	}
	l.changed("rescanned", nil)
	return nil
}

// Folders lists the library folders with the number of models in each.
func (l *Library) Folders(ctx context.Context) ([]Folder, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT f.id, f.path, f.added_at,
		(SELECT count(*) FROM models m WHERE m.folder_id = f.id) FROM library_folders f ORDER BY f.path`)
	if err != nil {
		return nil, fmt.Errorf("list folders: %w", err)
	}
	defer rows.Close()
	var out []Folder
	for rows.Next() {
		var f Folder
		var added int64
		if err := rows.Scan(&f.ID, &f.Path, &added, &f.Models); err != nil {
			return nil, fmt.Errorf("list folders: %w", err)
		}
		f.AddedAt = time.UnixMilli(added)
		out = append(out, f)
	}
	return out, rows.Err()
}

// Rescan walks every library folder: new GGUF files become models, models
// whose file vanished are marked missing, returning files are restored.
// Nothing is copied. A folder that cannot be read marks nothing missing.
func (l *Library) Rescan(ctx context.Context) (ScanReport, error) {
	folders, err := l.Folders(ctx)
	if err != nil {
		return ScanReport{}, err
	}
	var rep ScanReport
	for _, f := range folders {
		if err := l.scanFolder(ctx, f, &rep); err != nil {
			rep.Skipped = append(rep.Skipped, ScanSkip{Path: f.Path, Reason: err.Error()})
		}
	}
	l.changed("rescanned", nil)
	return rep, nil
}

// scanFolder indexes one folder.
func (l *Library) scanFolder(ctx context.Context, f Folder, rep *ScanReport) error {
	if fi, err := os.Stat(f.Path); err != nil || !fi.IsDir() {
		return fmt.Errorf("folder %s is not readable: %v", f.Path, err)
	}
	found := l.findGGUF(ctx, f.Path, rep)
	ollama := ollamaNames(f.Path)

	rows, err := l.db.QueryContext(ctx, `SELECT `+modelColumns+` FROM models m WHERE m.folder_id = ?`, f.ID)
	if err != nil {
		return fmt.Errorf("scan %s: %w", f.Path, err)
	}
	known := map[string]*Model{}
	for rows.Next() {
		m, err := l.scanModel(rows)
		if err != nil {
			rows.Close()
			return fmt.Errorf("scan %s: %w", f.Path, err)
		}
		known[m.Path] = m
	}
	rows.Close()

	paths := make([]string, 0, len(found))
	for p := range found {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return err
		}
		if m := known[p]; m != nil {
			if m.Missing {
				if err := l.check(ctx, m); err == nil {
					rep.Restored = append(rep.Restored, m.Name)
				}
			}
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			continue
		}
		meta, err := validate(p)
		if err != nil {
			rep.Skipped = append(rep.Skipped, ScanSkip{Path: p, Reason: err.Error()})
			continue
		}
		if meta.Architecture == "clip" {
			continue // a projector: its model picks it up below
		}
		name, err := l.freeName(ctx, folderModelName(p, ollama))
		if err != nil {
			return err
		}
		res, err := l.importInPlace(ctx, p, info, meta, ImportOptions{Name: name, Source: p}, f.ID)
		if err != nil {
			rep.Skipped = append(rep.Skipped, ScanSkip{Path: p, Reason: err.Error()})
			continue
		}
		if !res.Existing {
			rep.Added = append(rep.Added, res.Model.Name)
			l.attachFound(ctx, res.Model, p)
		}
	}
	for p, m := range known {
		if _, ok := found[p]; !ok && !m.Missing {
			if err := l.setMissing(ctx, m.ID, true); err != nil {
				return fmt.Errorf("scan %s: %w", f.Path, err)
			}
			rep.Missing = append(rep.Missing, m.Name)
		}
	}
	return nil
}

// findGGUF walks dir and returns the GGUF files in it, keyed by the path to
// record. A file reached several ways (Hugging Face's cache links snapshot
// names to hash-named blobs) is recorded once, under its most readable path.
func (l *Library) findGGUF(ctx context.Context, dir string, rep *ScanReport) map[string]bool {
	best := map[string]string{} // real path -> path to record
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || ctx.Err() != nil {
			if d != nil && d.IsDir() && p != dir {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			if p != dir && (strings.HasPrefix(d.Name(), ".") || strings.Count(rel, string(filepath.Separator)) >= maxScanDepth || within(p, l.dir)) {
				return fs.SkipDir
			}
			return nil
		}
		name := d.Name()
		ext := strings.ToLower(filepath.Ext(name))
		if ext != ".gguf" && ext != "" && !strings.HasPrefix(name, "sha256-") {
			return nil
		}
		info, err := os.Stat(p) // follows links
		if err != nil || !info.Mode().IsRegular() || !hasGGUFMagic(p) {
			return nil
		}
		if IsSplitShard(name) {
			rep.Skipped = append(rep.Skipped, ScanSkip{Path: p, Reason: "split GGUF files are not supported"})
			return nil
		}
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			return nil
		}
		if cur, ok := best[real]; !ok || betterPath(p, cur) {
			best[real] = p
		}
		return nil
	})
	out := map[string]bool{}
	for _, p := range best {
		out[p] = true
	}
	return out
}

// splitPattern matches the shards of a split GGUF model.
var splitPattern = regexp.MustCompile(`(?i)-\d{5}-of-\d{5}\.gguf$`)

// IsSplitShard reports whether a file name is one shard of a GGUF model
// split into several files (name-00001-of-00003.gguf), which the engine
// cannot load yet.
func IsSplitShard(name string) bool { return splitPattern.MatchString(name) }

// betterPath prefers a name ending in .gguf, then the shorter, then the
// smaller path, so that the choice is stable between scans.
func betterPath(a, b string) bool {
	ag, bg := strings.EqualFold(filepath.Ext(a), ".gguf"), strings.EqualFold(filepath.Ext(b), ".gguf")
	if ag != bg {
		return ag
	}
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

func hasGGUFMagic(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil {
		return false
	}
	return bytes.Equal(magic[:], []byte("GGUF"))
}

// within reports whether p is dir or inside it.
func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// hfCachePattern recognises Hugging Face's cache layout:
// models--ORG--REPO/snapshots/REV/FILE.
var hfCachePattern = regexp.MustCompile(`models--([^/\\]+)--([^/\\]+)[/\\]snapshots[/\\][^/\\]+[/\\](.+)$`)

// folderModelName names a model found by a scan: ORG/REPO:QUANT for Hugging
// Face's cache, Ollama's own name for its blobs, else the file name.
func folderModelName(path string, ollama map[string]string) string {
	if m := hfCachePattern.FindStringSubmatch(path); m != nil {
		name := m[1] + "/" + m[2]
		if q := QuantFromFileName(m[3]); q != "" {
			name += ":" + q
		} else {
			name += ":" + NameFromFile(m[3])
		}
		if ValidateName(name) == nil {
			return name
		}
	}
	if n, ok := ollama[filepath.Base(path)]; ok && ValidateName(n) == nil {
		return n
	}
	return NameFromFile(path)
}

// ollamaNames maps Ollama blob file names (sha256-HEX) to the model names
// its manifests give them, when dir is (or holds) Ollama's blobs folder.
func ollamaNames(dir string) map[string]string {
	out := map[string]string{}
	base := dir
	if filepath.Base(dir) == "blobs" {
		base = filepath.Dir(dir)
	}
	manifests := filepath.Join(base, "manifests")
	_ = filepath.WalkDir(manifests, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(manifests, p)
		if err != nil {
			return nil
		}
		// registry.ollama.ai/library/llama3.2/3b -> llama3.2:3b
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if len(parts) < 3 {
			return nil
		}
		repo := strings.Join(parts[1:len(parts)-1], "/")
		repo = strings.TrimPrefix(repo, "library/")
		name := repo + ":" + parts[len(parts)-1]
		data, err := os.ReadFile(p)
		if err != nil || len(data) > 1<<20 {
			return nil
		}
		var mf struct {
			Layers []struct {
				MediaType string `json:"mediaType"`
				Digest    string `json:"digest"`
			} `json:"layers"`
		}
		if json.Unmarshal(data, &mf) != nil {
			return nil
		}
		for _, layer := range mf.Layers {
			if layer.MediaType == "application/vnd.ollama.image.model" {
				d := strings.TrimPrefix(layer.Digest, "sha256:")
				if ValidDigest(d) {
					out["sha256-"+d] = name
				}
			}
		}
		return nil
	})
	return out
}
