package library

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"inferenceruntime/internal/testshared"
)

// sharedVision returns the shared tiny Gemma 3 and its projector, or skips.
func sharedVision(t *testing.T) (model, proj string) {
	f := testshared.Vision(t)
	return f.Model, f.Projector
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestImportWithProjector(t *testing.T) {
	model, proj := sharedVision(t)
	l, _, _ := openTest(t)
	ctx := context.Background()

	if _, err := l.Import(ctx, proj, ImportOptions{}); !errors.Is(err, ErrIsProjector) {
		t.Fatalf("importing a projector as a model: %v, want ErrIsProjector", err)
	}
	res, err := l.Import(ctx, model, ImportOptions{Name: "vis", Projector: proj})
	if err != nil {
		t.Fatal(err)
	}
	m := res.Model
	if want := fileSHA(t, proj); m.ProjectorDigest != want || filepath.Base(m.Projector) != "sha256-"+want {
		t.Fatalf("projector %q digest %q, want the blob of %s", m.Projector, m.ProjectorDigest, want)
	}
	if fileSHA(t, m.Projector) != m.ProjectorDigest {
		t.Fatal("projector blob does not hold the file's bytes")
	}
	got, err := l.Find(ctx, "vis")
	if err != nil || got.Projector != m.Projector {
		t.Fatalf("find: %v %+v", err, got)
	}
	// The blob is in use: startup's orphan collection keeps it.
	if used, err := l.digestUsed(ctx, l.db, m.ProjectorDigest); err != nil || !used {
		t.Fatalf("projector blob not counted as used: %v", err)
	}
	// Unpairing keeps the model and drops the blob no one uses.
	if m, err = l.SetProjector(ctx, "vis", ""); err != nil || m.Projector != "" {
		t.Fatalf("unpair: %v %+v", err, m)
	}
	if have, _ := l.HasBlob(res.Model.ProjectorDigest); have {
		t.Fatal("unpaired projector blob left behind")
	}
	if m, err = l.SetProjector(ctx, "vis", proj); err != nil || m.Projector == "" {
		t.Fatalf("pair again: %v", err)
	}
	if _, err := l.Remove(ctx, "vis"); err != nil {
		t.Fatal(err)
	}
	if have, _ := l.HasBlob(m.ProjectorDigest); have {
		t.Fatal("projector blob of a removed model left behind")
	}
}

func TestProjectorFoundNextToModel(t *testing.T) {
	model, proj := sharedVision(t)
	l, _, dir := openTest(t)
	ctx := context.Background()
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, model, filepath.Join(src, "tiny-gemma3-f32.gguf"))
	copyFile(t, proj, filepath.Join(src, "mmproj-tiny-gemma3-f32.gguf"))

	res, err := l.Import(ctx, filepath.Join(src, "tiny-gemma3-f32.gguf"), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Model.ProjectorDigest == "" {
		t.Fatal("the projector next to the model was not paired")
	}
	inPlace, err := l.Import(ctx, filepath.Join(src, "tiny-gemma3-f32.gguf"), ImportOptions{InPlace: true, Name: "here"})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(src, "mmproj-tiny-gemma3-f32.gguf"); inPlace.Model.Projector != want || inPlace.Model.ProjectorDigest != "" {
		t.Fatalf("in place: projector %q digest %q, want the file where it lies", inPlace.Model.Projector, inPlace.Model.ProjectorDigest)
	}
}

func TestProjectorOfWrongSize(t *testing.T) {
	_, proj := sharedVision(t)
	l, _, dir := openTest(t)
	ctx := context.Background()
	other := filepath.Join(dir, "other.gguf")
	writeModel(t, other, 4096, 1)
	if _, err := l.Import(ctx, other, ImportOptions{Projector: proj}); !errors.Is(err, ErrProjector) {
		t.Fatalf("a projector of another embedding size: %v, want ErrProjector", err)
	}
	if _, err := l.Import(ctx, other, ImportOptions{Projector: other}); !errors.Is(err, ErrProjector) {
		t.Fatalf("a model as projector: %v, want ErrProjector", err)
	}
	if ms, _ := l.List(ctx); len(ms) != 0 {
		t.Fatalf("a refused import left %d models", len(ms))
	}
}
