package library

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"inferenceruntime/backend/events"
	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/vision"
)

// ErrProjector marks a vision projector file that does not fit the model
// it is meant for, or that is not a projector at all.
var ErrProjector = errors.New("vision projector")

// ErrIsProjector is returned when a projector file is imported as a model:
// it only turns images into vectors for a model, so it is imported with one.
var ErrIsProjector = errors.New("this is a vision projector (mmproj), not a model; import it with its model (ir import MODEL.gguf --mmproj FILE)")

// ProjectorDim reads a projector file's header, validated like a model's,
// and returns the embedding size of the text model its vectors feed.
func ProjectorDim(path string) (int, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrProjector, err)
	}
	defer f.Close()
	c, err := vision.ReadConfig(f)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrProjector, err)
	}
	return c.ProjectionDim, nil
}

// attachFound pairs a newly recorded model with a projector lying next to
// its file, if one fits. Failing to is no reason to fail the import: the
// model reads text either way, and the user can pair one later.
func (l *Library) attachFound(ctx context.Context, m *Model, file string) *Model {
	if m.Projector != "" {
		return m
	}
	p := FindProjector(file, int(m.Meta.HParams.Embd))
	if p == "" {
		return m
	}
	if got, err := l.SetProjector(ctx, m.ID, p); err == nil {
		return got
	}
	return m
}

// FindProjector looks in the folder of a model file for a vision projector
// that fits it: a .gguf file with "mmproj" in its name, general.architecture
// "clip", and vectors of the model's embedding size (nEmbd; 0 = any).
// Among several, the one whose name shares the longest start with the
// model's wins; ties go to the first by name, so the choice is stable. It
// returns "" when there is none.
func FindProjector(modelPath string, nEmbd int) string {
	dir, base := filepath.Dir(modelPath), filepath.Base(modelPath)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	var found []string
	for _, e := range entries {
		name := e.Name()
		lower := strings.ToLower(name)
		if e.IsDir() || name == base || !strings.HasSuffix(lower, ".gguf") || !strings.Contains(lower, "mmproj") {
			continue
		}
		if dim, err := ProjectorDim(filepath.Join(dir, name)); err == nil && (nEmbd <= 0 || dim == nEmbd) {
			found = append(found, name)
		}
	}
	if len(found) == 0 {
		return ""
	}
	shared := func(a string) int {
		n := 0
		for n < len(a) && n < len(base) && a[n] == base[n] {
			n++
		}
		return n
	}
	sort.SliceStable(found, func(i, j int) bool { return shared(found[i]) > shared(found[j]) })
	return filepath.Join(dir, found[0])
}

// checkProjector validates a projector file for model m.
func checkProjector(m *Model, path string) error {
	dim, err := ProjectorDim(path)
	if err != nil {
		return err
	}
	if want := m.Meta.HParams.Embd; want > 0 && int64(dim) != want {
		return fmt.Errorf("%w: it makes vectors of %d values; %s's embeddings have %d", ErrProjector, dim, m.Name, want)
	}
	return nil
}

// SetProjector pairs the model ref names with the vision projector file at
// path ("" removes the pairing). The file is validated first and must feed
// vectors of the model's embedding size. A model kept in the store gets a
// copy of the projector as a blob (written and synced before the record
// points at it, so a crash leaves at worst an orphan blob); a model used
// in place gets the file where it lies. Custom models made from the model
// share its projector.
func (l *Library) SetProjector(ctx context.Context, ref, path string) (*Model, error) {
	m, err := l.Find(ctx, ref)
	if err != nil {
		return nil, err
	}
	var digest, inPlace string
	if path != "" {
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, fmt.Errorf("projector %s: %w", path, err)
		}
		if err := checkProjector(m, abs); err != nil {
			return nil, fmt.Errorf("projector %s: %w", abs, err)
		}
		if m.Location == InPlace {
			inPlace = abs
		} else if digest, err = l.storeProjector(ctx, abs); err != nil {
			return nil, fmt.Errorf("projector %s: %w", abs, err)
		}
	}
	_, err = l.db.ExecContext(ctx, `UPDATE models SET projector_digest = ?, projector_path = ?
		WHERE id = ? OR (base <> '' AND digest = ? AND path = ? AND location = ?)`,
		digest, inPlace, m.ID, m.Digest, storedPath(m), string(m.Location))
	if err != nil {
		if digest != "" {
			l.removeBlobIfUnused(ctx, digest)
		}
		return nil, fmt.Errorf("record projector of %s: %w", m.Name, err)
	}
	if m.ProjectorDigest != "" && m.ProjectorDigest != digest {
		l.removeBlobIfUnused(ctx, m.ProjectorDigest)
	}
	l.changed("updated", m)
	return l.Get(ctx, m.ID)
}

// storedPath is the path column of a model's row.
func storedPath(m *Model) string {
	if m.Location == InBlob {
		return ""
	}
	return m.Path
}

// storeProjector copies a projector file into the blob store and returns
// its digest.
func (l *Library) storeProjector(ctx context.Context, abs string) (string, error) {
	meter := events.NewMeter(l.emit, events.TopicProgress, events.Progress{
		ID: newID(), Kind: "import", Name: filepath.Base(abs)})
	tmp, digest, err := l.copyToTemp(ctx, abs, meter)
	if err != nil {
		return "", err
	}
	return digest, l.adoptBlob(tmp, digest)
}

// adoptBlob renames a complete temp file (relative to the store) to the
// blob of its digest, or drops it when the store has that blob already.
func (l *Library) adoptBlob(tmp, digest string) error {
	blob, err := BlobName(digest)
	if err != nil {
		_ = l.root.Remove(tmp)
		return err
	}
	if have, err := l.HasBlob(digest); err != nil || have {
		_ = l.root.Remove(tmp)
		return err
	}
	if err := l.root.Rename(tmp, blobsDir+"/"+blob); err != nil {
		_ = l.root.Remove(tmp)
		return fmt.Errorf("store blob: %w", err)
	}
	syncDir(filepath.Join(l.dir, blobsDir))
	return nil
}

// AttachProjectorDownload moves a finished, hash-verified projector
// download (a "<uuid>.partial" file of the downloads folder) into the blob
// store and pairs it with the model id. An invalid file is deleted.
func (l *Library) AttachProjectorDownload(ctx context.Context, modelID, partial, digest string) (*Model, error) {
	if !partialPattern.MatchString(partial) {
		return nil, fmt.Errorf("projector download: bad file name %q", partial)
	}
	m, err := l.Get(ctx, modelID)
	if err != nil {
		return nil, err
	}
	rel := downloadsDir + "/" + partial
	if err := checkProjector(m, filepath.Join(l.dir, rel)); err != nil {
		_ = l.root.Remove(rel)
		return nil, fmt.Errorf("projector download: %w", err)
	}
	if err := l.adoptBlob(rel, digest); err != nil {
		return nil, err
	}
	_, err = l.db.ExecContext(ctx, `UPDATE models SET projector_digest = ?, projector_path = '' WHERE id = ?
		OR (base <> '' AND location = 'blob' AND digest = ?)`, digest, m.ID, m.Digest)
	if err != nil {
		l.removeBlobIfUnused(ctx, digest)
		return nil, fmt.Errorf("record projector of %s: %w", m.Name, err)
	}
	l.changed("updated", m)
	return l.Get(ctx, m.ID)
}
