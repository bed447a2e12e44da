package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/kvcache"
	"inferenceruntime/inference/model"
)

// ErrBatcherClosed is the error of evaluations pending when a Batcher closes.
var ErrBatcherClosed = errors.New("engine: the batcher is closed")

// Default sizes of a batched step.
const (
	// DefaultPrefillChunk is the most prompt tokens of one sequence that
	// go into a step while other sequences decode: a long prompt is
	// evaluated a chunk per step, so it delays the others' next token by
	// one chunk's time rather than by the whole prompt's.
	DefaultPrefillChunk = 32
	// maxGrace bounds how long a step waits for sequences that got their
	// logits from the last step and have not asked for the next one yet.
	maxGrace = 20 * time.Millisecond
	minGrace = 2 * time.Millisecond
	// decodeMax is the most tokens of an evaluation that count as
	// decoding (one token, or a drafted run to verify) rather than a
	// prompt: they go into a step whole, ahead of prompt chunks.
	decodeMax = 16
	// DefaultPrefixCache is the default of BatcherOptions.PrefixCache.
	DefaultPrefixCache = 1 << 30
)

// BatcherOptions configure a Batcher.
type BatcherOptions struct {
	Threads      int // CPU threads of the one backend; 0 = all cores
	StepTokens   int // most tokens per step; 0 = DefaultBatch
	PrefillChunk int // prompt tokens per sequence and step while others decode; 0 = DefaultPrefillChunk
	// PrefixCache is the most bytes of KV blocks that no sequence holds
	// kept for later prompts that start with their tokens; 0 =
	// DefaultPrefixCache, negative = none.
	PrefixCache int64
}

// Batcher decodes every active sequence of one model in one graph per step
// (continuous batching): a step holds the next token of each decoding
// sequence and a chunk of each prompt being prefilled, as a ragged batch in
// which each sequence keeps its own positions and cache, so the weights are
// read once per step for all of them. A sequence joins at the next step and
// leaves as soon as its evaluation is done or cancelled. Sequences that use
// different LoRA adapters (or context lengths) take turns. A device that
// cannot run ragged batches (compute.SupportsRagged) gets one sequence per
// step. On a device that runs paged attention, the sequences' caches are
// tables of blocks of one pool per KV type (kvcache.Pool), which shares
// the blocks of common prefixes between sequences and keeps those of ended
// ones for later prompts; elsewhere each sequence has a cache of its own.
type Batcher struct {
	m      model.Model
	dev    compute.Device
	be     compute.Backend
	ragged bool
	opts   BatcherOptions

	mu     sync.Mutex
	wake   *sync.Cond
	jobs   []*job             // waiting or running, in arrival order
	expect map[*Sequence]bool // got logits from the last step, may ask again at once
	grace  time.Time          // until when a step waits for them
	timer  *time.Timer
	closed bool
	done   chan struct{}
	stats  BatchStats
	logits []float32
	pools  map[compute.DType]*kvcache.Pool
}

// BatchStats count what a Batcher did.
type BatchStats struct {
	Steps   int64 // graphs run
	Tokens  int64 // tokens evaluated
	MaxSeqs int   // most sequences in one step
}

// job is one Eval of a sequence: its tokens go through one chunk per step.
type job struct {
	s       *Sequence
	tokens  []int32
	emb     []float32 // an image's vectors: evaluated alone, in one step
	next    int       // tokens evaluated so far
	all     bool      // logits of every token, else of the last
	out     []float32 // where the logits go
	running bool
	ctxErr  error // set when cancelled while running
	err     error
	done    chan struct{}
}

// NewBatcher opens a backend on dev for m's batched sequences and starts
// its step loop. Close stops it.
func NewBatcher(m model.Model, dev compute.Device, o BatcherOptions) (*Batcher, error) {
	if o.Threads < 0 || o.StepTokens < 0 || o.PrefillChunk < 0 {
		return nil, fmt.Errorf("engine: negative option in %+v", o)
	}
	if o.StepTokens == 0 {
		o.StepTokens = DefaultBatch
	}
	if o.PrefillChunk == 0 {
		o.PrefillChunk = DefaultPrefillChunk
	}
	switch {
	case o.PrefixCache == 0:
		o.PrefixCache = DefaultPrefixCache
	case o.PrefixCache < 0:
		o.PrefixCache = 0
	}
	be, err := dev.NewBackend(compute.Options{Threads: o.Threads})
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	b := &Batcher{m: m, dev: dev, be: be, ragged: compute.SupportsRagged(dev), opts: o,
		expect: map[*Sequence]bool{}, done: make(chan struct{}), pools: map[compute.DType]*kvcache.Pool{}}
	b.wake = sync.NewCond(&b.mu)
	go b.loop()
	return b, nil
}

// NewBatchedSequence returns a sequence with its own cache whose
// evaluations run in b's steps, together with b's other sequences.
func NewBatchedSequence(b *Batcher, o SequenceOptions) (*Sequence, error) {
	if o.Context < 0 || o.BatchSize < 0 {
		return nil, fmt.Errorf("engine: negative option in %+v", o)
	}
	cache, err := newCache(b.m, b.dev, o)
	if err != nil {
		return nil, err
	}
	if b.ragged && b.dev.Supports(compute.OpAttentionPaged, cache.Config().DType) {
		if cache, err = b.pooledCache(cache.Config()); err != nil {
			return nil, err
		}
	}
	return &Sequence{m: b.m, cache: cache, batch: b.opts.StepTokens, batcher: b}, nil
}

// pooledCache is an empty cache of cfg from the pool of its KV type.
func (b *Batcher) pooledCache(cfg kvcache.Config) (*kvcache.Cache, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	pool := b.pools[cfg.DType]
	if pool == nil {
		poolCfg := cfg
		poolCfg.MaxLen = b.m.Config().ContextLength
		var err error
		if pool, err = kvcache.NewPool(b.dev, poolCfg, b.opts.PrefixCache); err != nil {
			return nil, fmt.Errorf("engine: %w", err)
		}
		b.pools[cfg.DType] = pool
	}
	return pool.NewCache(cfg.MaxLen), nil
}

// newCache is the empty KV cache on dev of a sequence of m.
func newCache(m model.Model, dev compute.Device, o SequenceOptions) (*kvcache.Cache, error) {
	cfg := m.Config()
	ctxLen := cfg.ContextLength
	if o.Context > 0 && o.Context < ctxLen {
		ctxLen = o.Context
	}
	if o.KVType == 0 {
		o.KVType = compute.F32
	}
	return kvcache.New(dev, kvcache.Config{
		Layers: cfg.BlockCount, HeadDim: cfg.HeadDim, KVHeads: cfg.HeadCountKV,
		MaxLen: ctxLen, DType: o.KVType,
	})
}

// Stats returns what the batcher did so far.
func (b *Batcher) Stats() BatchStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stats
}

// Close fails the evaluations still waiting, stops the loop once the
// running step ends, and frees the backend.
func (b *Batcher) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		<-b.done
		return nil
	}
	b.closed = true
	b.wake.Broadcast()
	b.mu.Unlock()
	<-b.done
	for _, p := range b.pools {
		p.Free()
	}
	return b.be.Close()
}

// release tells the batcher that s asks for nothing more for now (its
// generation ended), so steps stop waiting for it.
func (b *Batcher) release(s *Sequence) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.expect[s] {
		delete(b.expect, s)
		b.wake.Broadcast()
	}
}

// eval runs tokens (or an image's vectors) of s through the batcher's steps
// and leaves the logits in out. Cancelling ctx takes the evaluation out at
// once, or after the step that is running it.
func (b *Batcher) eval(ctx context.Context, s *Sequence, tokens []int32, emb []float32, all bool, out []float32) error {
	j := &job{s: s, tokens: tokens, emb: emb, all: all, out: out, done: make(chan struct{})}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return ErrBatcherClosed
	}
	b.jobs = append(b.jobs, j)
	delete(b.expect, s)
	b.wake.Broadcast()
	b.mu.Unlock()
	select {
	case <-j.done:
	case <-ctx.Done():
		b.mu.Lock()
		if j.running {
			j.ctxErr = ctx.Err()
		} else if i := slices.Index(b.jobs, j); i >= 0 {
			b.jobs = slices.Delete(b.jobs, i, i+1)
			j.err = ctx.Err()
			close(j.done)
		}
		b.mu.Unlock()
		<-j.done
	}
	return j.err
}

// loop runs steps while there is work.
func (b *Batcher) loop() {
	defer close(b.done)
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		for !b.closed && !b.ready() {
			b.wake.Wait()
		}
		if b.closed {
			for _, j := range b.jobs {
				j.err = ErrBatcherClosed
				close(j.done)
			}
			b.jobs = nil
			return
		}
		parts := b.pick()
		for _, p := range parts {
			p.j.running = true
		}
		b.mu.Unlock()
		start := time.Now()
		err := b.step(parts)
		took := time.Since(start)
		b.mu.Lock()
		b.finish(parts, err)
		// Sequences that got their logits sample and come back within
		// a fraction of a step; the next step waits that long for them,
		// or it would run half empty and leave them for the one after.
		b.grace = time.Now().Add(min(max(took/2, minGrace), maxGrace))
	}
}

// ready reports whether a step should run now: there is work, and every
// sequence served by the last step has asked again (or its grace is over).
func (b *Batcher) ready() bool {
	if len(b.jobs) == 0 {
		return false
	}
	if len(b.expect) == 0 {
		return true
	}
	wait := time.Until(b.grace)
	if wait <= 0 {
		return true
	}
	if b.timer == nil {
		b.timer = time.AfterFunc(wait, func() {
			b.mu.Lock()
			b.timer = nil
			b.wake.Broadcast()
			b.mu.Unlock()
		})
	}
	return false
}

// part is one sequence's share of a step.
type part struct {
	j      *job
	n      int // tokens
	n0     int // the sequence's length before the step
	logits int // rows of logits wanted
}

// groupKey is what sequences in one graph must share.
type groupKey struct {
	adapters string
	maxLen   int
}

func keyOf(s *Sequence) groupKey {
	return groupKey{adapters: fmt.Sprint(s.adapters), maxLen: s.cache.MaxLen()}
}

// pick chooses the step's parts: the oldest job decides the group; then
// every job of the group that decodes (a few tokens), then prompt chunks
// while the step has room. Held by b.mu.
func (b *Batcher) pick() []part {
	first := b.jobs[0]
	if first.emb != nil || !b.ragged {
		return []part{b.partOf(first, b.opts.StepTokens)}
	}
	key := keyOf(first.s)
	var parts []part
	room := b.opts.StepTokens
	decoding := false
	for _, j := range b.jobs {
		if left := len(j.tokens) - j.next; j.emb == nil && left <= decodeMax && keyOf(j.s) == key && room >= left {
			parts = append(parts, b.partOf(j, left))
			room -= left
			decoding = true
		}
	}
	for _, j := range b.jobs {
		if room <= 0 {
			break
		}
		if left := len(j.tokens) - j.next; j.emb != nil || left <= decodeMax || keyOf(j.s) != key {
			continue
		}
		chunk := room
		// Others decoding now, or due back from the last step, get their
		// next token after one chunk, not after the whole prompt.
		if decoding || len(parts) > 0 || len(b.expect) > 0 {
			chunk = min(chunk, b.opts.PrefillChunk)
		}
		parts = append(parts, b.partOf(j, chunk))
		room -= parts[len(parts)-1].n
	}
	if len(parts) == 0 { // the oldest job's group had no room: it goes alone
		parts = append(parts, b.partOf(first, b.opts.StepTokens))
	}
	return parts
}

// partOf is up to max of j's next tokens.
func (b *Batcher) partOf(j *job, max int) part {
	n := len(j.tokens) - j.next
	if j.emb == nil {
		n = min(n, max)
	}
	p := part{j: j, n: n, n0: len(j.s.tokens)}
	switch {
	case j.all:
		p.logits = n
	case j.next+n == len(j.tokens):
		p.logits = 1
	}
	return p
}

// step evaluates parts as one graph and delivers their logits. On error no
// part's tokens are kept.
func (b *Batcher) step(parts []part) error {
	var tokens, pos []int32
	seqs := make([]model.Seq, 0, len(parts))
	for _, p := range parts {
		s := p.j.s
		if err := s.cache.Reserve(p.n0 + p.n); err != nil {
			return fmt.Errorf("engine: %w", err)
		}
		tokens = append(tokens, p.j.tokens[p.j.next:p.j.next+p.n]...)
		for i := range p.n {
			pos = append(pos, int32(p.n0+i))
		}
		seqs = append(seqs, model.Seq{Cache: s.cache, Len: p.n, Logits: p.logits})
	}
	g := compute.NewGraph()
	model.UseAdapters(g, parts[0].j.s.adapters)
	bt := model.Batch{Tokens: tokens, Positions: pos}
	first := parts[0]
	if len(parts) == 1 {
		// One sequence: the graph a Sequence of its own would run.
		bt.LastOnly = first.logits <= 1
		if first.j.emb != nil {
			bt.Tokens, bt.Embeddings, bt.NonCausal = make([]int32, len(tokens)), first.j.emb, true
		}
	} else {
		bt.Seqs = seqs
	}
	logits, err := b.m.Forward(g, bt, first.j.s.cache)
	if err != nil {
		return fmt.Errorf("engine: building the graph: %w", err)
	}
	if err := b.be.Compute(g); err != nil {
		for _, p := range parts {
			p.j.s.cache.Truncate(p.n0) // the failed step may have written some positions
		}
		return fmt.Errorf("engine: %w", err)
	}
	vocab := b.m.Config().VocabSize
	rows := int(logits.Shape().Rows())
	if cap(b.logits) < rows*vocab {
		b.logits = make([]float32, rows*vocab)
	}
	all := b.logits[:rows*vocab]
	if err := b.be.Read(logits, all); err != nil {
		return fmt.Errorf("engine: reading logits: %w", err)
	}
	row := 0
	for _, p := range parts {
		j := p.j
		if p.logits > 0 {
			src := all[row*vocab : (row+p.logits)*vocab]
			if j.all {
				copy(j.out[j.next*vocab:], src)
			} else {
				copy(j.out, src)
			}
			row += p.logits
		}
		var ids []int32 // an image's positions hold no tokens to share
		if j.emb == nil {
			ids = j.tokens[j.next : j.next+p.n]
		}
		if err := j.s.cache.CommitTokens(p.n0+p.n, ids); err != nil {
			return fmt.Errorf("engine: %w", err)
		}
		j.s.tokens = append(j.s.tokens, j.tokens[j.next:j.next+p.n]...)
	}
	b.stats.Steps++
	b.stats.Tokens += int64(len(tokens))
	b.stats.MaxSeqs = max(b.stats.MaxSeqs, len(parts))
	return nil
}

// finish advances the parts' jobs and ends those that are done, failed or
// cancelled. Held by b.mu.
func (b *Batcher) finish(parts []part, err error) {
	for _, p := range parts {
		j := p.j
		j.running = false
		if err == nil {
			j.next += p.n
		}
		switch {
		case err != nil:
			j.err = err
		case j.ctxErr != nil:
			j.err = j.ctxErr
		case j.next < len(j.tokens):
			continue
		}
		if i := slices.Index(b.jobs, j); i >= 0 {
			b.jobs = slices.Delete(b.jobs, i, i+1)
		}
		if j.err == nil {
			b.expect[j.s] = true
		}
		close(j.done)
	}
}

// batchedStep is Sequence.stepEmbeddings through the batcher: one step of
// its own for an image, prompt chunks otherwise; dst gets the last row of
// logits, or every row unless lastOnly.
func (s *Sequence) batchedStep(tokens []int32, embeddings []float32, dst []float32, lastOnly bool) error {
	out := dst
	if dst == nil {
		out = make([]float32, s.m.Config().VocabSize)
		lastOnly = true
	}
	return s.batcher.eval(context.Background(), s, tokens, embeddings, !lastOnly, out)
}
