package inference_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"inferenceruntime/inference"
	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/internal/ref"
	"inferenceruntime/inference/model"
	"inferenceruntime/inference/model/synth"
	"inferenceruntime/inference/sample"
	"inferenceruntime/internal/testshared"
)

// greedy is temperature 0: always the most likely token.
func greedy() sample.Params {
	p := sample.DefaultParams()
	p.Temperature = 0
	return p
}

// openSession loads path and opens a session, both closed with the test.
func openSession(t *testing.T, path string, o inference.Options, so inference.SessionOptions) (*inference.Model, *inference.Session) {
	t.Helper()
	m, err := inference.Load(path, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	s, err := m.NewSession(so)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

// TestConformance runs every reference of ../shared/models, all families,
// through the engine on the CPU backend, teacher-forced as one batch, and
// compares each row of logits with llama.cpp's within the MANIFEST
// tolerances.
func TestConformance(t *testing.T) {
	models := append(slices.Clone(ref.ConformanceModels), ref.FamilyModels...)
	ref.CheckModels(t, models, func(t *testing.T, c ref.Case) []float32 {
		_, s := openSession(t, c.ModelPath, inference.Options{Threads: 2}, inference.SessionOptions{})
		got, err := s.Logits(context.Background(), c.Tokens)
		if err != nil {
			t.Fatal(err)
		}
		return got
	})
}

// TestStory is `ir run stories260K-f32.gguf "Once upon a time" --temp 0 -n 100`:
// the reply must be the story llama2.c's run.c tells with the same weights.
func TestStory(t *testing.T) {
	dir := testshared.Dir(t, "models")
	raw, err := os.ReadFile(filepath.Join(dir, "ref", "stories260K-llama2c-run.c-greedy.txt"))
	if err != nil {
		t.Fatal(err)
	}
	story, _, _ := strings.Cut(strings.TrimPrefix(string(raw), "Once upon a time"), "achieved tok/s")
	_, s := openSession(t, filepath.Join(dir, "stories260K-f32.gguf"), inference.Options{Threads: 1}, inference.SessionOptions{})
	var out strings.Builder
	stats, err := s.Generate(context.Background(), inference.Request{Prompt: "Once upon a time", Sampling: greedy(), MaxTokens: 100},
		func(tok inference.Token) error { out.WriteString(tok.Text); return nil })
	if err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if stats.GeneratedTokens != 100 || stats.StopReason != "length" || stats.PromptTokens != 5 {
		t.Errorf("stats %+v, want 100 generated from 5 prompt tokens, stopped by length", stats)
	}
	if len(got) < 200 || !strings.HasPrefix(story, got) {
		t.Errorf("story:\n%q\nwant a 100-token prefix of:\n%q", got, story)
	}
}

// synthModel writes a synthetic model of shape to a temporary file.
func synthModel(t *testing.T, shape, typ string) string {
	t.Helper()
	s, ok := synth.ShapeByName(shape)
	if !ok {
		t.Fatalf("no shape %s", shape)
	}
	p, err := synth.NewPlan(s, typ)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), shape+"-"+typ+".gguf")
	if err := p.WriteFile(path, 7); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestEngineMatchesRef compares the engine with the float32 oracle on
// synthetic models (no shared files needed): every row of a prefill batch,
// then single-token decode steps.
func TestEngineMatchesRef(t *testing.T) {
	for _, tc := range []struct {
		shape, typ string
		tol        float64
	}{{"tiny", "F32", 1e-3}, {"tiny-qwen2", "F32", 1e-3}, {"tiny", "Q8_0", 0.1}, {"tiny-qwen2", "Q4_0", 0.1}} {
		t.Run(tc.shape+"-"+tc.typ, func(t *testing.T) {
			path := synthModel(t, tc.shape, tc.typ)
			f, err := gguf.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			oracle, err := ref.New(f)
			if err != nil {
				t.Fatal(err)
			}
			m, s := openSession(t, path, inference.Options{Threads: 2}, inference.SessionOptions{BatchSize: 5})
			tokens := []int32{1, 300, 17, 42, 99, 250, 3, 8, 383, 120, 64, 5}
			prefill, decode := tokens[:9], tokens[9:] // 9 = two batches of 5 and 4
			vocab := m.Info().VocabSize
			var want []float32
			for _, tok := range tokens {
				l, err := oracle.Forward(tok)
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, l...)
			}
			got, err := s.Logits(context.Background(), prefill)
			if err != nil {
				t.Fatal(err)
			}
			for _, tok := range decode {
				l, err := s.Eval(context.Background(), []int32{tok})
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, l...)
			}
			r, err := ref.Compare(got, want, vocab, ref.Tolerance{MaxAbs: tc.tol, MinGap: 1e-2})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s", r)
			if r.MaxAbs > tc.tol || r.ArgmaxAgree != r.ArgmaxRows {
				t.Errorf("engine vs oracle: %s (tolerance %g)", r, tc.tol)
			}
			// Feed takes the same tokens without returning logits; the
			// next token's logits still match the oracle's.
			s.Reset()
			n := len(tokens) - 1
			if err := s.Feed(context.Background(), tokens[:n]); err != nil {
				t.Fatal(err)
			}
			last, err := s.Eval(context.Background(), tokens[n:])
			if err != nil {
				t.Fatal(err)
			}
			if len(last) != vocab || s.Len() != len(tokens) {
				t.Fatalf("after Feed and Eval: %d logits, %d tokens held", len(last), s.Len())
			}
			if r, err := ref.Compare(last, want[n*vocab:], vocab, ref.Tolerance{MaxAbs: tc.tol, MinGap: 1e-2}); err != nil || r.MaxAbs > tc.tol {
				t.Errorf("after Feed: %v %v (tolerance %g)", r, err, tc.tol)
			}
		})
	}
}

func TestSessions(t *testing.T) {
	path := synthModel(t, "tiny", "Q8_0")
	m, err := inference.Load(path, inference.Options{Threads: 1, ContextLength: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	generate := func(s *inference.Session, req inference.Request) (string, []inference.Token, inference.Stats, error) {
		var text strings.Builder
		var toks []inference.Token
		st, err := s.Generate(ctx, req, func(tok inference.Token) error {
			text.WriteString(tok.Text)
			toks = append(toks, tok)
			return nil
		})
		return text.String(), toks, st, err
	}
	newSession := func() *inference.Session {
		s, err := m.NewSession(inference.SessionOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	req := inference.Request{Prompt: "the quick brown fox", Sampling: greedy(), MaxTokens: 20}

	t.Run("concurrent sessions agree", func(t *testing.T) {
		want, _, _, err := generate(newSession(), req)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		got := make([]string, 3)
		errs := make([]error, 3)
		for i := range got {
			s := newSession()
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i], _, _, errs[i] = generate(s, req)
			}()
		}
		wg.Wait()
		for i := range got {
			if errs[i] != nil || got[i] != want {
				t.Errorf("session %d: %q, %v; want %q", i, got[i], errs[i], want)
			}
		}
	})

	t.Run("prefix reuse", func(t *testing.T) {
		s := newSession()
		first, _, _, err := generate(s, req)
		if err != nil {
			t.Fatal(err)
		}
		again, _, st, err := generate(s, req)
		if err != nil {
			t.Fatal(err)
		}
		if again != first || st.CachedTokens != st.PromptTokens-1 {
			t.Errorf("second run %q (cached %d of %d), want %q from the cache", again, st.CachedTokens, st.PromptTokens, first)
		}
	})

	t.Run("stop string is never emitted", func(t *testing.T) {
		full, _, _, err := generate(newSession(), req)
		if err != nil {
			t.Fatal(err)
		}
		if len(full) < 6 {
			t.Skipf("reply %q too short to pick a stop string", full)
		}
		stop := full[len(full)/2 : len(full)/2+3]
		cut := strings.Index(full, stop)
		r := req
		r.Stop = []string{stop}
		got, _, st, err := generate(newSession(), r)
		if err != nil {
			t.Fatal(err)
		}
		if got != full[:cut] || st.StopReason != "stop" {
			t.Errorf("with stop %q: %q (%s), want %q", stop, got, st.StopReason, full[:cut])
		}
	})

	t.Run("prompt too long", func(t *testing.T) {
		_, _, _, err := generate(newSession(), inference.Request{Prompt: strings.Repeat("word ", 100), Sampling: greedy()})
		if err == nil || !strings.Contains(err.Error(), "does not fit the context of 64") {
			t.Errorf("error %v, want the prompt not to fit", err)
		}
	})

	t.Run("context end stops with length", func(t *testing.T) {
		s := newSession()
		_, toks, st, err := generate(s, inference.Request{Prompt: "the", Sampling: greedy()})
		if err != nil {
			t.Fatal(err)
		}
		if st.StopReason != "length" && st.StopReason != "stop" {
			t.Errorf("stop reason %q", st.StopReason)
		}
		if st.StopReason == "length" && st.PromptTokens+st.GeneratedTokens != 65 {
			t.Errorf("prompt %d + generated %d tokens (%d callbacks) with a context of 64", st.PromptTokens, st.GeneratedTokens, len(toks))
		}
	})

	t.Run("cancellation", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		n := 0
		_, err := newSession().Generate(cctx, inference.Request{Prompt: "the", Sampling: greedy(), MaxTokens: 50},
			func(inference.Token) error {
				if n++; n == 3 {
					cancel()
				}
				return nil
			})
		if !errors.Is(err, context.Canceled) || n != 3 {
			t.Errorf("after cancel: %v with %d tokens", err, n)
		}
	})
}

// TestLoadRefuses checks errors that Load reports before any weight reaches
// a kernel: a malformed byte token, an unknown backend, a missing file.
func TestLoadRefuses(t *testing.T) {
	s, _ := synth.ShapeByName("tiny")
	p, err := synth.NewPlan(s, "F32")
	if err != nil {
		t.Fatal(err)
	}
	for i, kv := range p.KV {
		if kv.Key == "tokenizer.ggml.tokens" {
			toks := append([]string(nil), kv.Value.([]string)...)
			toks[3+0x41] = "<0xZZ>" // the byte token of 'A'
			p.KV[i].Value = toks
		}
	}
	bad := filepath.Join(t.TempDir(), "bad-byte.gguf")
	if err := p.WriteFile(bad, 1); err != nil {
		t.Fatal(err)
	}
	good := synthModel(t, "tiny", "F32")
	for _, tc := range []struct {
		path string
		opts inference.Options
		want string
	}{
		{bad, inference.Options{}, "<0xZZ>"},
		{good, inference.Options{Backend: "no-such-backend"}, "no-such-backend"},
		{filepath.Join(t.TempDir(), "missing.gguf"), inference.Options{}, "missing.gguf"},
		{good, inference.Options{Threads: -1}, "negative"},
	} {
		m, err := inference.Load(tc.path, tc.opts)
		if err == nil {
			m.Close()
			t.Errorf("%s %+v: loaded", tc.path, tc.opts)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %+v: error %q, want it to mention %q", tc.path, tc.opts, err, tc.want)
		}
	}
}

// TestAdaptersPerRequest generates greedily with a LoRA adapter at half
// scale, without it, and with it again through one session: with the
// adapter the reply is llama.cpp's (the reference run's greedy ids), and the
// cache computed with other adapters is never reused.
func TestAdaptersPerRequest(t *testing.T) {
	cases, err := ref.LoRACases(testshared.Dir(t, "models"))
	if err != nil {
		t.Fatal(err)
	}
	var c ref.Case
	for _, lc := range cases {
		if lc.Name == "tiny-llama-f32+lora-tiny-llama@0.5.p2" {
			c = lc
		}
	}
	if c.ModelPath == "" {
		t.Fatal("no reference run of tiny-llama-f32 with lora-tiny-llama at 0.5")
	}
	m, s := openSession(t, c.ModelPath, inference.Options{Threads: 2}, inference.SessionOptions{})
	a, err := m.LoadAdapter(c.Adapters[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	// c.Tokens is the prompt and all but the last greedy id: generate the
	// last few of them from the prompt and the ones before.
	const n = 6
	prompt, want := c.Tokens[:len(c.Tokens)-n+1], c.Tokens[len(c.Tokens)-n+1:]
	reply := func(uses ...model.AdapterUse) []int32 {
		t.Helper()
		var ids []int32
		req := inference.Request{Tokens: prompt, Sampling: greedy(), MaxTokens: len(want), Adapters: uses}
		if _, err := s.Generate(context.Background(), req, func(tok inference.Token) error {
			if tok.ID >= 0 {
				ids = append(ids, tok.ID)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return ids
	}
	half := reply(a.Use(0.5))
	base := reply()
	again := reply(a.Use(0.5))
	if !slices.Equal(half, want) {
		t.Errorf("with the adapter at 0.5: %v, llama.cpp %v", half, want)
	}
	if slices.Equal(half, base) {
		t.Errorf("the adapter changed nothing: %v", base)
	}
	if !slices.Equal(half, again) {
		t.Errorf("the adapter again after a request without it: %v, first %v", again, half)
	}
}
