package engine

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/kvcache"
	"inferenceruntime/inference/model"
)

// graphRecorder is a model that notes the ops of every graph it builds.
type graphRecorder struct {
	model.Model
	mu     sync.Mutex
	graphs [][]string
}

func (r *graphRecorder) Forward(g *compute.Graph, b model.Batch, cache *kvcache.Cache) (*compute.Tensor, error) {
	out, err := r.Model.Forward(g, b, cache)
	var ops []string
	for _, n := range g.Nodes() {
		// A pooled cache adds an input: its positions with the block table.
		if n.Op() == compute.OpInput {
			continue
		}
		ops = append(ops, fmt.Sprintf("%v%v", n.Op(), n.Shape()))
	}
	r.mu.Lock()
	r.graphs = append(r.graphs, ops)
	r.mu.Unlock()
	return out, err
}

func (r *graphRecorder) take() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.graphs
	r.graphs = nil
	return g
}

// A batch that holds one sequence is the graph a sequence of its own runs,
// op for op: no ragged attention, Concat or row selection, which would
// slow every lone stream of ir serve (parallel > 1) down.
func TestOneSequenceBatchBuildsThePlainGraph(t *testing.T) {
	m, _, dev := openSynth(t, "tiny", "Q8_0")
	rec := &graphRecorder{Model: m}
	b, err := NewBatcher(rec, dev, BatcherOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	plain, err := NewSequence(rec, dev, SequenceOptions{Threads: 1, Context: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	batched, err := NewBatchedSequence(b, SequenceOptions{Context: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer batched.Close()
	ctx := context.Background()
	// A prompt, one decode step, and a drafted run checked with every row.
	steps := []struct {
		tokens []int32
		all    bool
	}{{[]int32{1, 5, 9, 13, 17}, false}, {[]int32{21}, false}, {[]int32{25, 29, 33}, true}}
	for _, st := range steps {
		if _, err := plain.Eval(ctx, st.tokens, st.all); err != nil {
			t.Fatal(err)
		}
		want := rec.take()
		if _, err := batched.Eval(ctx, st.tokens, st.all); err != nil {
			t.Fatal(err)
		}
		got := rec.take()
		if len(want) != 1 || len(got) != 1 {
			t.Fatalf("%d tokens: %d plain and %d batched graphs, want one each", len(st.tokens), len(want), len(got))
		}
		if len(got[0]) != len(want[0]) || !slices.Equal(got[0], want[0]) {
			t.Errorf("%d tokens (all rows %v): the batched graph has %d ops, the plain one %d; first difference at %d",
				len(st.tokens), st.all, len(got[0]), len(want[0]), firstDiff(got[0], want[0]))
		}
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
