package service

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"inferenceruntime/backend/library"
	"inferenceruntime/inference/chattmpl"
	"inferenceruntime/inference/model/synth"
	"inferenceruntime/inference/sample"
)

// runnerFixture opens a service with a synthetic model imported as "tiny"
// and returns it with the model's path.
func runnerFixture(t *testing.T) (*Service, string) {
	t.Helper()
	shape, ok := synth.ShapeByName("tiny")
	if !ok {
		t.Fatal("no tiny shape")
	}
	plan, err := synth.NewPlan(shape, "F32")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	if err := plan.WriteFile(path, 1); err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), Options{Home: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.ImportModel(context.Background(), path, library.ImportOptions{Name: "tiny", InPlace: true}); err != nil {
		t.Fatal(err)
	}
	return s, path
}

func TestRunnerChatAndGenerate(t *testing.T) {
	s, path := runnerFixture(t)
	r := s.NewRunner(true, RunnerOptions{Threads: 1, MemoryLimit: -1})
	defer r.Close()
	ctx := context.Background()
	opts := GenerateOptions{Sampling: sample.Params{Temperature: 0}, MaxTokens: 8}

	var pieces []string
	res, err := r.Chat(ctx, "tiny", []chattmpl.Message{{Role: "user", Content: "Hello"}}, opts, func(s string) error {
		pieces = append(pieces, s)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(pieces, "") != res.Text || res.Stats.GeneratedTokens != 8 || res.DoneReason != "length" {
		t.Fatalf("chat: pieces %q, result %+v", pieces, res)
	}
	if !strings.Contains(res.Prompt, "Hello") || res.Prompt == "Hello" {
		t.Fatalf("prompt %q: not rendered with a template", res.Prompt)
	}
	if res.LoadDuration <= 0 {
		t.Errorf("first request has no load time")
	}
	// The same request again: loaded already, and the pooled session's
	// cache is reused.
	again, err := r.Chat(ctx, "tiny", []chattmpl.Message{{Role: "user", Content: "Hello"}}, opts, nil)
	if err != nil || again.Text != res.Text || again.LoadDuration != 0 || again.Stats.CachedTokens == 0 {
		t.Fatalf("second chat: %+v, %v", again, err)
	}

	// The CLI runner accepts a file path; the API runner does not.
	if _, err := r.Generate(ctx, GenerateRequest{Model: path, Prompt: "a", Options: opts}, nil); err != nil {
		t.Fatalf("path with allowPaths: %v", err)
	}
	api := s.NewRunner(false, RunnerOptions{Threads: 1, MemoryLimit: -1})
	defer api.Close()
	if _, err := api.Generate(ctx, GenerateRequest{Model: path, Prompt: "a", Options: opts}, nil); !errors.Is(err, ErrModelNotFound) {
		t.Fatalf("path without allowPaths: %v", err)
	}
	for _, name := range []string{"TINY", "tiny:latest"} {
		if ref, err := api.Resolve(ctx, name); err != nil || ref.Path != path {
			t.Errorf("resolve %q: %+v, %v", name, ref, err)
		}
	}

	// Bad requests are refused before anything loads.
	fresh := s.NewRunner(false, RunnerOptions{Threads: 1, MemoryLimit: -1, ContextLength: 16})
	defer fresh.Close()
	var inv *InvalidError
	_, err = fresh.Generate(ctx, GenerateRequest{Model: "tiny", Prompt: strings.Repeat("word ", 40), Options: opts}, nil)
	if !errors.As(err, &inv) || inv.Field != "prompt" {
		t.Fatalf("long prompt: %v", err)
	}
	if _, err := fresh.Generate(ctx, GenerateRequest{Model: "tiny", Options: opts}, nil); !errors.As(err, &inv) {
		t.Fatalf("empty prompt: %v", err)
	}
	nan := GenerateOptions{Sampling: sample.Params{Temperature: float32(math.NaN())}, MaxTokens: 8}
	if _, err := fresh.Generate(ctx, GenerateRequest{Model: "tiny", Prompt: "a", Options: nan}, nil); !errors.As(err, &inv) || !strings.Contains(err.Error(), "temperature") {
		t.Fatalf("NaN temperature: %v", err)
	}
	if len(fresh.Loaded()) != 0 {
		t.Fatalf("bad requests loaded a model: %+v", fresh.Loaded())
	}

	// Unload.
	if was, err := r.Unload(ctx, "tiny"); err != nil || !was || len(r.Loaded()) != 0 {
		t.Fatalf("unload: %v, %v, %+v", was, err, r.Loaded())
	}
}

func TestRunnerClosed(t *testing.T) {
	s, _ := runnerFixture(t)
	r := s.NewRunner(false, RunnerOptions{Threads: 1, MemoryLimit: -1})
	r.Close()
	_, err := r.Generate(context.Background(), GenerateRequest{Model: "tiny", Prompt: "a"}, nil)
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

// TestRunnerUsesGGUFTemplate: a model's own chat template renders its
// conversations, and its end-of-turn markers become stop strings.
func TestRunnerUsesGGUFTemplate(t *testing.T) {
	shape, _ := synth.ShapeByName("tiny")
	plan, err := synth.NewPlan(shape, "F32")
	if err != nil {
		t.Fatal(err)
	}
	const tmpl = `{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}</s>{% endfor %}` +
		`{% if add_generation_prompt %}[assistant] {% endif %}`
	plan.KV = append(plan.KV, synth.KV{Key: "tokenizer.chat_template", Value: tmpl})
	path := filepath.Join(t.TempDir(), "templated.gguf")
	if err := plan.WriteFile(path, 1); err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), Options{Home: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.ImportModel(ctx, path, library.ImportOptions{Name: "templated", InPlace: true}); err != nil {
		t.Fatal(err)
	}
	r := s.NewRunner(false, RunnerOptions{Threads: 1, MemoryLimit: -1})
	defer r.Close()
	info, err := r.Describe(ctx, "templated")
	if err != nil || !info.FromGGUF || info.ChatTemplate != tmpl || strings.Join(info.Stops, ",") != "</s>" {
		t.Fatalf("describe = %+v, %v", info, err)
	}
	res, err := r.Generate(ctx, GenerateRequest{Model: "templated", System: "Be kind.",
		Messages: []chattmpl.Message{{Role: "user", Content: "Hello"}},
		Options:  GenerateOptions{Sampling: sample.Params{Temperature: 0}, MaxTokens: 4}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "<s>[system] Be kind.</s>[user] Hello</s>[assistant] "; res.Prompt != want {
		t.Fatalf("prompt %q, want %q", res.Prompt, want)
	}
	// A plain prompt on a model with a template is a user message; raw is
	// used as it is.
	res, err = r.Generate(ctx, GenerateRequest{Model: "templated", Prompt: "Hi", Options: GenerateOptions{MaxTokens: 1}}, nil)
	if err != nil || res.Prompt != "<s>[user] Hi</s>[assistant] " {
		t.Fatalf("templated prompt %q, %v", res.Prompt, err)
	}
	res, err = r.Generate(ctx, GenerateRequest{Model: "templated", Prompt: "Hi", Raw: true, Options: GenerateOptions{MaxTokens: 1}}, nil)
	if err != nil || res.Prompt != "Hi" {
		t.Fatalf("raw prompt %q, %v", res.Prompt, err)
	}
}

// TestRunnerFileReplaced: a model file rewritten in place (another
// download or export over the same path) is loaded again. The runner used
// to keep generating on the old mapping: wrong weights, and a SIGBUS that
// killed the process when the new file was shorter.
func TestRunnerFileReplaced(t *testing.T) {
	shape, _ := synth.ShapeByName("tiny")
	write := func(path, typ string, seed uint64) {
		t.Helper()
		plan, err := synth.NewPlan(shape, typ)
		if err != nil {
			t.Fatal(err)
		}
		if err := plan.WriteFile(path, seed); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	path, other := filepath.Join(dir, "m.gguf"), filepath.Join(dir, "other.gguf")
	write(path, "F32", 1)
	write(other, "Q8_0", 2) // smaller than the F32 file
	resolve := func(p string) ModelResolver {
		return ResolverFunc(func(ctx context.Context, name string) (ModelRef, error) {
			st, err := os.Stat(p)
			if err != nil {
				return ModelRef{}, err
			}
			return ModelRef{Name: name, Path: p, Size: st.Size()}, nil
		})
	}
	ctx := context.Background()
	opts := GenerateOptions{Sampling: sample.Params{Temperature: 0}, MaxTokens: 6}
	req := GenerateRequest{Model: "m", Prompt: "hello there", Options: opts}

	r := NewRunner(resolve(path), RunnerOptions{Threads: 1, MemoryLimit: -1})
	defer r.Close()
	if _, err := r.Generate(ctx, req, nil); err != nil {
		t.Fatal(err)
	}
	// Rewrite the loaded file in place with the smaller model.
	data, err := os.ReadFile(other)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := r.Generate(ctx, req, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.LoadDuration == 0 {
		t.Error("the rewritten file was not loaded again")
	}
	fresh := NewRunner(resolve(other), RunnerOptions{Threads: 1, MemoryLimit: -1})
	defer fresh.Close()
	want, err := fresh.Generate(ctx, req, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != want.Text {
		t.Errorf("after the rewrite: %q, want the new file's %q", got.Text, want.Text)
	}
	if l := r.Loaded(); len(l) != 1 {
		t.Errorf("loaded after the rewrite: %+v, want the new model only", l)
	}
}

// TestRunnerPrefixPool: batched generations on the CPU keep no idle
// sessions; their KV blocks stay in the model's pool, which a later prompt
// with the same start reuses, within RunnerOptions.PrefixCache (negative:
// nothing is kept).
func TestRunnerPrefixPool(t *testing.T) {
	s, _ := runnerFixture(t)
	ctx := context.Background()
	opts := GenerateOptions{Sampling: sample.Params{Temperature: 0}, MaxTokens: 4}
	msgs := []chattmpl.Message{{Role: "user", Content: "Hello there, a prompt long enough to fill a block or more of the cache"}}
	for _, c := range []struct {
		limit  int64
		cached bool
	}{{0, true}, {-1, false}} {
		r := s.NewRunner(true, RunnerOptions{Threads: 1, MemoryLimit: -1, Parallel: 2, PrefixCache: c.limit})
		first, err := r.Chat(ctx, "tiny", msgs, opts, nil)
		if err != nil {
			t.Fatal(err)
		}
		if l := r.Loaded(); len(l) != 1 || l[0].Sessions != 0 {
			t.Errorf("limit %d: loaded %+v, want no idle session kept", c.limit, l)
		}
		again, err := r.Chat(ctx, "tiny", msgs, opts, nil)
		if err != nil {
			t.Fatal(err)
		}
		if again.Text != first.Text || (again.Stats.CachedTokens == again.Stats.PromptTokens-1) != c.cached {
			t.Errorf("limit %d: again %q (first %q), %d of %d prompt tokens cached", c.limit, again.Text, first.Text, again.Stats.CachedTokens, again.Stats.PromptTokens)
		}
		r.Close()
	}
}
