package service

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"inferenceruntime/backend/events"
	"inferenceruntime/backend/library"
	"inferenceruntime/backend/library/fixture"
	"inferenceruntime/backend/modelstore"
)

func TestServiceImportPullList(t *testing.T) {
	home := t.TempDir()
	repo := t.TempDir()
	if err := fixture.Model(filepath.Join(repo, "Tiny-Q8_0.gguf"), 64<<10, 1); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(&modelstore.Mirror{Repos: map[string]string{"org/tiny": repo}})
	defer ts.Close()
	ctx := context.Background()
	s, err := Open(ctx, Options{Home: home, StoreURL: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rec := &events.Recorder{}
	s.SetEmitter(rec)

	local := filepath.Join(t.TempDir(), "local.gguf")
	if err := fixture.Model(local, 1024, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ImportModel(ctx, local, library.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := s.Pull(ctx, "org/tiny")
	if err != nil || res.Model != nil || res.Target.Name != "org/tiny:Q8_0" {
		t.Fatalf("pull = %+v, %v", res, err)
	}
	if d, err := s.WaitDownload(ctx, res.Download.ID); err != nil || d.State != modelstore.StateDone {
		t.Fatalf("download = %+v, %v", d, err)
	}
	ms, err := s.ListModels(ctx)
	if err != nil || len(ms) != 2 {
		t.Fatalf("models = %v, %v", ms, err)
	}
	again, err := s.Pull(ctx, "org/tiny:Q8_0")
	if err != nil || again.Model == nil || again.Download.ID != "" {
		t.Fatalf("second pull = %+v, %v; want the installed model", again, err)
	}
	if len(rec.Events()) == 0 {
		t.Error("no events reached the emitter set after Open")
	}
	fit, err := s.ModelFit(ctx, "org/tiny:Q8_0", 0)
	if err != nil || fit.Context != 2048 || fit.Weights != ms[1].Size && fit.Weights != ms[0].Size {
		t.Fatalf("fit = %+v, %v", fit, err)
	}
	pf, err := s.PullFit(ctx, res.Target, 512)
	if err != nil || pf.Context != 512 || !pf.Exact {
		t.Fatalf("pull fit = %+v, %v", pf, err)
	}
	// A context past the model's is what a run would get: the model's.
	if huge, err := s.ModelFit(ctx, "org/tiny:Q8_0", 1<<40); err != nil || huge.Context != 2048 {
		t.Fatalf("fit at 2^40 tokens = %+v, %v; want the model's 2048", huge, err)
	}
	if huge, err := s.PullFit(ctx, res.Target, 1<<40); err != nil || huge.Context != 2048 {
		t.Fatalf("pull fit at 2^40 tokens = %+v, %v; want the model's 2048", huge, err)
	}
	entries, err := s.StoreList(ctx, "stories", 0)
	if err != nil || len(entries) != 1 || entries[0].Variants[0].Installed || entries[0].Variants[0].Fit.Total == 0 {
		t.Fatalf("store list = %+v, %v", entries, err)
	}
}
