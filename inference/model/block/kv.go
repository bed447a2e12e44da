package block

import (
	"fmt"
	"slices"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/kvcache"
	"inferenceruntime/inference/model"
)

// KV is where a step's attention writes and reads keys and values: the
// cache of the batch's one sequence, or in a ragged batch (model.Batch.Seqs)
// each sequence's own cache, with that sequence's positions.
type KV struct {
	seqs []kvSeq
}

type kvSeq struct {
	n     int
	pos   *compute.Tensor
	cache *kvcache.Cache
}

// NewKV sets up the caches of batch b: cache for a plain batch (pos, the
// batch's positions input, serves as it is), or b.Seqs' caches, each with
// an input of its own run of positions.
func NewKV(g *compute.Graph, b model.Batch, cache *kvcache.Cache, pos *compute.Tensor) (*KV, error) {
	if len(b.Seqs) == 0 {
		if cache == nil {
			return nil, fmt.Errorf("no cache for the batch")
		}
		if cache.Paged() {
			pos = pagedPositions(g, b.Positions, cache)
		}
		return &KV{seqs: []kvSeq{{n: len(b.Tokens), pos: pos, cache: cache}}}, nil
	}
	kv := &KV{}
	at := 0
	for _, s := range b.Seqs {
		pos := b.Positions[at : at+s.Len]
		var in *compute.Tensor
		if s.Cache.Paged() {
			in = pagedPositions(g, pos, s.Cache)
		} else {
			in = g.Int32s(pos)
		}
		kv.seqs = append(kv.seqs, kvSeq{n: s.Len, pos: in, cache: s.Cache})
		at += s.Len
	}
	return kv, nil
}

// pagedPositions is the positions input of a pooled cache's attention:
// the positions, the cache's block table and the block size.
func pagedPositions(g *compute.Graph, pos []int32, cache *kvcache.Cache) *compute.Tensor {
	in := append(slices.Clone(pos), cache.Table()...)
	return g.Int32s(append(in, kvcache.BlockSize))
}

// MaxLen is the context length of the batch's (first) sequence.
func (kv *KV) MaxLen() int { return kv.seqs[0].cache.MaxLen() }

// Layer returns the segments of layer l's attention, one per sequence.
func (kv *KV) Layer(l int) []compute.Segment {
	segs := make([]compute.Segment, len(kv.seqs))
	for i, s := range kv.seqs {
		k, v := s.cache.Layer(l)
		segs[i] = compute.Segment{Len: s.n, Pos: s.pos, KCache: k, VCache: v}
		if s.cache.Paged() {
			segs[i].BlockSize = kvcache.BlockSize
		}
	}
	return segs
}

// checkSeqs refuses a ragged batch whose runs do not cover its tokens.
func checkSeqs(b model.Batch) error {
	if len(b.Seqs) == 0 {
		return nil
	}
	if b.NonCausal || b.Embeddings != nil {
		return fmt.Errorf("a ragged batch takes tokens only, attended causally")
	}
	n := 0
	for i, s := range b.Seqs {
		if s.Cache == nil || s.Len <= 0 || s.Logits < 0 || s.Logits > s.Len {
			return fmt.Errorf("sequence %d of the batch: %d tokens, %d logits, cache %v", i, s.Len, s.Logits, s.Cache != nil)
		}
		n += s.Len
	}
	if n != len(b.Tokens) {
		return fmt.Errorf("sequences of %d tokens in a batch of %d", n, len(b.Tokens))
	}
	return nil
}

// logitRows are the rows of a ragged batch whose logits are wanted, as
// {start, count} ranges (adjacent ones merged); the last row when none is.
func logitRows(b model.Batch) [][2]int {
	var rows [][2]int
	at := 0
	for _, s := range b.Seqs {
		at += s.Len
		if s.Logits == 0 {
			continue
		}
		start := at - s.Logits
		if k := len(rows) - 1; k >= 0 && rows[k][0]+rows[k][1] == start {
			rows[k][1] += s.Logits
			continue
		}
		rows = append(rows, [2]int{start, s.Logits})
	}
	if rows == nil {
		rows = [][2]int{{at - 1, 1}}
	}
	return rows
}

// Begin starts a decoder's forward pass over b: it checks the batch, adds
// the positions input and sets up the caches, with errors named by arch.
func Begin(g *compute.Graph, b model.Batch, cache *kvcache.Cache, arch string) (*compute.Tensor, *KV, error) {
	if err := CheckBatch(b); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", arch, err)
	}
	pos := g.Int32s(b.Positions)
	kv, err := NewKV(g, b, cache, pos)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", arch, err)
	}
	return pos, kv, nil
}
