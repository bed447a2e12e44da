package modelstore

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"inferenceruntime/internal/testshared"
)

// TestPullWithProjector: a catalog model with a projector downloads both;
// the projector waits for the model, lands as a blob and is paired with it.
func TestPullWithProjector(t *testing.T) {
	vf := testshared.Vision(t)
	repo := t.TempDir()
	for name, src := range map[string]string{"tiny-gemma3-F32.gguf": vf.Model, "mmproj-tiny-gemma3-f32.gguf": vf.Projector} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(repo, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ts := httptest.NewServer(&Mirror{Repos: map[string]string{"e2e/tiny-vision": repo}})
	t.Cleanup(ts.Close)
	cat := &Catalog{Models: []CatalogModel{{ID: "tiny-vision", Repo: "e2e/tiny-vision", Default: "F32",
		Variants:  []Variant{{Quant: "F32", File: "tiny-gemma3-F32.gguf", Size: 1}},
		Projector: &Projector{File: "mmproj-tiny-gemma3-f32.gguf", Size: 1}}}}
	r := &Resolver{BaseURL: ts.URL, Client: ts.Client(), Catalog: cat}
	target, err := r.Resolve(context.Background(), "tiny-vision")
	if err != nil || target.Projector == nil {
		t.Fatalf("resolve: %v %+v", err, target)
	}
	e := newEnv(t, t.TempDir(), testOptions())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := e.mgr.Start(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	if d, err = e.mgr.Wait(ctx, d.ID); err != nil || d.State != StateDone {
		t.Fatalf("pull: %v %+v", err, d)
	}
	m, err := e.lib.Find(ctx, target.Name)
	if err != nil {
		t.Fatal(err)
	}
	if m.ProjectorDigest == "" {
		t.Fatal("the model was installed without its projector")
	}
	ds, err := e.mgr.List(ctx)
	if err != nil || len(ds) != 2 {
		t.Fatalf("%d downloads (%v), want the model's and its projector's", len(ds), err)
	}
	for _, x := range ds {
		if x.State != StateDone {
			t.Errorf("download %s: %s %s", x.Name, x.State, x.Error)
		}
	}
	e.checkNoPartials(t)
}
