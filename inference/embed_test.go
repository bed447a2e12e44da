package inference_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"inferenceruntime/inference"
	"inferenceruntime/internal/testshared"
)

// embedRef is one file of ../shared/models/embed: llama.cpp's pooled,
// L2-normalised embeddings of a few texts.
type embedRef struct {
	Model   string `json:"model"`
	Pooling string `json:"pooling"`
	NEmbd   int    `json:"n_embd"`
	Inputs  []struct {
		Text      string    `json:"text"`
		TokenIDs  []int32   `json:"token_ids"`
		Embedding []float64 `json:"embedding"`
	} `json:"inputs"`
}

// TestEmbedReferences embeds the reference texts with tiny-bert (CLS
// pooling from its metadata) and tiny-qwen3 (mean pooling asked for): the
// token ids must be llama.cpp's and every component within 1e-3 of its
// (MANIFEST.md, section "embed/").
func TestEmbedReferences(t *testing.T) {
	dir := testshared.Dir(t, "models")
	for _, c := range []struct{ ref, model, pooling string }{
		{"embed/tiny-bert.embed.json", "embed/tiny-bert.gguf", ""},
		{"embed/tiny-qwen3-f32.mean.embed.json", "conf-tiny/tiny-qwen3-f32.gguf", "mean"},
	} {
		t.Run(c.model, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, c.ref))
			if err != nil {
				t.Fatal(err)
			}
			var want embedRef
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			m, err := inference.Load(filepath.Join(dir, c.model), inference.Options{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if p, _ := m.Pooling(); c.pooling == "" && p.String() != want.Pooling {
				t.Errorf("the file's pooling is %v, the reference's %s", p, want.Pooling)
			}
			texts := make([]string, len(want.Inputs))
			for i, in := range want.Inputs {
				texts[i] = in.Text
			}
			got, err := m.EmbedTexts(context.Background(), texts, inference.EmbedOptions{Pooling: c.pooling})
			if err != nil {
				t.Fatal(err)
			}
			worst := 0.0
			for i, in := range want.Inputs {
				ids, _ := m.Tokenizer().Encode(in.Text, true, true)
				if !slices.Equal(ids, in.TokenIDs) {
					t.Errorf("input %d: tokens %v, want %v", i, ids, in.TokenIDs)
				}
				if got[i].Tokens != len(in.TokenIDs) || len(got[i].Vectors) != 1 || len(got[i].Vectors[0]) != want.NEmbd {
					t.Fatalf("input %d: %d tokens, %d vectors", i, got[i].Tokens, len(got[i].Vectors))
				}
				for j, w := range in.Embedding {
					worst = math.Max(worst, math.Abs(float64(got[i].Vectors[0][j])-w))
				}
			}
			t.Logf("max abs difference per component: %.2e", worst)
			if worst > 1e-3 {
				t.Errorf("max abs difference %.2e > 1e-3", worst)
			}
		})
	}
}

// TestEmbedOptions checks truncation, the context limit, dimensions and
// per-token pooling on tiny-bert.
func TestEmbedOptions(t *testing.T) {
	dir := testshared.Dir(t, "models")
	m, err := inference.Load(filepath.Join(dir, "embed/tiny-bert.gguf"), inference.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	long := "one two three four five six seven eight nine ten"
	var tooLong *inference.ErrTooLong
	if _, err := m.EmbedTexts(ctx, []string{long}, inference.EmbedOptions{ContextLength: 8}); !errors.As(err, &tooLong) {
		t.Fatalf("an input past the context: %v, want ErrTooLong", err)
	}
	e, err := m.EmbedTexts(ctx, []string{long}, inference.EmbedOptions{ContextLength: 8, Truncate: true, Dimensions: 16})
	if err != nil {
		t.Fatal(err)
	}
	if e[0].Tokens != 8 || !e[0].Truncated || len(e[0].Vectors[0]) != 16 {
		t.Errorf("truncated to %d tokens (%v), %d dimensions; want 8, true, 16", e[0].Tokens, e[0].Truncated, len(e[0].Vectors[0]))
	}
	ss := 0.0
	for _, v := range e[0].Vectors[0] {
		ss += float64(v) * float64(v)
	}
	if math.Abs(ss-1) > 1e-5 {
		t.Errorf("squared norm %v after dimensions, want 1", ss)
	}
	e, err = m.EmbedTexts(ctx, []string{"Hello world"}, inference.EmbedOptions{Pooling: "none"})
	if err != nil {
		t.Fatal(err)
	}
	if len(e[0].Vectors) != 4 {
		t.Errorf("pooling none: %d vectors for 4 tokens", len(e[0].Vectors))
	}
	if _, err := m.EmbedTexts(ctx, []string{"x"}, inference.EmbedOptions{Pooling: "max"}); err == nil {
		t.Error("pooling max was accepted")
	}
	if _, err := m.EmbedTexts(ctx, []string{"x"}, inference.EmbedOptions{Dimensions: 129}); err == nil {
		t.Error("129 dimensions of 128 were accepted")
	}
}
