package kvcache

import (
	"fmt"
	"slices"
	"sync"

	"inferenceruntime/inference/compute"
)

// BlockSize is the number of positions in one block of a Pool. It divides
// the CPU attention's decode chunk (256 positions), so the runs of
// consecutive rows the kernel reads stay whole within a chunk, and it is a
// multiple of the kernels' groups of rows (16 and 32); a shared prompt is
// reused to the token, not only in whole blocks (see Cache.Adopt), so
// larger blocks would buy little.
const BlockSize = 64

// Pool is the KV memory of the batched sequences of one model: per layer
// one K and one V tensor of whole blocks of BlockSize positions. A pooled
// Cache is a table of block ids. Full blocks are registered under their
// tokens and their parent block, so that sequences with the same prefix
// share them by reference count; a block is copied before a sequence
// writes into it while shared. Blocks no sequence holds stay cached for
// later prompts, and the least recently used are evicted when the cached
// blocks exceed the limit. A Pool is safe for concurrent use, but it grows
// (reallocating its tensors) in Cache.Reserve: graphs must be built after
// every Reserve of their step, as Layer's tensors change.
type Pool struct {
	mu     sync.Mutex
	cfg    Config
	dev    compute.Device
	limit  int64 // cached bytes kept
	k, v   []layerBuf
	blocks []block
	free   []int32
	roots  map[string][]int32 // first blocks of cached prefixes, by salt
	clock  int64
	cached int // registered blocks that no cache holds
}

type block struct {
	ref        int
	registered bool
	parent     int32 // -1: the first block of a prefix
	salt       string
	tokens     []int32 // registered: the tokens it holds (BlockSize, or fewer for a tail)
	children   []int32
	depth      int
	used       int64 // clock of the last use, for eviction
}

// NewPool returns an empty pool on dev for caches of cfg (MaxLen and
// ChunkSize are the caches'), keeping at most limit bytes of blocks that
// no cache holds (0 keeps none).
func NewPool(dev compute.Device, cfg Config, limit int64) (*Pool, error) {
	if _, err := New(dev, cfg); err != nil {
		return nil, err
	}
	if !dev.Supports(compute.OpAttentionPaged, cfg.DType) {
		return nil, fmt.Errorf("kvcache: device %s cannot attend over a paged %s cache", dev.Name(), cfg.DType)
	}
	if limit < 0 {
		return nil, fmt.Errorf("kvcache: negative limit %d", limit)
	}
	return &Pool{cfg: cfg, dev: dev, limit: limit, roots: map[string][]int32{}}, nil
}

// NewCache returns an empty cache of the pool, with the context length of
// the pool's configuration or maxLen when smaller and positive.
func (p *Pool) NewCache(maxLen int) *Cache {
	cfg := p.cfg
	if maxLen > 0 && maxLen < cfg.MaxLen {
		cfg.MaxLen = maxLen
	}
	return &Cache{cfg: cfg, dev: p.dev, pool: p}
}

func (p *Pool) blockBytes() int64 {
	return int64(BlockSize) * bytesPerPosition(p.cfg) * int64(p.cfg.Layers) * 2
}

// Bytes is the device memory the pool holds.
func (p *Pool) Bytes() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return int64(len(p.blocks)) * p.blockBytes()
}

// PoolStats describe a pool's blocks.
type PoolStats struct {
	Blocks int // allocated
	Held   int // held by caches
	Cached int // held by none, kept for later prompts
}

// Stats counts the pool's blocks.
func (p *Pool) Stats() PoolStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := PoolStats{Blocks: len(p.blocks), Cached: p.cached}
	for _, b := range p.blocks {
		if b.ref > 0 {
			s.Held++
		}
	}
	return s
}

// SetLimit changes the bytes of cached blocks kept, evicting at once.
func (p *Pool) SetLimit(limit int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.limit = max(limit, 0)
	p.evict()
}

// Free releases the device memory. Every cache of the pool must be freed
// first.
func (p *Pool) Free() {
	p.mu.Lock()
	defer p.mu.Unlock()
	freeAll(p.k)
	freeAll(p.v)
	p.k, p.v, p.blocks, p.free, p.roots, p.cached = nil, nil, nil, nil, map[string][]int32{}, 0
}

// alloc takes a free block, growing the pool when none is left. Held by mu.
func (p *Pool) alloc() (int32, error) {
	if len(p.free) == 0 {
		n := len(p.blocks)
		grown := n + max(n/4, Chunk/BlockSize)
		k, err := grow(p.dev, p.cfg, p.k, n*BlockSize, grown*BlockSize)
		if err != nil {
			return 0, err
		}
		v, err := grow(p.dev, p.cfg, p.v, n*BlockSize, grown*BlockSize)
		if err != nil {
			freeAll(k)
			return 0, err
		}
		freeAll(p.k)
		freeAll(p.v)
		p.k, p.v = k, v
		for id := grown - 1; id >= n; id-- {
			p.free = append(p.free, int32(id))
		}
		p.blocks = append(p.blocks, make([]block, grown-n)...)
	}
	id := p.free[len(p.free)-1]
	p.free = p.free[:len(p.free)-1]
	p.blocks[id] = block{ref: 1, parent: -1}
	return id, nil
}

// release drops one reference to each of ids, the last first: blocks no
// cache holds stay cached when registered, else they are free. Held by mu.
func (p *Pool) release(ids []int32) {
	p.clock++
	for _, id := range slices.Backward(ids) {
		if int(id) >= len(p.blocks) { // the pool was freed first
			continue
		}
		b := &p.blocks[id]
		if b.ref--; b.ref > 0 {
			continue
		}
		if b.registered {
			b.used = p.clock
			p.cached++
		} else {
			p.free = append(p.free, id)
		}
	}
	p.evict()
}

// hold takes a reference to a block. Held by mu.
func (p *Pool) hold(id int32) {
	b := &p.blocks[id]
	if b.ref == 0 && b.registered {
		p.cached--
	}
	b.ref++
	p.clock++
	b.used = p.clock
}

// evict drops cached blocks, the least recently used first and deeper
// ones first among equals, while they exceed the limit. Held by mu.
func (p *Pool) evict() {
	for int64(p.cached)*p.blockBytes() > p.limit {
		victim := int32(-1)
		for id := range p.blocks {
			b := &p.blocks[id]
			if b.ref > 0 || !b.registered {
				continue
			}
			if victim < 0 {
				victim = int32(id)
				continue
			}
			v := &p.blocks[victim]
			if b.used < v.used || b.used == v.used && b.depth > v.depth {
				victim = int32(id)
			}
		}
		p.unregister(victim)
	}
}

// unregister takes a block and its descendants (which nothing could find
// without it) out of the index; those no cache holds become free.
func (p *Pool) unregister(id int32) {
	b := &p.blocks[id]
	for _, c := range b.children {
		p.unregister(c)
	}
	if b.parent >= 0 {
		parent := &p.blocks[b.parent]
		parent.children = slices.DeleteFunc(parent.children, func(c int32) bool { return c == id })
	} else {
		p.roots[b.salt] = slices.DeleteFunc(p.roots[b.salt], func(c int32) bool { return c == id })
		if len(p.roots[b.salt]) == 0 {
			delete(p.roots, b.salt)
		}
	}
	b.registered, b.children, b.tokens = false, nil, nil
	if b.ref == 0 {
		p.cached--
		p.free = append(p.free, id)
	}
}

// siblings are the registered blocks that follow parent (-1: the first
// blocks of prefixes with salt). Held by mu.
func (p *Pool) siblings(parent int32, salt string) []int32 {
	if parent < 0 {
		return p.roots[salt]
	}
	return p.blocks[parent].children
}

// register indexes block id as holding tokens after parent, unless a block
// with the same tokens is there already. Held by mu.
func (p *Pool) register(id, parent int32, salt string, tokens []int32) bool {
	for _, s := range p.siblings(parent, salt) {
		if slices.Equal(p.blocks[s].tokens, tokens) {
			return false
		}
	}
	b := &p.blocks[id]
	b.registered, b.parent, b.salt, b.tokens = true, parent, salt, slices.Clone(tokens)
	b.depth = 0
	if parent < 0 {
		p.roots[salt] = append(p.roots[salt], id)
	} else {
		b.depth = p.blocks[parent].depth + 1
		p.blocks[parent].children = append(p.blocks[parent].children, id)
	}
	return true
}

// lookup returns the registered blocks that hold the longest prefix of
// tokens, and how many tokens of the last one match. Held by mu.
func (p *Pool) lookup(salt string, tokens []int32) ([]int32, int) {
	var ids []int32
	parent := int32(-1)
	for at := 0; at < len(tokens); at += BlockSize {
		best, bestN := int32(-1), 0
		for _, s := range p.siblings(parent, salt) {
			if n := CommonPrefix(p.blocks[s].tokens, tokens[at:]); n > bestN {
				best, bestN = s, n
			}
		}
		if best < 0 {
			break
		}
		ids = append(ids, best)
		if bestN < BlockSize {
			return ids, at + bestN
		}
		parent = best
	}
	return ids, len(ids) * BlockSize
}

// copyBlock copies the rows of block src into dst in every layer. Held by mu.
func (p *Pool) copyBlock(dst, src int32) error {
	size := int64(BlockSize) * bytesPerPosition(p.cfg)
	scratch := make([]byte, size)
	for _, ls := range [][]layerBuf{p.k, p.v} {
		for _, l := range ls {
			if err := l.buf.Read(int64(src)*size, scratch); err != nil {
				return fmt.Errorf("kvcache: copying a shared block: %w", err)
			}
			if err := l.buf.Write(int64(dst)*size, scratch); err != nil {
				return fmt.Errorf("kvcache: copying a shared block: %w", err)
			}
		}
	}
	return nil
}

// CommonPrefix is the number of leading tokens a and b share: how much
// of a cache holding a a prompt b can keep.
func CommonPrefix(a, b []int32) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
