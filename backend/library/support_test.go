package library

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"inferenceruntime/backend/library/fixture"

	// Registers "llama" (the fixture's architecture) and "qwen2".
	_ "inferenceruntime/inference/model/llama"
)

func TestArchSupport(t *testing.T) {
	if s := ArchSupport("llama", 100); !s.Supported || s.Reason != "" {
		t.Errorf("llama: %+v", s)
	}
	s := ArchSupport("mamba", 100)
	if s.Supported || !strings.Contains(s.Reason, `architecture "mamba" is not supported`) || !strings.Contains(s.Reason, "llama") {
		t.Errorf("mamba: %+v", s)
	}
	if s := ArchSupport("", 100); s.Supported || !strings.Contains(s.Reason, "general.architecture") {
		t.Errorf("no architecture: %+v", s)
	}
	if s := ArchSupport("llama", 0); s.Supported || !strings.Contains(s.Reason, "no weights") {
		t.Errorf("vocabulary only: %+v", s)
	}
}

// TestListSupport checks that the listing says which installed models this
// build can run, naming the architecture of those it cannot.
func TestListSupport(t *testing.T) {
	l, _, dir := openTest(t)
	ctx := context.Background()
	runs := filepath.Join(dir, "runs.gguf")
	writeModel(t, runs, 64, 1)
	other := filepath.Join(dir, "mamba.gguf")
	w, err := fixture.Writer(64, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SetKV("general.architecture", "mamba"); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFile(other); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{runs, other} {
		res, err := l.Import(ctx, p, ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if want := p == runs; res.Model.Support.Supported != want {
			t.Errorf("import %s: support %+v", p, res.Model.Support)
		}
	}
	ms, err := l.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Support{}
	for _, m := range ms {
		got[m.Meta.Architecture] = m.Support
	}
	if !got["llama"].Supported || got["mamba"].Supported || !strings.Contains(got["mamba"].Reason, `"mamba"`) {
		t.Errorf("listed support %+v", got)
	}
	adhoc, err := l.Resolve(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	if adhoc.Support.Supported {
		t.Errorf("resolved %s: %+v", other, adhoc.Support)
	}
}
