package kvcache

import (
	"fmt"
	"slices"
)

// Paged reports whether the cache is a table of a Pool's blocks: its
// graphs attend with compute.AttentionParams.BlockSize = BlockSize and
// the table (Table) after their positions.
func (c *Cache) Paged() bool { return c.pool != nil }

// Table is the pool's block of each BlockSize positions of a pooled cache,
// as far as Reserve allocated.
func (c *Cache) Table() []int32 { return slices.Clone(c.table) }

// SetPrefixKey names what the keys and values were computed with besides
// the tokens (the LoRA adapters): only caches with the same key share
// blocks. A different key empties the cache.
func (c *Cache) SetPrefixKey(key string) {
	if key != c.salt {
		c.Truncate(0)
		c.salt = key
	}
}

// Adopt makes the cache hold the longest prefix of tokens that it or the
// pool's cached blocks hold, sharing those blocks, and returns its length;
// the cache keeps its own positions when they match as many. The caller
// evaluates the rest of tokens.
func (c *Cache) Adopt(tokens []int32) int {
	own := CommonPrefix(c.ids[:c.used], tokens)
	if c.pool == nil {
		return own
	}
	p := c.pool
	p.mu.Lock()
	ids, n := p.lookup(c.salt, tokens)
	if n <= own {
		p.mu.Unlock()
		return own
	}
	ids = ids[:(n+BlockSize-1)/BlockSize]
	for _, id := range ids { // before releasing our own, which may be the same
		p.hold(id)
	}
	p.release(c.table)
	p.mu.Unlock()
	c.table, c.ids, c.used = ids, slices.Clone(tokens[:n]), n
	return n
}

// reservePaged allocates blocks for n positions, and first copies the block
// that the next position goes into when other sequences share it.
func (c *Cache) reservePaged(n int) error {
	p := c.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	if i := c.used / BlockSize; n > c.used && i < len(c.table) {
		if old := c.table[i]; p.blocks[old].ref > 1 || p.blocks[old].registered {
			id, err := p.alloc()
			if err != nil {
				return fmt.Errorf("kvcache: copying a shared block: %w", err)
			}
			if err := p.copyBlock(id, old); err != nil {
				p.release([]int32{id})
				return err
			}
			c.table[i] = id
			p.release([]int32{old})
		}
	}
	for len(c.table)*BlockSize < n {
		id, err := p.alloc()
		if err != nil {
			return fmt.Errorf("kvcache: %w", err)
		}
		c.table = append(c.table, id)
	}
	return nil
}

// commitPaged registers the blocks that the positions up to n fill after
// registered ones.
func (c *Cache) commitPaged(n int) {
	p := c.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := 0; (i+1)*BlockSize <= n; i++ {
		if !p.blocks[c.table[i]].registered && !c.register(i, (i+1)*BlockSize) {
			return
		}
	}
}

// register indexes block i of the cache, holding the tokens of its
// positions up to end, when they are all known and its parent is indexed.
// Held by the pool's mu.
func (c *Cache) register(i, end int) bool {
	p := c.pool
	tokens := c.ids[i*BlockSize : end]
	if slices.Contains(tokens, -1) {
		return false
	}
	parent := int32(-1)
	if i > 0 {
		if parent = c.table[i-1]; !p.blocks[parent].registered {
			return false
		}
	}
	return p.register(c.table[i], parent, c.salt, tokens)
}

// truncatePaged gives back the blocks past n positions. A block kept in
// part may be shared: Reserve copies it before the next write.
func (c *Cache) truncatePaged(n int) {
	keep := (n + BlockSize - 1) / BlockSize
	c.pool.mu.Lock()
	c.pool.release(c.table[keep:])
	c.pool.mu.Unlock()
	c.table = c.table[:keep]
}

// freePaged registers the partial last block, so that a prompt that goes
// on from this sequence's tokens reuses every one of them, and gives back
// the blocks.
func (c *Cache) freePaged() {
	p := c.pool
	p.mu.Lock()
	if i := c.used / BlockSize; c.used%BlockSize != 0 && i < len(c.table) && !p.blocks[c.table[i]].registered {
		c.register(i, c.used)
	}
	p.release(c.table)
	p.mu.Unlock()
	c.table, c.ids, c.used = nil, nil, 0
}
