package compute

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Graph is the list of ops of one step, in the order they run. Builder
// methods never panic: the first error is recorded, later calls return a
// placeholder tensor, and Err (and Backend.Compute) report it.
type Graph struct {
	nodes []*Tensor
	err   error

	// extend, when set, adds to every product of a weight (a leaf) with
	// activations; extending stops it from extending its own products.
	extend    func(g *Graph, w, x, y *Tensor) *Tensor
	extending bool
}

// ExtendProducts makes every later MulMat of a weight w (a leaf tensor)
// return f(g, w, x, w·x) instead of w·x. LoRA adapters use it to add their
// low-rank product beside each weight they target, in any model, without
// the model knowing; products that f builds are not extended again.
func (g *Graph) ExtendProducts(f func(g *Graph, w, x, y *Tensor) *Tensor) { g.extend = f }

// NewGraph returns an empty graph.
func NewGraph() *Graph { return &Graph{} }

// Err returns the first error recorded while building the graph.
func (g *Graph) Err() error { return g.err }

// Nodes returns the graph's nodes in execution order. Callers must not
// modify the slice.
func (g *Graph) Nodes() []*Tensor { return g.nodes }

// placeholder stands in for the result of a failed builder call.
var placeholder = &Tensor{dtype: F32, shape: Shape{1, 1, 1, 1}, op: OpLeaf}

func (g *Graph) fail(op string, format string, args ...any) *Tensor {
	if g.err == nil {
		g.err = fmt.Errorf("compute: %s: %s", op, fmt.Sprintf(format, args...))
	}
	return placeholder
}

// check verifies that operands exist and belong to this graph (or are
// leaves), and that no earlier call failed.
func (g *Graph) check(op string, ts ...*Tensor) bool {
	if g.err != nil {
		return false
	}
	for i, t := range ts {
		if t == nil {
			g.fail(op, "operand %d is nil", i)
			return false
		}
		if t == placeholder {
			g.fail(op, "operand %d comes from a failed call", i)
			return false
		}
		if t.graph != nil && t.graph != g {
			g.fail(op, "operand %d (%v) belongs to another graph", i, t)
			return false
		}
	}
	return true
}

func (g *Graph) add(t *Tensor, src ...*Tensor) *Tensor {
	t.graph = g
	t.id = len(g.nodes)
	t.nsrc = copy(t.src[:], src)
	t.shape = t.shape.norm()
	g.nodes = append(g.nodes, t)
	return t
}

func sameShape(a, b Shape) bool { return a.norm() == b.norm() }

// Output marks t so that its bytes survive until the next Compute and can be
// read with Backend.Read.
func (g *Graph) Output(t *Tensor) {
	if g.check("Output", t) {
		t.output = true
	}
}

// Int32s adds an I32 input of shape [len(vals)]: token ids or positions.
func (g *Graph) Int32s(vals []int32) *Tensor {
	if !g.check("Int32s") {
		return placeholder
	}
	if len(vals) == 0 {
		return g.fail("Int32s", "no values")
	}
	data := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(data[4*i:], uint32(v))
	}
	ints := append([]int32(nil), vals...)
	return g.add(&Tensor{op: OpInput, dtype: I32, shape: Shape{len(vals)}, data: data, ints: ints})
}

// Float32s adds an F32 input of shape s holding vals.
func (g *Graph) Float32s(vals []float32, s Shape) *Tensor {
	if !g.check("Float32s") {
		return placeholder
	}
	if err := s.valid(); err != nil {
		return g.fail("Float32s", "%v", err)
	}
	if int64(len(vals)) != s.Elements() {
		return g.fail("Float32s", "%d values for shape %v", len(vals), s)
	}
	data := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(v))
	}
	return g.add(&Tensor{op: OpInput, dtype: F32, shape: s, data: data})
}

// Reshape views t's bytes with another shape of the same element count.
func (g *Graph) Reshape(t *Tensor, s Shape) *Tensor {
	if !g.check("Reshape", t) {
		return placeholder
	}
	if err := s.valid(); err != nil {
		return g.fail("Reshape", "%v", err)
	}
	if s.Elements() != t.shape.Elements() {
		return g.fail("Reshape", "%v to %v changes the element count", t, s)
	}
	if _, err := ByteSize(t.dtype, s); err != nil {
		return g.fail("Reshape", "%v to %v: %v", t, s, err)
	}
	return g.add(&Tensor{op: OpView, dtype: t.dtype, shape: s}, t)
}

// Rows views rows [start, start+n) of t, seen as a matrix [ne0, rows], as a
// tensor of shape [ne0, n]. It works on leaves too (a slice of a weight).
func (g *Graph) Rows(t *Tensor, start, n int) *Tensor {
	if !g.check("Rows", t) {
		return placeholder
	}
	rows := t.shape.Rows()
	if start < 0 || n <= 0 || int64(start)+int64(n) > rows {
		return g.fail("Rows", "rows [%d, %d) of %v", start, start+n, t)
	}
	rowBytes, _ := t.dtype.RowSize(int64(t.shape[0]))
	v := &Tensor{op: OpView, dtype: t.dtype, shape: Shape{t.shape[0], n}, offset: int64(start) * rowBytes}
	return g.add(v, t)
}

// GetRows gathers rows ids of w (any weight type, shape [d, n_rows]) into
// an F32 tensor [d, len(ids)]: the token embedding lookup. ids must come
// from Int32s, so that they can be checked against n_rows here.
func (g *Graph) GetRows(w, ids *Tensor) *Tensor {
	if !g.check("GetRows", w, ids) {
		return placeholder
	}
	if ids.op != OpInput || ids.dtype != I32 {
		return g.fail("GetRows", "ids %v must be an Int32s input", ids)
	}
	rows := w.shape.Rows()
	for i, id := range ids.ints {
		if id < 0 || int64(id) >= rows {
			return g.fail("GetRows", "id %d at %d is outside the %d rows of %v", id, i, rows, w)
		}
	}
	return g.add(&Tensor{op: OpGetRows, dtype: F32, shape: Shape{w.shape[0], len(ids.ints)}}, w, ids)
}

// MulMat multiplies every row of x (F32 [k, n...]) by the matrix w (any
// weight type, [k, m], seen as m rows of k): the result is F32 [m, n...],
// out[j][i] = dot(w row i, x row j). Backends quantize x to the weight's
// dot-product type on the fly.
func (g *Graph) MulMat(w, x *Tensor) *Tensor {
	if !g.check("MulMat", w, x) {
		return placeholder
	}
	if x.dtype != F32 {
		return g.fail("MulMat", "activations %v must be F32", x)
	}
	if w.shape[0] != x.shape[0] {
		return g.fail("MulMat", "row lengths differ: weight %v, activations %v", w, x)
	}
	m := w.shape.Rows()
	if m > math.MaxInt32 {
		return g.fail("MulMat", "weight %v has too many rows", w)
	}
	s := x.shape
	s[0] = int(m)
	y := g.add(&Tensor{op: OpMulMat, dtype: F32, shape: s}, w, x)
	if g.extend != nil && !g.extending && w.op == OpLeaf {
		g.extending = true
		y = g.extend(g, w, x, y)
		g.extending = false
	}
	return y
}

// binary checks the operands of Add and Mul: a is F32, b is F32 and either
// has a's shape or is one row of a's row length (broadcast over rows).
func (g *Graph) binary(op Op, a, b *Tensor) *Tensor {
	name := op.String()
	if !g.check(name, a, b) {
		return placeholder
	}
	if a.dtype != F32 || b.dtype != F32 {
		return g.fail(name, "operands %v and %v must be F32", a, b)
	}
	if !sameShape(a.shape, b.shape) && b.shape.Elements() != int64(a.shape[0]) {
		return g.fail(name, "%v cannot be broadcast to %v", b, a)
	}
	return g.add(&Tensor{op: op, dtype: F32, shape: a.shape}, a, b)
}

// Add returns a + b; b has a's shape or is one row broadcast over a's rows
// (a bias).
func (g *Graph) Add(a, b *Tensor) *Tensor { return g.binary(OpAdd, a, b) }

// Mul returns a * b element-wise; b has a's shape or is one row broadcast
// over a's rows (a norm weight).
func (g *Graph) Mul(a, b *Tensor) *Tensor { return g.binary(OpMul, a, b) }

// unary checks an F32 operand and adds a node of the same shape.
func (g *Graph) unary(op Op, a *Tensor, f float32) *Tensor {
	if !g.check(op.String(), a) {
		return placeholder
	}
	if a.dtype != F32 {
		return g.fail(op.String(), "operand %v must be F32", a)
	}
	return g.add(&Tensor{op: op, dtype: F32, shape: a.shape, f: f}, a)
}

// Scale returns a * s.
func (g *Graph) Scale(a *Tensor, s float32) *Tensor { return g.unary(OpScale, a, s) }

// RMSNorm returns each row of a divided by sqrt(mean(row²) + eps). Multiply
// by the norm weight with Mul.
func (g *Graph) RMSNorm(a *Tensor, eps float32) *Tensor {
	if !(eps >= 0) {
		return g.fail("RMSNorm", "eps %v", eps)
	}
	return g.unary(OpRMSNorm, a, eps)
}

// Softmax returns the softmax of each row of a.
func (g *Graph) Softmax(a *Tensor) *Tensor { return g.unary(OpSoftmax, a, 0) }

// Softcap returns c * tanh(a / c) (gemma2's final logit cap).
func (g *Graph) Softcap(a *Tensor, c float32) *Tensor {
	if !(c > 0) {
		return g.fail("Softcap", "cap %v must be positive", c)
	}
	return g.unary(OpSoftcap, a, c)
}

// glu checks the two F32 halves of a gated unit.
func (g *Graph) glu(op Op, gate, up *Tensor) *Tensor {
	if !g.check(op.String(), gate, up) {
		return placeholder
	}
	if gate.dtype != F32 || up.dtype != F32 || !sameShape(gate.shape, up.shape) {
		return g.fail(op.String(), "gate %v and up %v must be F32 of one shape", gate, up)
	}
	return g.add(&Tensor{op: op, dtype: F32, shape: gate.shape}, gate, up)
}

// SwiGLU returns silu(gate) * up.
func (g *Graph) SwiGLU(gate, up *Tensor) *Tensor { return g.glu(OpSwiGLU, gate, up) }

// GeGLU returns gelu(gate) * up, with the tanh approximation of GELU.
func (g *Graph) GeGLU(gate, up *Tensor) *Tensor { return g.glu(OpGeGLU, gate, up) }

// positions checks a position input for n tokens, every value in [0, limit).
func (g *Graph) positions(op string, pos *Tensor, n int, limit int64) bool {
	if pos.op != OpInput || pos.dtype != I32 {
		g.fail(op, "positions %v must be an Int32s input", pos)
		return false
	}
	if len(pos.ints) != n {
		g.fail(op, "%d positions for %d tokens", len(pos.ints), n)
		return false
	}
	for i, p := range pos.ints {
		if p < 0 || int64(p) >= limit {
			g.fail(op, "position %d at %d is outside [0, %d)", p, i, limit)
			return false
		}
	}
	return true
}

// Rope rotates x (F32 [head_dim, n_heads, n_tokens]) by the positions pos
// (Int32s of n_tokens values), per p.
func (g *Graph) Rope(x, pos *Tensor, p RopeParams) *Tensor {
	srcs := []*Tensor{x, pos}
	if p.Factors != nil {
		srcs = append(srcs, p.Factors)
	}
	if !g.check("Rope", srcs...) {
		return placeholder
	}
	if x.dtype != F32 || x.shape[3] != 1 {
		return g.fail("Rope", "x %v must be F32 [head_dim, n_heads, n_tokens]", x)
	}
	if p.Dims == 0 {
		p.Dims = x.shape[0]
	}
	if p.Dims < 2 || p.Dims%2 != 0 || p.Dims > x.shape[0] {
		return g.fail("Rope", "rotated dims %d for head size %d", p.Dims, x.shape[0])
	}
	if p.Mode != RopeNorm && p.Mode != RopeNeox {
		return g.fail("Rope", "unknown mode %d", p.Mode)
	}
	if !(p.Base > 0) || math.IsInf(float64(p.Base), 0) {
		return g.fail("Rope", "base %v", p.Base)
	}
	if p.FreqScale == 0 {
		p.FreqScale = 1
	}
	if !(p.FreqScale > 0) {
		return g.fail("Rope", "freq scale %v", p.FreqScale)
	}
	if f := p.Factors; f != nil && (f.dtype != F32 || f.shape.Elements() < int64(p.Dims/2)) {
		return g.fail("Rope", "factors %v must be F32 with at least %d values", f, p.Dims/2)
	}
	if !g.positions("Rope", pos, x.shape[2], math.MaxInt32) {
		return placeholder
	}
	return g.add(&Tensor{op: OpRope, dtype: F32, shape: x.shape, rope: p}, srcs...)
}

// Attention writes k and v (F32 [head_dim, n_kv_heads, n_tokens]) into the
// caches kCache and vCache (leaf tensors, F32, F16, Q8_0 or Q4_0
// [head_dim, n_kv_heads, capacity]; see CheckKVType) at the positions pos, then returns softmax(q·kᵀ·scale)·v for
// each query head (q F32 [head_dim, n_heads, n_tokens]) as F32
// [head_dim*n_heads, n_tokens]. The positions must be distinct. A query at
// position p attends to cache positions 0..p (or the last Window of them),
// which must have been written by this or earlier steps; with NonCausal,
// every query attends to positions 0..max(pos), or with a Window to
// p-Window+1..max(pos). Query head h reads kv head h/(n_heads/n_kv_heads).
func (g *Graph) Attention(q, k, v, kCache, vCache, pos *Tensor, p AttentionParams) *Tensor {
	if !g.check("Attention", q, k, v, kCache, vCache, pos) {
		return placeholder
	}
	hd, nh, nt := q.shape[0], q.shape[1], q.shape[2]
	if q.dtype != F32 || k.dtype != F32 || v.dtype != F32 || q.shape[3] != 1 {
		return g.fail("Attention", "q %v, k %v, v %v must be F32", q, k, v)
	}
	if !sameShape(k.shape, v.shape) || k.shape[0] != hd || k.shape[2] != nt || k.shape[3] != 1 {
		return g.fail("Attention", "k %v and v %v do not match q %v", k, v, q)
	}
	nkv := k.shape[1]
	if nh%nkv != 0 {
		return g.fail("Attention", "%d query heads are not a multiple of %d kv heads", nh, nkv)
	}
	for _, c := range []*Tensor{kCache, vCache} {
		if r, _ := c.Root(); r.op != OpLeaf {
			return g.fail("Attention", "cache %v must be a leaf tensor", c)
		}
		if err := CheckKVType(c.dtype, hd); err != nil {
			return g.fail("Attention", "cache %v: %v", c, err)
		}
		if c.shape[0] != hd || c.shape[1] != nkv || c.shape[3] != 1 {
			return g.fail("Attention", "cache %v does not match k %v", c, k)
		}
	}
	if kCache.shape[2] != vCache.shape[2] {
		return g.fail("Attention", "caches %v and %v differ in capacity", kCache, vCache)
	}
	if !(p.Scale > 0) || p.Softcap < 0 || p.Window < 0 || p.BlockSize < 0 {
		return g.fail("Attention", "parameters %+v", p)
	}
	limit, positions := int64(kCache.shape[2]), pos
	if p.BlockSize > 0 {
		var ok bool
		if limit, ok = g.blockTable(pos, nt, p, kCache.shape[2]); !ok {
			return placeholder
		}
		positions = &Tensor{op: OpInput, dtype: I32, ints: pos.ints[:nt]}
	}
	if !g.positions("Attention", positions, nt, limit) {
		return placeholder
	}
	// Two tokens writing one cache row would race, and no sequence has them.
	seen := make(map[int32]bool, nt)
	for i, p := range positions.ints {
		if seen[p] {
			return g.fail("Attention", "position %d appears twice (token %d)", p, i)
		}
		seen[p] = true
	}
	return g.add(&Tensor{op: OpAttention, dtype: F32, shape: Shape{hd * nh, nt}, attn: p},
		q, k, v, kCache, vCache, pos)
}

// blockTable checks the block table that follows the nt positions of a
// paged attention's pos input (see AttentionParams.BlockSize) against a
// pool of capacity rows, and returns how many positions it maps. Block ids
// must be distinct, or two positions would share a cache row.
func (g *Graph) blockTable(pos *Tensor, nt int, p AttentionParams, capacity int) (int64, bool) {
	if pos.op != OpInput || pos.dtype != I32 || len(pos.ints) < nt+2 {
		g.fail("Attention", "positions %v must be an Int32s input of %d positions, a block table and the block size", pos, nt)
		return 0, false
	}
	b := p.BlockSize
	if int(pos.ints[len(pos.ints)-1]) != b || capacity%b != 0 {
		g.fail("Attention", "block size %d (input says %d) for a pool of %d rows", b, pos.ints[len(pos.ints)-1], capacity)
		return 0, false
	}
	table := pos.ints[nt : len(pos.ints)-1]
	used := make(map[int32]bool, len(table))
	for i, id := range table {
		if id < 0 || int(id) >= capacity/b || used[id] {
			g.fail("Attention", "block %d of the table is %d: outside the pool's %d blocks or used twice", i, id, capacity/b)
			return 0, false
		}
		used[id] = true
	}
	return int64(len(table)) * int64(b), true
}

// Copy writes src (F32 or F16) into dst, a leaf tensor or a view of one,
// of the same element count and type F32 or F16 (converting). The returned
// node aliases dst. Growing a KV cache: Copy(g.Rows(newCache, 0, used),
// g.Rows(oldCache, 0, used)) with the caches reshaped to rows of positions.
func (g *Graph) Copy(dst, src *Tensor) *Tensor {
	if !g.check("Copy", dst, src) {
		return placeholder
	}
	if r, _ := dst.Root(); r.op != OpLeaf {
		return g.fail("Copy", "destination %v must be a leaf tensor or a view of one", dst)
	}
	if (src.dtype != F32 && src.dtype != F16) || (dst.dtype != F32 && dst.dtype != F16) {
		return g.fail("Copy", "%v to %v: source and destination must be F32 or F16", src, dst)
	}
	if src.shape.Elements() != dst.shape.Elements() {
		return g.fail("Copy", "%v and %v differ in element count", src, dst)
	}
	return g.add(&Tensor{op: OpCopy, dtype: dst.dtype, shape: dst.shape}, dst, src)
}
