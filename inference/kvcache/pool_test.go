package kvcache

import (
	"bytes"
	"testing"

	"inferenceruntime/inference/compute"
	_ "inferenceruntime/inference/compute/vulkan"
)

// poolFixture is a pool of two layers on a device and what a forward step
// would write: every row of a position holding token tok is a pattern of
// (tok, layer, K or V), so a row read back says which token it holds.
type poolFixture struct {
	t    *testing.T
	pool *Pool
	cfg  Config
}

func newPoolFixture(t *testing.T, dt compute.DType, limitBlocks int) *poolFixture {
	t.Helper()
	dev, err := compute.FirstDevice("cpu")
	if err != nil {
		t.Fatal(err)
	}
	return newPoolFixtureOn(t, dev, dt, limitBlocks)
}

func newPoolFixtureOn(t *testing.T, dev compute.Device, dt compute.DType, limitBlocks int) *poolFixture {
	t.Helper()
	cfg := Config{Layers: 2, HeadDim: 32, KVHeads: 1, MaxLen: 4096, DType: dt}
	probe := &Pool{cfg: cfg}
	p, err := NewPool(dev, cfg, int64(limitBlocks)*probe.blockBytes())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Free)
	return &poolFixture{t: t, pool: p, cfg: cfg}
}

func (f *poolFixture) row(tok int32, l, kv int) []byte {
	b := make([]byte, bytesPerPosition(f.cfg))
	for i := range b {
		b[i] = byte(int(tok)*31 + l*7 + kv*3 + i)
	}
	return b
}

func (f *poolFixture) rowAt(c *Cache, p, l, kv int) (compute.Buffer, int64) {
	k, v := c.Layer(l)
	buf, off := []*compute.Tensor{k, v}[kv].Buffer()
	return buf, off + int64(c.table[p/BlockSize]*BlockSize+int32(p%BlockSize))*bytesPerPosition(f.cfg)
}

// eval appends tokens to c as a step would: Reserve, write rows, commit.
func (f *poolFixture) eval(c *Cache, tokens []int32) {
	f.t.Helper()
	n0 := c.Len()
	if err := c.Reserve(n0 + len(tokens)); err != nil {
		f.t.Fatal(err)
	}
	for i, tok := range tokens {
		for l := range f.cfg.Layers {
			for kv := range 2 {
				buf, off := f.rowAt(c, n0+i, l, kv)
				if err := buf.Write(off, f.row(tok, l, kv)); err != nil {
					f.t.Fatal(err)
				}
			}
		}
	}
	if err := c.CommitTokens(n0+len(tokens), tokens); err != nil {
		f.t.Fatal(err)
	}
}

// check wants c's positions to hold tokens.
func (f *poolFixture) check(c *Cache, tokens []int32) {
	f.t.Helper()
	if c.Len() != len(tokens) {
		f.t.Fatalf("cache holds %d positions, want %d", c.Len(), len(tokens))
	}
	got := make([]byte, bytesPerPosition(f.cfg))
	for p, tok := range tokens {
		for l := range f.cfg.Layers {
			for kv := range 2 {
				buf, off := f.rowAt(c, p, l, kv)
				if err := buf.Read(off, got); err != nil {
					f.t.Fatal(err)
				}
				if !bytes.Equal(got, f.row(tok, l, kv)) {
					f.t.Fatalf("position %d (layer %d, kv %d) does not hold token %d", p, l, kv, tok)
				}
			}
		}
	}
}

func seq(start, n int) []int32 {
	s := make([]int32, n)
	for i := range s {
		s[i] = int32(start + i)
	}
	return s
}

func cat(parts ...[]int32) []int32 {
	var out []int32
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// poolDevices are the CPU and, where there is one, the first Vulkan device
// and a split of two layers, one on each.
func poolDevices(t *testing.T) []compute.Device {
	cpu, err := compute.FirstDevice("cpu")
	if err != nil {
		t.Fatal(err)
	}
	gpu, err := compute.FirstDevice("vulkan")
	if err != nil {
		t.Logf("the CPU only: %v", err)
		return []compute.Device{cpu}
	}
	split, err := compute.NewSplit(cpu, []compute.Device{gpu, cpu})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { split.Close() })
	return []compute.Device{cpu, gpu, split}
}

// onPoolDevices runs test for each pool device and cache type that the
// device pages; one that does not must refuse the pool.
func onPoolDevices(t *testing.T, types []compute.DType, test func(t *testing.T, dev compute.Device, dt compute.DType)) {
	for _, dev := range poolDevices(t) {
		for _, dt := range types {
			t.Run(dev.Name()+"/"+dt.String(), func(t *testing.T) {
				if !dev.Supports(compute.OpAttentionPaged, dt) {
					cfg := Config{Layers: 2, HeadDim: 32, KVHeads: 1, MaxLen: 4096, DType: dt}
					if _, err := NewPool(dev, cfg, 0); err == nil {
						t.Fatalf("%s made a pool of %s blocks it cannot attend over", dev.Name(), dt)
					}
					t.Skipf("%s does not page %s caches", dev.Name(), dt)
				}
				test(t, dev, dt)
			})
		}
	}
}

func TestPoolSharing(t *testing.T) {
	types := []compute.DType{compute.F32, compute.F16, compute.Q8_0, compute.Q4_0}
	onPoolDevices(t, types, func(t *testing.T, dev compute.Device, dt compute.DType) {
		f := newPoolFixtureOn(t, dev, dt, 100)
		system := seq(1000, 150)
		a := f.pool.NewCache(0)
		f.eval(a, system)
		// Two full blocks are registered as they fill; the third is a's alone.
		b := f.pool.NewCache(0)
		if n := b.Adopt(cat(system, seq(5000, 10))); n != 2*BlockSize {
			t.Fatalf("adopted %d positions while a runs, want %d", n, 2*BlockSize)
		}
		if s := f.pool.Stats(); s.Held != 3 || s.Cached != 0 {
			t.Fatalf("stats %+v, want 3 held (two shared)", s)
		}
		f.eval(b, cat(system[2*BlockSize:], seq(5000, 10)))
		f.check(b, cat(system, seq(5000, 10)))
		f.check(a, system)
		// a's tail is registered when it ends: a follow-up reuses every token.
		a.Free()
		c := f.pool.NewCache(0)
		if n := c.Adopt(cat(system, seq(7000, 100))); n != len(system) {
			t.Fatalf("adopted %d positions after a ended, want %d", n, len(system))
		}
		// Writing into the shared tail copies it first.
		f.eval(c, seq(7000, 100))
		f.check(c, cat(system, seq(7000, 100)))
		d := f.pool.NewCache(0)
		if n := d.Adopt(cat(system, seq(9000, 5))); n != len(system) {
			t.Fatalf("the tail changed: adopted %d, want %d", n, len(system))
		}
		f.check(d, system)
		// Truncating into a shared block and writing leaves others' rows alone.
		d.Truncate(100)
		f.eval(d, seq(8000, 40))
		f.check(d, cat(system[:100], seq(8000, 40)))
		f.check(c, cat(system, seq(7000, 100)))
		f.check(b, cat(system, seq(5000, 10)))
		for _, x := range []*Cache{b, c, d} {
			x.Free()
		}
		if s := f.pool.Stats(); s.Held != 0 {
			t.Fatalf("%d blocks held after every cache was freed", s.Held)
		}
	})
}

// TestPoolGrow fills more blocks than the pool first allocates, with blocks
// of several caches interleaved, and wants every row back.
func TestPoolGrow(t *testing.T) {
	onPoolDevices(t, []compute.DType{compute.F16}, testPoolGrow)
}

func testPoolGrow(t *testing.T, dev compute.Device, dt compute.DType) {
	f := newPoolFixtureOn(t, dev, dt, 0)
	caches := []*Cache{f.pool.NewCache(0), f.pool.NewCache(0), f.pool.NewCache(0)}
	for round := range 6 {
		for i, c := range caches {
			f.eval(c, seq(i*10000+round*70, 70))
		}
	}
	if blocks := f.pool.Stats().Blocks; blocks <= Chunk/BlockSize {
		t.Fatalf("the pool never grew: %d blocks", blocks)
	}
	for i, c := range caches {
		var want []int32
		for round := range 6 {
			want = append(want, seq(i*10000+round*70, 70)...)
		}
		f.check(c, want)
	}
}

// TestPoolImagePositions: blocks holding positions of no known token (an
// image's) are never shared, nor any block after them.
func TestPoolImagePositions(t *testing.T) {
	f := newPoolFixture(t, compute.F32, 100)
	a := f.pool.NewCache(0)
	f.eval(a, seq(1, 70))
	if err := a.Reserve(90); err != nil {
		t.Fatal(err)
	}
	if err := a.Commit(90); err != nil { // an image's 20 positions
		t.Fatal(err)
	}
	f.eval(a, seq(200, 200))
	a.Free()
	b := f.pool.NewCache(0)
	prompt := cat(seq(1, 70), make([]int32, 20), seq(200, 200))
	if n := b.Adopt(prompt); n != BlockSize {
		t.Fatalf("adopted %d positions, want the %d before the image's block", n, BlockSize)
	}
}

// TestPoolEviction keeps at most the limit of cached blocks, dropping the
// least recently used first, deeper ones first among equals.
func TestPoolEviction(t *testing.T) {
	f := newPoolFixture(t, compute.F32, 3)
	prompts := [][]int32{seq(100, 2*BlockSize), seq(1000, 2*BlockSize), seq(5000, BlockSize+10)}
	for _, p := range prompts {
		c := f.pool.NewCache(0)
		f.eval(c, p)
		c.Free()
		if s := f.pool.Stats(); s.Cached > 3 {
			t.Fatalf("%d blocks cached over a limit of 3", s.Cached)
		}
	}
	// The first prompt is gone, the second keeps its first block (its
	// deeper one went first), the third is whole.
	for i, want := range []int{0, BlockSize, BlockSize + 10} {
		c := f.pool.NewCache(0)
		if n := c.Adopt(prompts[i]); n != want {
			t.Errorf("prompt %d: adopted %d, want %d", i, n, want)
		}
		c.Free()
	}
	// The third prompt was used last: its first block stays, its deeper
	// tail and the second prompt's block go.
	f.pool.SetLimit(f.pool.blockBytes())
	for i, want := range []int{0, 0, BlockSize} {
		c := f.pool.NewCache(0)
		if n := c.Adopt(prompts[i]); n != want {
			t.Errorf("after shrinking the limit, prompt %d: adopted %d, want %d", i, n, want)
		}
		c.Free()
	}
}

// TestPoolEvictDescendants: a block that goes takes the blocks registered
// after it, which no lookup could reach any more.
func TestPoolEvictDescendants(t *testing.T) {
	f := newPoolFixture(t, compute.F32, 100)
	a := f.pool.NewCache(0)
	prompt := seq(1, 3*BlockSize+5)
	f.eval(a, prompt)
	root := a.table[0]
	a.Free()
	if s := f.pool.Stats(); s.Cached != 4 {
		t.Fatalf("%d blocks cached, want 4", s.Cached)
	}
	f.pool.mu.Lock()
	f.pool.unregister(root)
	f.pool.mu.Unlock()
	if s := f.pool.Stats(); s.Cached != 0 || len(f.pool.free) != s.Blocks {
		t.Fatalf("stats %+v with %d free after evicting the first block", s, len(f.pool.free))
	}
	if n := f.pool.NewCache(0).Adopt(prompt); n != 0 {
		t.Fatalf("adopted %d positions of an evicted prefix", n)
	}
}

// TestPoolPrefixKey: caches computed with other adapters share nothing.
func TestPoolPrefixKey(t *testing.T) {
	f := newPoolFixture(t, compute.F32, 100)
	a := f.pool.NewCache(0)
	a.SetPrefixKey("lora-1")
	f.eval(a, seq(1, 100))
	a.Free()
	for key, want := range map[string]int{"": 0, "lora-2": 0, "lora-1": 100} {
		c := f.pool.NewCache(0)
		c.SetPrefixKey(key)
		if n := c.Adopt(seq(1, 120)); n != want {
			t.Errorf("key %q: adopted %d, want %d", key, n, want)
		}
		c.Free()
	}
}
