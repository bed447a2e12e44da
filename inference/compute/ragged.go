package compute

// maxConcat is the most parts one Concat node takes: a node has six
// operands. Graph.Concat joins more in a tree of nodes.
const maxConcat = 6

// Concat returns the rows of parts one after the other: every part is F32
// with the same row length d, seen as a matrix [d, rows], and the result
// is F32 [d, the sum of the rows]. One part is returned as it is.
func (g *Graph) Concat(parts ...*Tensor) *Tensor {
	if !g.check("Concat", parts...) {
		return placeholder
	}
	if len(parts) == 0 {
		return g.fail("Concat", "no parts")
	}
	d := parts[0].shape[0]
	for i, p := range parts {
		if p.dtype != F32 || p.shape[0] != d {
			return g.fail("Concat", "part %d %v is not F32 rows of %d like %v", i, p, d, parts[0])
		}
	}
	for len(parts) > maxConcat {
		var next []*Tensor
		for i := 0; i < len(parts); i += maxConcat {
			next = append(next, g.concat(parts[i:min(i+maxConcat, len(parts))]))
		}
		parts = next
	}
	return g.concat(parts)
}

func (g *Graph) concat(parts []*Tensor) *Tensor {
	if len(parts) == 1 {
		return parts[0]
	}
	var rows int64
	for _, p := range parts {
		rows += p.shape.Rows()
	}
	s := Shape{parts[0].shape[0], int(rows)}
	if err := s.valid(); err != nil {
		return g.fail("Concat", "%v", err)
	}
	return g.add(&Tensor{op: OpConcat, dtype: F32, shape: s}, parts...)
}

// Segment is the part of a ragged batch that belongs to one sequence: Len
// consecutive tokens of the batch, their positions in that sequence (an
// Int32s input of Len values) and the sequence's own caches; or with
// BlockSize > 0 a pool's caches, Pos going on with the sequence's block
// table (see AttentionParams.BlockSize).
type Segment struct {
	Len            int
	Pos            *Tensor
	KCache, VCache *Tensor
	BlockSize      int
}

// attention is the Attention of segment s over its tokens q, k and v.
func (g *Graph) attention(q, k, v *Tensor, s Segment, p AttentionParams) *Tensor {
	p.BlockSize = s.BlockSize
	return g.Attention(q, k, v, s.KCache, s.VCache, s.Pos, p)
}

// RaggedAttention is Attention over a batch that holds the tokens of
// several sequences, one Segment after another: q, k and v are F32
// [head_dim, heads, tokens] for all of them, and each segment's tokens
// write their keys and values into their own caches and attend only to
// them, causally by their own positions. The result is F32
// [head_dim*n_heads, tokens], as Attention's. With one segment it is
// Attention itself; with more, it needs a device that runs OpConcat.
func (g *Graph) RaggedAttention(q, k, v *Tensor, segs []Segment, p AttentionParams) *Tensor {
	if !g.check("RaggedAttention", q, k, v) {
		return placeholder
	}
	if len(segs) == 0 {
		return g.fail("RaggedAttention", "no segments")
	}
	if len(segs) == 1 {
		s := segs[0]
		if s.Len != q.shape[2] {
			return g.fail("RaggedAttention", "a segment of %d tokens for %v", s.Len, q)
		}
		return g.attention(q, k, v, s, p)
	}
	if q.shape[3] != 1 || k.shape[3] != 1 || v.shape[3] != 1 || k.shape[2] != q.shape[2] || v.shape[2] != q.shape[2] {
		return g.fail("RaggedAttention", "q %v, k %v and v %v must be [head_dim, heads, tokens] of one token count", q, k, v)
	}
	total := 0
	for _, s := range segs {
		if s.Len <= 0 {
			return g.fail("RaggedAttention", "a segment of %d tokens", s.Len)
		}
		total += s.Len
	}
	if total != q.shape[2] {
		return g.fail("RaggedAttention", "segments of %d tokens in all for %v", total, q)
	}
	// A sequence's tokens are consecutive rows of q, k and v (one row per
	// head and token), so each segment is a view, and the outputs join by
	// rows in the same order.
	outs := make([]*Tensor, 0, len(segs))
	at := 0
	for _, s := range segs {
		view := func(t *Tensor) *Tensor {
			h := t.shape[1]
			return g.Reshape(g.Rows(t, at*h, s.Len*h), Shape{t.shape[0], h, s.Len})
		}
		outs = append(outs, g.attention(view(q), view(k), view(v), s, p))
		at += s.Len
	}
	return g.Concat(outs...)
}

// SelectRows returns the rows of x (F32 [d, rows]) given by ranges, each
// {start, count}, one after another: the rows of a ragged batch whose
// logits are wanted.
func (g *Graph) SelectRows(x *Tensor, ranges [][2]int) *Tensor {
	if !g.check("SelectRows", x) {
		return placeholder
	}
	if len(ranges) == 0 {
		return g.fail("SelectRows", "no rows")
	}
	if len(ranges) == 1 && ranges[0][0] == 0 && int64(ranges[0][1]) == x.shape.Rows() {
		return x
	}
	parts := make([]*Tensor, 0, len(ranges))
	for _, r := range ranges {
		parts = append(parts, g.Rows(x, r[0], r[1]))
	}
	if g.err != nil {
		return placeholder
	}
	return g.Concat(parts...)
}

// SupportsRagged reports whether dev runs ragged batches of several
// sequences (RaggedAttention with more than one segment, SelectRows of
// several ranges).
func SupportsRagged(dev Device) bool { return dev != nil && dev.Supports(OpConcat, F32) }
