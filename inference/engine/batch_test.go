package engine

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"inferenceruntime/inference/compute"
	_ "inferenceruntime/inference/compute/cpu"
	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/model"
	_ "inferenceruntime/inference/model/gemma"
	_ "inferenceruntime/inference/model/llama"
	_ "inferenceruntime/inference/model/qwen3"
	"inferenceruntime/inference/model/synth"
	"inferenceruntime/inference/sample"
	"inferenceruntime/inference/tokenizer"
)

// openSynth opens a synthetic model on the CPU with its tokenizer.
func openSynth(t *testing.T, shape, typ string) (model.Model, *tokenizer.Tokenizer, compute.Device) {
	t.Helper()
	dev, err := compute.FirstDevice("cpu")
	if err != nil {
		t.Fatal(err)
	}
	m, tok := openSynthOn(t, dev, shape, typ)
	return m, tok, dev
}

// openSynthOn opens a synthetic model on dev with its tokenizer.
func openSynthOn(t *testing.T, dev compute.Device, shape, typ string) (model.Model, *tokenizer.Tokenizer) {
	t.Helper()
	s, ok := synth.ShapeByName(shape)
	if !ok {
		t.Fatalf("no shape %s", shape)
	}
	p, err := synth.NewPlan(s, typ)
	if err != nil {
		t.Fatal(err)
	}
	data, err := p.Bytes(3)
	if err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Open(f, dev)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	return m, tok
}

func greedyParams() sample.Params {
	p := sample.DefaultParams()
	p.Temperature = 0
	return p
}

// prompts are n token prompts of different lengths.
func prompts(n, vocab int) [][]int32 {
	r := rand.New(rand.NewPCG(1, uint64(n)))
	out := make([][]int32, n)
	for i := range out {
		p := make([]int32, 3+7*i)
		for j := range p {
			p[j] = int32(3 + r.IntN(vocab-3))
		}
		out[i] = p
	}
	return out
}

// generateAll runs one greedy generation per prompt on its sequence, all
// at once, and returns each one's tokens.
func generateAll(t *testing.T, seqs []*Sequence, tok *tokenizer.Tokenizer, ps [][]int32, maxTokens int) [][]int32 {
	t.Helper()
	out := make([][]int32, len(ps))
	errs := make([]error, len(ps))
	var wg sync.WaitGroup
	for i := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := Request{Tokens: ps[i], Sampling: greedyParams(), MaxTokens: maxTokens}
			_, errs[i] = seqs[i].Generate(context.Background(), tok, req, func(tk Token) error {
				if tk.ID >= 0 {
					out[i] = append(out[i], tk.ID)
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	return out
}

// generateAlone runs each prompt's greedy generation on a sequence of its
// own, one after the other.
func generateAlone(t *testing.T, m model.Model, dev compute.Device, tok *tokenizer.Tokenizer, ps [][]int32, maxTokens int) [][]int32 {
	t.Helper()
	out := make([][]int32, len(ps))
	for i, p := range ps {
		s, err := NewSequence(m, dev, SequenceOptions{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		out[i] = generateAll(t, []*Sequence{s}, tok, [][]int32{p}, maxTokens)[0]
		s.Close()
	}
	return out
}

// TestBatchedGreedyMatchesAlone: N concurrent greedy requests through one
// batcher produce exactly the tokens each produces on a sequence of its own,
// for several families and weight types; a second turn on the same
// sequences (prefix kept) does too.
func TestBatchedGreedyMatchesAlone(t *testing.T) {
	for _, c := range []struct{ shape, typ string }{
		{"tiny", "Q4_0"}, {"tiny", "F32"}, {"tiny-qwen3", "Q8_0"}, {"tiny-gemma2", "F16"},
	} {
		t.Run(c.shape+"/"+c.typ, func(t *testing.T) {
			m, tok, dev := openSynth(t, c.shape, c.typ)
			const n, maxTokens = 5, 40
			ps := prompts(n, m.Config().VocabSize)
			alone := generateAlone(t, m, dev, tok, ps, maxTokens)
			b, err := NewBatcher(m, dev, BatcherOptions{Threads: 2, PrefillChunk: 4})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			seqs := make([]*Sequence, n)
			for i := range seqs {
				if seqs[i], err = NewBatchedSequence(b, SequenceOptions{}); err != nil {
					t.Fatal(err)
				}
				defer seqs[i].Close()
			}
			got := generateAll(t, seqs, tok, ps, maxTokens)
			for i := range ps {
				if !slices.Equal(got[i], alone[i]) {
					t.Errorf("request %d batched:\n%v\nalone:\n%v", i, got[i], alone[i])
				}
			}
			if st := b.Stats(); st.MaxSeqs < 2 {
				t.Errorf("no step held more than one sequence: %+v", st)
			}
		})
	}
}

// TestBatcherCancel: a cancelled evaluation ends at once with the
// context's error while the other sequences go on to the same tokens as
// without it.
func TestBatcherCancel(t *testing.T) {
	m, tok, dev := openSynth(t, "tiny", "Q8_0")
	b, err := NewBatcher(m, dev, BatcherOptions{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ps := prompts(3, m.Config().VocabSize)
	ref := make([]*Sequence, 2)
	for i := range ref {
		ref[i], _ = NewBatchedSequence(b, SequenceOptions{})
		defer ref[i].Close()
	}
	want := generateAll(t, ref, tok, ps[:2], 30)

	seqs := make([]*Sequence, 3)
	for i := range seqs {
		seqs[i], _ = NewBatchedSequence(b, SequenceOptions{})
		defer seqs[i].Close()
	}
	ctx, cancel := context.WithCancel(context.Background())
	var cancelErr error
	var cancelled time.Time
	done := make(chan struct{})
	go func() {
		defer close(done)
		req := Request{Tokens: ps[2], Sampling: greedyParams()}
		n := 0
		_, cancelErr = seqs[2].Generate(ctx, tok, req, func(Token) error {
			if n++; n == 3 {
				cancelled = time.Now()
				cancel()
			}
			return nil
		})
	}()
	got := generateAll(t, seqs[:2], tok, ps[:2], 30)
	<-done
	if !errors.Is(cancelErr, context.Canceled) {
		t.Fatalf("cancelled generation: %v", cancelErr)
	}
	if d := time.Since(cancelled); d > 5*time.Second {
		t.Errorf("cancellation took %v", d)
	}
	for i := range got {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("request %d changed beside a cancelled one:\n%v\n%v", i, got[i], want[i])
		}
	}
}

// TestBatcherLongPromptInterleaves: a long prompt goes in chunks between
// the decode steps of a running stream, which keeps producing tokens while
// the prompt is evaluated.
func TestBatcherLongPromptInterleaves(t *testing.T) {
	m, tok, dev := openSynth(t, "tiny", "F32")
	b, err := NewBatcher(m, dev, BatcherOptions{Threads: 2, PrefillChunk: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	short, _ := NewBatchedSequence(b, SequenceOptions{})
	long, _ := NewBatchedSequence(b, SequenceOptions{})
	defer short.Close()
	defer long.Close()
	ps := prompts(1, m.Config().VocabSize)
	longPrompt := make([]int32, 400)
	for i := range longPrompt {
		longPrompt[i] = int32(5 + i%300)
	}
	var mu sync.Mutex
	var shortTokens int
	var tokensDuringPrefill int
	prefillDone := false
	started := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		first := true
		req := Request{Tokens: ps[0], Sampling: greedyParams(), MaxTokens: 200}
		short.Generate(context.Background(), tok, req, func(Token) error {
			mu.Lock()
			shortTokens++
			if !prefillDone && !first {
				tokensDuringPrefill++
			}
			mu.Unlock()
			if first {
				first = false
				close(started)
			}
			return nil
		})
	}()
	<-started
	req := Request{Tokens: longPrompt, Sampling: greedyParams(), MaxTokens: 1}
	if _, err := long.Generate(context.Background(), tok, req, func(Token) error {
		mu.Lock()
		prefillDone = true
		mu.Unlock()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if tokensDuringPrefill < 400/8/2 {
		t.Errorf("the stream got %d tokens while a 400-token prompt was evaluated in chunks of 8", tokensDuringPrefill)
	}
	if shortTokens == 0 {
		t.Error("the stream produced nothing")
	}
}
