// Package kvcache holds the keys and values of one sequence, layer by layer,
// in device memory. It grows with use: capacity is added in chunks of
// positions up to the context length, so a short chat costs little memory
// even with a long context window. A cache either owns its memory (one
// contiguous tensor per layer) or is a table of blocks of a Pool shared by
// the batched sequences of a model (pool.go, paged.go).
package kvcache

import (
	"fmt"

	"inferenceruntime/inference/compute"
)

// Chunk is the number of positions the cache grows by at a time.
const Chunk = 256

// Config describes the cache of one model.
type Config struct {
	Layers    int           // one K and one V tensor per layer
	HeadDim   int           // size of one head
	KVHeads   int           // key/value heads per layer
	MaxLen    int           // context length: capacity never grows past it
	DType     compute.DType // F32, F16, Q8_0 or Q4_0 (compute.CheckKVType)
	ChunkSize int           // positions added per growth; 0 means Chunk
}

// Cache is the KV cache of one sequence. It is not safe for concurrent use;
// each session owns one.
type Cache struct {
	cfg      Config
	dev      compute.Device
	capacity int // positions allocated (own memory)
	used     int // positions holding valid keys and values
	k, v     []layerBuf

	// ids are the tokens of the positions (-1 where none is known: never
	// shared). A pooled cache's positions are in the blocks of table.
	ids   []int32
	pool  *Pool
	table []int32
	salt  string
}

type layerBuf struct {
	buf    compute.Buffer
	tensor *compute.Tensor // [head_dim, kv_heads, capacity]
}

// New returns an empty cache on dev. Nothing is allocated until Reserve.
func New(dev compute.Device, cfg Config) (*Cache, error) {
	if dev == nil {
		return nil, fmt.Errorf("kvcache: no device")
	}
	if cfg.Layers <= 0 || cfg.HeadDim <= 0 || cfg.KVHeads <= 0 || cfg.MaxLen <= 0 {
		return nil, fmt.Errorf("kvcache: invalid configuration %+v", cfg)
	}
	if err := compute.CheckKVType(cfg.DType, cfg.HeadDim); err != nil {
		return nil, fmt.Errorf("kvcache: %w", err)
	}
	if !dev.Supports(compute.OpAttention, cfg.DType) {
		return nil, fmt.Errorf("kvcache: device %s cannot attend over a %s KV cache", dev.Name(), cfg.DType)
	}
	if cfg.ChunkSize <= 0 {
		cfg.ChunkSize = Chunk
	}
	return &Cache{cfg: cfg, dev: dev}, nil
}

// Len is the number of positions holding keys and values.
func (c *Cache) Len() int { return c.used }

// Cap is the number of positions currently allocated.
func (c *Cache) Cap() int {
	if c.pool != nil {
		return len(c.table) * BlockSize
	}
	return c.capacity
}

// MaxLen is the context length.
func (c *Cache) MaxLen() int { return c.cfg.MaxLen }

// Config is the cache's configuration.
func (c *Cache) Config() Config { return c.cfg }

// Bytes is the device memory the cache holds now.
func (c *Cache) Bytes() int64 {
	return int64(c.Cap()) * bytesPerPosition(c.cfg) * int64(c.cfg.Layers) * 2
}

func bytesPerPosition(cfg Config) int64 {
	return compute.KVBytes(cfg.DType, 1, cfg.KVHeads, cfg.HeadDim, 1) / 2
}

// Reserve makes room for n positions in total, growing the allocation to a
// whole number of chunks (at most MaxLen). It fails when n exceeds MaxLen.
func (c *Cache) Reserve(n int) error {
	if n > c.cfg.MaxLen {
		return fmt.Errorf("kvcache: %d positions do not fit the context of %d", n, c.cfg.MaxLen)
	}
	if c.pool != nil {
		return c.reservePaged(n)
	}
	if n <= c.capacity {
		return nil
	}
	newCap := min((n+c.cfg.ChunkSize-1)/c.cfg.ChunkSize*c.cfg.ChunkSize, c.cfg.MaxLen)
	k, err := grow(c.dev, c.cfg, c.k, c.used, newCap)
	if err != nil {
		return err
	}
	v, err := grow(c.dev, c.cfg, c.v, c.used, newCap)
	if err != nil {
		freeAll(k)
		return err
	}
	freeAll(c.k)
	freeAll(c.v)
	c.k, c.v, c.capacity = k, v, newCap
	return nil
}

// grow allocates layers of capacity newCap and copies the first used
// positions of old into them. Positions are the slowest dimension, so the
// used part is one contiguous prefix.
func grow(dev0 compute.Device, cfg Config, old []layerBuf, used, newCap int) ([]layerBuf, error) {
	per := bytesPerPosition(cfg)
	out := make([]layerBuf, cfg.Layers)
	var scratch []byte
	if used > 0 {
		scratch = make([]byte, int64(used)*per)
	}
	for l := range out {
		dev := dev0
		if ld, ok := dev.(compute.Layered); ok { // layers split over devices
			dev = ld.LayerDevice(l)
		}
		buf, err := dev.Alloc(int64(newCap) * per)
		if err != nil {
			freeAll(out)
			return nil, fmt.Errorf("kvcache: allocating %d positions: %w", newCap, err)
		}
		out[l].buf = buf
		out[l].tensor, err = compute.NewTensor(buf, 0, cfg.DType, compute.Shape{cfg.HeadDim, cfg.KVHeads, newCap})
		if err == nil && scratch != nil {
			if err = old[l].buf.Read(0, scratch); err == nil {
				err = buf.Write(0, scratch)
			}
		}
		if err != nil {
			freeAll(out)
			return nil, fmt.Errorf("kvcache: growing to %d positions: %w", newCap, err)
		}
	}
	return out, nil
}

func freeAll(ls []layerBuf) {
	for _, l := range ls {
		if l.buf != nil {
			l.buf.Free()
		}
	}
}

// Layer returns the K and V cache tensors of layer l, each [head_dim,
// kv_heads, Cap()], or for a pooled cache the pool's (see Table). They are
// valid until the next Reserve (of any cache of the pool).
func (c *Cache) Layer(l int) (k, v *compute.Tensor) {
	if c.pool != nil {
		c.pool.mu.Lock()
		defer c.pool.mu.Unlock()
		return c.pool.k[l].tensor, c.pool.v[l].tensor
	}
	return c.k[l].tensor, c.v[l].tensor
}

// Commit records that positions up to n now hold keys and values (after a
// forward step wrote them), of no known tokens (an image's).
func (c *Cache) Commit(n int) error {
	return c.CommitTokens(n, nil)
}

// CommitTokens is Commit for positions n-len(tokens)..n-1 written from
// tokens: a pooled cache registers its blocks that they fill, for other
// sequences to share.
func (c *Cache) CommitTokens(n int, tokens []int32) error {
	if n < 0 || n > c.Cap() || len(tokens) > n {
		return fmt.Errorf("kvcache: commit of %d positions (%d tokens) with %d allocated", n, len(tokens), c.Cap())
	}
	c.ids = c.ids[:min(len(c.ids), n-len(tokens))]
	for len(c.ids) < n-len(tokens) {
		c.ids = append(c.ids, -1)
	}
	c.ids = append(c.ids, tokens...)
	if c.pool != nil {
		c.commitPaged(n)
	}
	c.used = n
	return nil
}

// Truncate forgets every position from n on, keeping the prefix (to reuse a
// shared prompt prefix or to undo a failed step).
func (c *Cache) Truncate(n int) {
	if n < c.used && n >= 0 {
		c.used = n
		c.ids = c.ids[:min(len(c.ids), n)]
		if c.pool != nil {
			c.truncatePaged(n)
		}
	}
}

// Free releases the device memory. The cache is empty and can be reused.
func (c *Cache) Free() {
	if c.pool != nil {
		c.freePaged()
		return
	}
	freeAll(c.k)
	freeAll(c.v)
	c.k, c.v, c.capacity, c.used, c.ids = nil, nil, 0, 0, nil
}
