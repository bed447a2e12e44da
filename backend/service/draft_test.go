package service

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"inferenceruntime/backend/library"
	"inferenceruntime/inference/model/synth"
	"inferenceruntime/inference/sample"
)

// importSynth writes a synthetic model of shape (with vocab tokens when
// not 0) and imports it into s as name.
func importSynth(t *testing.T, s *Service, name, shape string, vocab int, seed uint64) {
	t.Helper()
	sh, ok := synth.ShapeByName(shape)
	if !ok {
		t.Fatalf("no shape %s", shape)
	}
	if vocab > 0 {
		sh.Vocab = vocab
	}
	plan, err := synth.NewPlan(sh, "F32")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name+".gguf")
	if err := plan.WriteFile(path, seed); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ImportModel(context.Background(), path, library.ImportOptions{Name: name, InPlace: true}); err != nil {
		t.Fatal(err)
	}
}

// Speculative decoding through the runner: a draft model or prompt lookup
// changes no token of the reply, the stats count the drafts, and a draft
// model of another vocabulary is refused by name but skipped as the
// runner's default.
func TestRunnerDraft(t *testing.T) {
	s, _ := runnerFixture(t)
	importSynth(t, s, "tiny-draft", "tiny", 0, 7)
	importSynth(t, s, "wide", "tiny", 1024, 1)
	ctx := context.Background()
	for _, parallel := range []int{1, 2} {
		r := s.NewRunner(false, RunnerOptions{Threads: 1, MemoryLimit: -1, Parallel: parallel})
		gen := func(draft string) GenerateResult {
			t.Helper()
			opts := GenerateOptions{Sampling: sample.Params{Temperature: 0}, MaxTokens: 24, Draft: draft}
			res, err := r.Generate(ctx, GenerateRequest{Model: "tiny", Prompt: "one two one two one two", Raw: true, Options: opts}, nil)
			if err != nil {
				t.Fatalf("parallel %d, draft %q: %v", parallel, draft, err)
			}
			return res
		}
		plain := gen("")
		if plain.Stats.DraftedTokens != 0 {
			t.Errorf("parallel %d: drafted %d tokens without a draft", parallel, plain.Stats.DraftedTokens)
		}
		for _, draft := range []string{"tiny", "tiny-draft", DraftLookup} {
			res := gen(draft)
			if res.Text != plain.Text {
				t.Errorf("parallel %d, draft %q: %q, want %q as without", parallel, draft, res.Text, plain.Text)
			}
			st := res.Stats
			if st.AcceptedTokens > st.DraftedTokens || draft != DraftLookup && st.DraftedTokens == 0 {
				t.Errorf("parallel %d, draft %q: %d drafted, %d accepted", parallel, draft, st.DraftedTokens, st.AcceptedTokens)
			}
			// The model drafting for itself is right every time.
			if draft == "tiny" && st.AcceptedTokens != st.DraftedTokens {
				t.Errorf("parallel %d: the model drafting for itself had %d of %d accepted", parallel, st.AcceptedTokens, st.DraftedTokens)
			}
		}
		var inv *InvalidError
		_, err := r.Generate(ctx, GenerateRequest{Model: "tiny", Prompt: "a", Options: GenerateOptions{Draft: "missing"}}, nil)
		if !errors.As(err, &inv) || inv.Field != "draft" {
			t.Errorf("a draft model that is not installed: %v", err)
		}
		_, err = r.Generate(ctx, GenerateRequest{Model: "tiny", Prompt: "a", Options: GenerateOptions{Draft: "wide", MaxTokens: 2}}, nil)
		if !errors.As(err, &inv) || inv.Field != "draft" || !strings.Contains(err.Error(), "vocabulary") {
			t.Errorf("a draft model of another vocabulary: %v", err)
		}
		r.Close()
	}
	// The runner's default drafts only for models of its vocabulary, and a
	// request can turn it off.
	r := s.NewRunner(false, RunnerOptions{Threads: 1, MemoryLimit: -1, Draft: "wide"})
	defer r.Close()
	opts := GenerateOptions{Sampling: sample.Params{Temperature: 0}, MaxTokens: 8}
	res, err := r.Generate(ctx, GenerateRequest{Model: "tiny", Prompt: "a b a b", Raw: true, Options: opts}, nil)
	if err != nil || res.Stats.DraftedTokens != 0 {
		t.Errorf("default draft of another vocabulary: %+v, %v", res.Stats, err)
	}
	opts.Draft = DraftNone
	if _, err := r.Generate(ctx, GenerateRequest{Model: "wide", Prompt: "a b a b", Raw: true, Options: opts}, nil); err != nil {
		t.Errorf("draft none: %v", err)
	}
}
