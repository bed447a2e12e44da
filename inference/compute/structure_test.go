package compute

import (
	"reflect"
	"slices"
	"testing"
)

// stepSpec is a small decode step: embedding lookup, norm, product, rope
// and attention over a cache, each with parameters a case can change.
type stepSpec struct {
	ids, pos []int32
	eps      float32
	scale    float32
	rope     RopeParams
	attn     AttentionParams
	emb, w   *Tensor
	k, v     *Tensor // caches [8, 1, capacity]
	first    int     // first embedding row of the viewed table
	unscaled bool    // the product reads the norm, not its scaled copy
	outputs  int     // nodes marked as outputs, from the last
}

func (s stepSpec) build(g *Graph) {
	table := g.Rows(s.emb, s.first, 8)
	x := g.RMSNorm(g.GetRows(table, g.Int32s(s.ids)), s.eps)
	in := g.Scale(x, s.scale)
	if s.unscaled {
		in = x
	}
	n := len(s.ids)
	pos := g.Int32s(s.pos)
	q := g.Rope(g.Reshape(g.MulMat(s.w, in), Shape{8, 2, n}), pos, s.rope)
	kv := g.Reshape(g.Rows(g.Reshape(x, Shape{8, 2 * n}), 0, n), Shape{8, 1, n})
	g.Attention(q, kv, kv, s.k, s.v, pos, s.attn)
	for _, t := range g.Nodes()[len(g.Nodes())-s.outputs:] {
		g.Output(t)
	}
}

// TestStructureSeesEveryDifference: graphs that differ only in input
// values have equal structures; a change of any parameter, operand, leaf
// or input length makes them differ.
func TestStructureSeesEveryDifference(t *testing.T) {
	big := &memBuffer{make([]byte, 4096)}
	other, err := NewTensor(big, 1024, F32, Shape{16, 16})
	if err != nil {
		t.Fatal(err)
	}
	moved, err := NewTensor(big, 2048, F32, Shape{16, 16})
	if err != nil {
		t.Fatal(err)
	}
	base := stepSpec{
		ids: []int32{1, 2}, pos: []int32{3, 4}, eps: 1e-5, scale: 2,
		rope: RopeParams{Mode: RopeNorm, Base: 10000}, attn: AttentionParams{Scale: 0.3},
		emb: leaf(t, F32, Shape{16, 12}), w: other,
		k: leaf(t, F32, Shape{8, 1, 16}), v: leaf(t, F32, Shape{8, 1, 16}), outputs: 1,
	}
	factors, bigCache := leaf(t, F32, Shape{4}), leaf(t, F32, Shape{8, 1, 32})
	renamed := map[Buffer]bool{}
	cases := []struct {
		name  string
		edit  func(*stepSpec)
		equal bool
	}{
		{"the same graph", func(*stepSpec) {}, true},
		{"other input values", func(s *stepSpec) { s.ids, s.pos = []int32{7, 0}, []int32{9, 5} }, true},
		{"more tokens", func(s *stepSpec) { s.ids, s.pos = []int32{1, 2, 3}, []int32{3, 4, 5} }, false},
		{"norm eps", func(s *stepSpec) { s.eps = 1e-6 }, false},
		{"scale", func(s *stepSpec) { s.scale = 3 }, false},
		{"rope base", func(s *stepSpec) { s.rope.Base = 500000 }, false},
		{"rope mode", func(s *stepSpec) { s.rope.Mode = RopeNeox }, false},
		{"rope dims", func(s *stepSpec) { s.rope.Dims = 4 }, false},
		{"rope freq scale", func(s *stepSpec) { s.rope.FreqScale = 0.5 }, false},
		{"rope factors", func(s *stepSpec) { s.rope.Factors = factors }, false},
		{"attention scale", func(s *stepSpec) { s.attn.Scale = 0.25 }, false},
		{"attention window", func(s *stepSpec) { s.attn.Window = 4 }, false},
		{"attention softcap", func(s *stepSpec) { s.attn.Softcap = 30 }, false},
		{"attention both ways", func(s *stepSpec) { s.attn.NonCausal = true }, false},
		{"weight elsewhere in its buffer", func(s *stepSpec) { s.w = moved }, false},
		{"weight in another buffer", func(s *stepSpec) { s.w = leaf(t, F32, Shape{16, 16}) }, false},
		{"weight buffer renamed", func(s *stepSpec) { renamed[big] = true }, false},
		{"grown cache", func(s *stepSpec) { s.k, s.v = bigCache, bigCache }, false},
		{"other view offset", func(s *stepSpec) { s.first = 2 }, false},
		{"operand wired elsewhere", func(s *stepSpec) { s.unscaled = true }, false},
		{"another output", func(s *stepSpec) { s.outputs = 2 }, false},
	}
	names := map[Buffer]uint64{}
	name := func(b Buffer) uint64 {
		if _, ok := names[b]; !ok || renamed[b] {
			names[b] = uint64(len(names) + 1000)
			delete(renamed, b)
		}
		return names[b]
	}
	describe := func(s stepSpec) *Structure {
		g := NewGraph()
		s.build(g)
		if err := g.Err(); err != nil {
			t.Fatal(err)
		}
		var st Structure
		st.Describe(g, name)
		return &st
	}
	want := describe(base)
	for _, c := range cases {
		s := base
		c.edit(&s)
		if got := describe(s).Equal(want); got != c.equal {
			t.Errorf("%s: equal %v, want %v", c.name, got, c.equal)
		}
	}
	if (&Structure{}).Equal(&Structure{}) {
		t.Error("empty structures are equal")
	}
}

// TestStructureCoversTensorFields fails when Tensor gains a field: add it
// to Structure.Describe (or here, if it cannot change what a backend
// prepares for a graph), or a backend may run a graph with what it
// prepared for another.
func TestStructureCoversTensorFields(t *testing.T) {
	described := []string{
		"name",   // error messages only
		"dtype",  // every node and leaf operand
		"shape",  // every node and leaf operand
		"op",     // every node
		"src",    // node ids, leaves by buffer, offset, type and shape
		"nsrc",   // every node
		"graph",  // tells nodes from leaves
		"buf",    // leaves, by the backend's name of the buffer
		"offset", // every node and leaf operand
		"f",      // every node
		"rope",   // compared whole; Factors is an operand
		"attn",   // compared whole
		"data",   // input values: what may differ
		"ints",   // input values: what may differ
		"output", // every node
		"id",     // node operands
	}
	var fields []string
	typ := reflect.TypeOf(Tensor{})
	for i := 0; i < typ.NumField(); i++ {
		fields = append(fields, typ.Field(i).Name)
	}
	if !slices.Equal(fields, described) {
		t.Errorf("Tensor's fields are %v; Structure.Describe knows %v", fields, described)
	}
}
