// Package engine runs a model: it feeds tokens through a model's forward
// pass one graph per step (prompt prefill in batches, then one token at a
// time), keeps each sequence's KV cache, and drives generation with
// sampling, streaming text, stop conditions, cancellation and statistics.
package engine

import (
	"context"
	"fmt"
	"slices"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/kvcache"
	"inferenceruntime/inference/model"
)

// DefaultBatch is the number of prompt tokens evaluated per step.
const DefaultBatch = 512

// SequenceOptions configure a Sequence.
type SequenceOptions struct {
	Threads   int           // CPU threads of the backend; 0 = all cores
	Context   int           // context length; 0 or more than the model's = the model's
	BatchSize int           // prompt tokens per step; 0 = DefaultBatch
	KVType    compute.DType // KV cache element type: F32 (default), F16, Q8_0 or Q4_0
}

// Sequence is one stream of tokens through a model: its own backend (so
// several sequences can compute at once) and its own KV cache. A Sequence
// is not safe for concurrent use.
type Sequence struct {
	m      model.Model
	be     compute.Backend
	cache  *kvcache.Cache
	batch  int
	tokens []int32 // the tokens whose keys and values are in the cache
	logits []float32
	// adapters are the LoRA adapters the cached keys and values were
	// computed with.
	adapters []model.AdapterUse
	// batcher, when set, runs the evaluations in steps shared with other
	// sequences of the model (be is then nil).
	batcher *Batcher
}

// NewSequence opens a backend on dev and an empty cache for m.
func NewSequence(m model.Model, dev compute.Device, o SequenceOptions) (*Sequence, error) {
	if o.Context < 0 || o.BatchSize < 0 || o.Threads < 0 {
		return nil, fmt.Errorf("engine: negative option in %+v", o)
	}
	if o.BatchSize == 0 {
		o.BatchSize = DefaultBatch
	}
	cache, err := newCache(m, dev, o)
	if err != nil {
		return nil, err
	}
	be, err := dev.NewBackend(compute.Options{Threads: o.Threads})
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	return &Sequence{m: m, be: be, cache: cache, batch: o.BatchSize}, nil
}

// Close frees the backend and the cache.
func (s *Sequence) Close() error {
	s.cache.Free()
	if s.batcher != nil {
		s.batcher.release(s)
		return nil
	}
	return s.be.Close()
}

// Len is the number of tokens in the cache.
func (s *Sequence) Len() int { return len(s.tokens) }

// ContextLength is the most tokens the sequence can hold.
func (s *Sequence) ContextLength() int { return s.cache.MaxLen() }

// CacheBytes is the memory the KV cache holds now.
func (s *Sequence) CacheBytes() int64 { return s.cache.Bytes() }

// SharesPrefixes reports whether the cache is a table of blocks of a pool
// shared with other sequences (kvcache.Cache.Paged).
func (s *Sequence) SharesPrefixes() bool { return s.cache.Paged() }

// Tokens returns the tokens in the cache (do not modify).
func (s *Sequence) Tokens() []int32 { return s.tokens }

// SetAdapters applies the LoRA adapters uses to the tokens evaluated from
// now on. The cache, computed with other adapters or scales, is emptied
// when they differ from the current ones.
func (s *Sequence) SetAdapters(uses []model.AdapterUse) {
	if slices.Equal(uses, s.adapters) {
		return
	}
	s.Truncate(0)
	s.adapters = slices.Clone(uses)
	s.cache.SetPrefixKey(fmt.Sprint(s.adapters))
}

// adoptPrefix lets a sequence whose first keep tokens of prompt are its own
// take the longest prefix of prompt that its pool holds instead, when that
// is longer (tokens only: images are never shared; and never the last
// token, whose logits are wanted). It returns the tokens now held.
func (s *Sequence) adoptPrefix(prompt []int32, keep int) int {
	limit := len(prompt) - 1
	if i := slices.IndexFunc(prompt, func(t int32) bool { return t < 0 }); i >= 0 {
		limit = min(limit, i)
	}
	if !s.cache.Paged() || limit <= keep {
		return keep
	}
	n := s.cache.Adopt(prompt[:limit])
	if n <= keep {
		return keep
	}
	s.tokens = append(s.tokens[:0], prompt[:n]...)
	return n
}

// Truncate forgets the tokens from position n on.
func (s *Sequence) Truncate(n int) {
	if n < len(s.tokens) {
		s.tokens = s.tokens[:max(n, 0)]
		s.cache.Truncate(len(s.tokens))
	}
}

// Eval appends tokens to the sequence and returns logits: one row of
// n_vocab per token when all is set, else only the last token's row. The
// prompt goes through in batches; ctx is checked between them. The returned
// slice is reused by the next call. On error the sequence is left as it was
// before the failing batch.
func (s *Sequence) Eval(ctx context.Context, tokens []int32, all bool) ([]float32, error) {
	if len(tokens) == 0 {
		return nil, fmt.Errorf("engine: no tokens to evaluate")
	}
	cfg := s.m.Config()
	if n := len(s.tokens) + len(tokens); n > s.cache.MaxLen() {
		return nil, fmt.Errorf("engine: %d tokens do not fit the context of %d", n, s.cache.MaxLen())
	}
	for i, t := range tokens {
		if t < 0 || int(t) >= cfg.VocabSize {
			return nil, fmt.Errorf("engine: token %d at %d is outside the vocabulary of %d", t, i, cfg.VocabSize)
		}
	}
	vocab := cfg.VocabSize
	rows := 1
	if all {
		rows = len(tokens)
	}
	if cap(s.logits) < rows*vocab {
		s.logits = make([]float32, rows*vocab)
	}
	out := s.logits[:rows*vocab]
	if s.batcher != nil {
		if err := s.batcher.eval(ctx, s, tokens, nil, all, out); err != nil {
			return nil, err
		}
		return out, nil
	}
	for start := 0; start < len(tokens); start += s.batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		chunk := tokens[start:min(start+s.batch, len(tokens))]
		last := start+len(chunk) == len(tokens)
		var dst []float32
		switch {
		case all:
			dst = out[start*vocab : (start+len(chunk))*vocab]
		case last:
			dst = out
		}
		if err := s.step(chunk, dst, !all); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// step runs one batch as one graph. dst receives the logits (nil: none
// wanted, but the graph still ends in them; the last row's are cheap).
func (s *Sequence) step(tokens []int32, dst []float32, lastOnly bool) error {
	return s.stepEmbeddings(tokens, nil, dst, lastOnly)
}

// stepEmbeddings is step with, when embeddings is set, those vectors in
// place of the tokens' embeddings, attending to one another both ways (an
// image); tokens are then placeholders, kept in the history only.
func (s *Sequence) stepEmbeddings(tokens []int32, embeddings []float32, dst []float32, lastOnly bool) error {
	if s.batcher != nil {
		return s.batchedStep(tokens, embeddings, dst, lastOnly)
	}
	n0 := len(s.tokens)
	if err := s.cache.Reserve(n0 + len(tokens)); err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	pos := make([]int32, len(tokens))
	for i := range pos {
		pos[i] = int32(n0 + i)
	}
	g := compute.NewGraph()
	model.UseAdapters(g, s.adapters)
	b := model.Batch{Tokens: tokens, Positions: pos, LastOnly: lastOnly || dst == nil}
	if embeddings != nil {
		b.Tokens, b.Embeddings, b.NonCausal = make([]int32, len(tokens)), embeddings, true
	}
	logits, err := s.m.Forward(g, b, s.cache)
	if err != nil {
		return fmt.Errorf("engine: building the graph: %w", err)
	}
	if err := s.be.Compute(g); err != nil {
		s.cache.Truncate(n0) // the failed step may have written some positions
		return fmt.Errorf("engine: %w", err)
	}
	if dst != nil {
		if err := s.be.Read(logits, dst); err != nil {
			return fmt.Errorf("engine: reading logits: %w", err)
		}
	}
	if err := s.cache.Commit(n0 + len(tokens)); err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	s.tokens = append(s.tokens, tokens...)
	return nil
}
