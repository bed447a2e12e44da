package engine

import (
	"context"
	"slices"
	"sync"
	"testing"

	"inferenceruntime/inference/compute"
	_ "inferenceruntime/inference/compute/vulkan"
	"inferenceruntime/inference/kvcache"
	"inferenceruntime/inference/model"
	"inferenceruntime/inference/tokenizer"
)

// TestBatchedSharedPrefix: concurrent greedy requests that share a long
// system prompt produce exactly the tokens each produces alone, the later
// ones reusing the prompt's blocks from the pool (CachedTokens); a
// follow-up turn on a new sequence evaluates only its new tokens.
func TestBatchedSharedPrefix(t *testing.T) {
	m, tok, dev := openSynth(t, "tiny", "Q8_0")
	testSharedPrefix(t, m, tok, dev)
}

// TestBatchedSharedPrefixVulkan runs TestBatchedSharedPrefix on the first
// Vulkan device, and split between it and the CPU (layer 0 on Vulkan):
// both attend over paged F32 caches, so the batcher pools their blocks.
func TestBatchedSharedPrefixVulkan(t *testing.T) {
	gpu, err := compute.FirstDevice("vulkan")
	if err != nil {
		t.Skipf("no Vulkan device (Linux: mesa-vulkan-drivers gives a software one): %v", err)
	}
	cpu, err := compute.FirstDevice("cpu")
	if err != nil {
		t.Fatal(err)
	}
	split, err := compute.NewSplit(cpu, []compute.Device{gpu, cpu})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { split.Close() })
	for _, dev := range []compute.Device{gpu, split} {
		t.Run(dev.Name(), func(t *testing.T) {
			if !dev.Supports(compute.OpAttentionPaged, compute.F32) {
				t.Fatalf("%s does not page F32 caches", dev.Name())
			}
			m, tok := openSynthOn(t, dev, "tiny", "Q8_0")
			testSharedPrefix(t, m, tok, dev)
		})
	}
}

func testSharedPrefix(t *testing.T, m model.Model, tok *tokenizer.Tokenizer, dev compute.Device) {
	t.Helper()
	const n, maxTokens = 4, 12
	vocab := m.Config().VocabSize
	system := prompts(1, vocab)[0]
	for len(system) < 3*kvcache.BlockSize+17 {
		system = append(system, prompts(20, vocab)[19]...)
	}
	system = system[:3*kvcache.BlockSize+17]
	ps := make([][]int32, n)
	for i, q := range prompts(n, vocab) {
		ps[i] = append(slices.Clone(system), q...)
	}
	alone := generateAlone(t, m, dev, tok, ps, maxTokens)
	b, err := NewBatcher(m, dev, BatcherOptions{Threads: 2, PrefillChunk: 16, PrefixCache: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	generate := func(p []int32) ([]int32, Stats) {
		s, err := NewBatchedSequence(b, SequenceOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var out []int32
		st, err := s.Generate(context.Background(), tok, Request{Tokens: p, Sampling: greedyParams(), MaxTokens: maxTokens}, func(tk Token) error {
			if tk.ID >= 0 {
				out = append(out, tk.ID)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out, st
	}
	// The first fills the pool; the others run at once and share it.
	first, st := generate(ps[0])
	if !slices.Equal(first, alone[0]) || st.CachedTokens != 0 {
		t.Fatalf("first request: %v (cached %d), alone %v", first, st.CachedTokens, alone[0])
	}
	var wg sync.WaitGroup
	got, stats := make([][]int32, n), make([]Stats, n)
	for i := 1; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], stats[i] = generate(ps[i])
		}()
	}
	wg.Wait()
	for i := 1; i < n; i++ {
		if !slices.Equal(got[i], alone[i]) {
			t.Errorf("request %d sharing the prompt:\n%v\nalone:\n%v", i, got[i], alone[i])
		}
		if c := stats[i].CachedTokens; c < len(system) || c > len(ps[i])-1 {
			t.Errorf("request %d reused %d tokens of a system prompt of %d", i, c, len(system))
		}
	}
	// A follow-up turn: the first conversation, its reply and a new message.
	history := append(slices.Clone(ps[0]), first...)
	next := append(slices.Clone(history), prompts(3, vocab)[2]...)
	want := generateAlone(t, m, dev, tok, [][]int32{next}, maxTokens)[0]
	reply, st := generate(next)
	if !slices.Equal(reply, want) {
		t.Errorf("follow-up turn:\n%v\nalone:\n%v", reply, want)
	}
	// The reply's last token was sampled, never evaluated.
	if st.CachedTokens != len(history)-1 {
		t.Errorf("follow-up turn reused %d tokens, want %d (prompt and reply but its last token)", st.CachedTokens, len(history)-1)
	}
}
