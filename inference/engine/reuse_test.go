package engine

import (
	"context"
	"math"
	"testing"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/kvcache"
	"inferenceruntime/inference/model"
)

// freshDevice opens backends that never run a graph with what they
// prepared for the one before: each graph follows a graph of another
// structure. It is the reference for backends that do reuse.
type freshDevice struct{ compute.Device }

func (d freshDevice) NewBackend(o compute.Options) (compute.Backend, error) {
	be, err := d.Device.NewBackend(o)
	return freshBackend{be}, err
}

type freshBackend struct{ compute.Backend }

func (b freshBackend) Compute(g *compute.Graph) error {
	other := compute.NewGraph()
	other.Output(other.Scale(other.Float32s([]float32{1}, compute.Shape{1}), 2))
	if err := b.Backend.Compute(other); err != nil {
		return err
	}
	return b.Backend.Compute(g)
}

// reuses is how many graphs be ran with what it prepared for the one
// before, where it says.
func reuses(be compute.Backend) int64 {
	if r, ok := be.(interface{ Reuses() int64 }); ok {
		return r.Reuses()
	}
	return 0
}

// openFile opens a model file on the CPU for the test's duration, or skips
// the test where the file is missing.
func openFile(tb testing.TB, path string) (model.Model, compute.Device) {
	tb.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		tb.Skip(err)
	}
	tb.Cleanup(func() { f.Close() })
	dev, err := compute.FirstDevice("cpu")
	if err != nil {
		tb.Fatal(err)
	}
	m, err := model.Open(f, dev)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	return m, dev
}

// openLoRA opens the tiny llama of ../shared and its LoRA adapter.
func openLoRA(t *testing.T) (model.Model, compute.Device, []model.AdapterUse) {
	t.Helper()
	const dir = "../../../shared/models/"
	m, dev := openFile(t, dir+"conf-tiny/tiny-llama-Q8_0.gguf")
	af, err := gguf.Open(dir + "lora/lora-tiny-llama.gguf")
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { af.Close() })
	ad, err := model.OpenAdapter(af, m, dev)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ad.Close() })
	return m, dev, []model.AdapterUse{{Adapter: ad, Scale: 1}}
}

func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// TestSequenceReuseMatchesFresh: a sequence's decode steps, which its
// backend runs with what it prepared for the step before, give the logits
// of a backend that prepares every step afresh, bit for bit: across the
// KV cache's growth, with a LoRA adapter on and off again, and for every
// token.
func TestSequenceReuseMatchesFresh(t *testing.T) {
	m, dev, lora := openLoRA(t)
	var seqs [2]*Sequence
	for i, d := range []compute.Device{dev, freshDevice{dev}} {
		s, err := NewSequence(m, d, SequenceOptions{Threads: 2, Context: 512})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		seqs[i] = s
	}
	vocab := int32(m.Config().VocabSize)
	ctx := context.Background()
	phases := []struct {
		adapters []model.AdapterUse
		decode   int
	}{{nil, 20}, {lora, 20}, {nil, kvcache.Chunk + 10}}
	steps := 0
	for _, ph := range phases {
		tokens := []int32{1, 17, 33, 49}
		for i := 0; i < ph.decode; i++ {
			var got [2][]float32
			for j, s := range seqs {
				s.SetAdapters(ph.adapters)
				logits, err := s.Eval(ctx, tokens, false)
				if err != nil {
					t.Fatal(err)
				}
				got[j] = append([]float32(nil), logits...)
			}
			if !sameBits(got[0], got[1]) {
				t.Fatalf("adapters %v, position %d: logits differ from a fresh backend's", ph.adapters != nil, seqs[0].Len())
			}
			tokens = []int32{(int32(i)*37 + 5) % vocab}
			steps++
		}
	}
	if n := reuses(seqs[0].be); n < int64(steps)*3/4 {
		t.Errorf("%d of %d steps reused what the step before prepared", n, steps)
	}
}

// raggedPart is one sequence's tokens in a batched step.
type raggedPart struct{ seq, tokens int }

// runRagged runs steps as the Batcher builds them (one sequence alone as a
// plain graph, several as a ragged batch) over three sequences whose
// caches grow every 8 positions, and returns every step's logits.
func runRagged(t *testing.T, m model.Model, dev compute.Device, be compute.Backend, steps [][]raggedPart, lora []model.AdapterUse) [][]float32 {
	t.Helper()
	cfg := m.Config()
	var caches [3]*kvcache.Cache
	for i := range caches {
		c, err := kvcache.New(dev, kvcache.Config{Layers: cfg.BlockCount, HeadDim: cfg.HeadDim,
			KVHeads: cfg.HeadCountKV, MaxLen: 128, DType: compute.F32, ChunkSize: 8})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Free()
		caches[i] = c
	}
	var out [][]float32
	for i, parts := range steps {
		var tokens, pos []int32
		var seqs []model.Seq
		for _, p := range parts {
			c := caches[p.seq]
			if err := c.Reserve(c.Len() + p.tokens); err != nil {
				t.Fatal(err)
			}
			for j := 0; j < p.tokens; j++ {
				tokens = append(tokens, int32(i*31+p.seq*7+j)%int32(cfg.VocabSize))
				pos = append(pos, int32(c.Len()+j))
			}
			seqs = append(seqs, model.Seq{Cache: c, Len: p.tokens, Logits: 1})
		}
		g := compute.NewGraph()
		if i%10 >= 7 { // adapters on for a few steps in ten
			model.UseAdapters(g, lora)
		}
		b := model.Batch{Tokens: tokens, Positions: pos, LastOnly: true}
		if len(parts) > 1 {
			b.Seqs = seqs
		}
		logits, err := m.Forward(g, b, caches[parts[0].seq])
		if err != nil {
			t.Fatal(err)
		}
		if err := be.Compute(g); err != nil {
			t.Fatal(err)
		}
		got := make([]float32, logits.Shape().Elements())
		if err := be.Read(logits, got); err != nil {
			t.Fatal(err)
		}
		out = append(out, got)
		for _, p := range parts {
			if err := caches[p.seq].Commit(caches[p.seq].Len() + p.tokens); err != nil {
				t.Fatal(err)
			}
		}
	}
	return out
}

// TestBatchReuseMatchesFresh: batched steps whose sequences come and go,
// change order, grow their caches and switch a LoRA adapter on and off
// give the logits of a backend that prepares every step afresh.
func TestBatchReuseMatchesFresh(t *testing.T) {
	m, dev, lora := openLoRA(t)
	steps := [][]raggedPart{{{0, 4}}, {{1, 3}}, {{2, 5}}}
	compositions := [][]raggedPart{
		{{0, 1}, {1, 1}}, {{0, 1}}, {{0, 1}, {1, 1}, {2, 1}}, {{1, 1}, {0, 1}}, {{2, 1}, {0, 2}},
	}
	for _, c := range compositions {
		for i := 0; i < 12; i++ {
			steps = append(steps, c)
		}
	}
	var runs [2][][]float32
	var reused int64
	for i, d := range []compute.Device{dev, freshDevice{dev}} {
		be, err := d.NewBackend(compute.Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		runs[i] = runRagged(t, m, dev, be, steps, lora)
		if i == 0 {
			reused = reuses(be)
		}
		be.Close()
	}
	for i := range steps {
		if !sameBits(runs[0][i], runs[1][i]) {
			t.Fatalf("step %d %v: logits differ from a fresh backend's", i, steps[i])
		}
	}
	if reused < int64(len(steps))/3 {
		t.Errorf("%d of %d steps reused what the step before prepared", reused, len(steps))
	}
}
