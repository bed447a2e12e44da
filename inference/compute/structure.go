package compute

import (
	"math"
	"slices"
)

// Structure describes a graph as a backend prepares it: every node's op,
// type, shape, parameters, output mark and operands, with leaves named by
// their buffer and place in it. Two graphs of equal structure differ at
// most in the values of their inputs, so a backend may run the second with
// what it prepared for the first (the memory plan, the converted ops),
// copying in only the new input values: a decode step is the last step's
// graph with another token and position.
type Structure struct {
	words []uint64
	// Parameter structs are compared whole, so a field added to them
	// later counts without anyone remembering to add it here.
	rope []RopeParams // Factors cleared: they are an operand
	attn []AttentionParams
}

// Describe sets s to g's structure, reusing s's memory. leaf names a
// buffer: two leaves are the same operand when their buffers have the same
// name and they have the same offset, type and shape. A backend names a
// buffer so that the name changes whenever what it prepared for a leaf of
// the buffer (an address, a repacked copy) may no longer hold; 0 names a
// buffer whose leaves a backend cannot reuse anything for.
func (s *Structure) Describe(g *Graph, leaf func(Buffer) uint64) {
	s.words, s.rope, s.attn = s.words[:0], s.rope[:0], s.attn[:0]
	w := s.words
	for _, n := range g.nodes {
		head := uint64(n.op) | uint64(n.dtype)<<8 | uint64(n.nsrc)<<16
		if n.output {
			head |= 1 << 24
		}
		w = append(w, head, uint64(n.offset), uint64(math.Float32bits(n.f)))
		w = appendShape(w, n.shape)
		for _, src := range n.src[:n.nsrc] {
			if src.graph == g {
				w = append(w, uint64(src.id))
				continue
			}
			// Anything else is a leaf (Graph.check refuses other graphs'
			// nodes): marked by the top bit, which no node id has.
			w = append(w, 1<<63|uint64(src.dtype), leaf(src.buf), uint64(src.offset))
			w = appendShape(w, src.shape)
		}
		switch n.op {
		case OpRope:
			p := n.rope
			p.Factors = nil
			s.rope = append(s.rope, p)
		case OpAttention:
			s.attn = append(s.attn, n.attn)
		}
	}
	s.words = w
}

func appendShape(w []uint64, s Shape) []uint64 {
	return append(w, uint64(s[0]), uint64(s[1]), uint64(s[2]), uint64(s[3]))
}

// Equal reports whether s and o describe graphs of the same structure.
// Nothing equals an empty description.
func (s *Structure) Equal(o *Structure) bool {
	return len(s.words) > 0 && slices.Equal(s.words, o.words) &&
		slices.Equal(s.rope, o.rope) && slices.Equal(s.attn, o.attn)
}
