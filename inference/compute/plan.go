package compute

import "sort"

// Plan places the graph's intermediate tensors in one scratch arena, reusing
// the bytes of a tensor once its last reader has run. Backends use it to
// size and lay out their scratch memory.
type Plan struct {
	// Offsets[i] is the arena offset of node i, or -1 when the node owns no
	// bytes (a view, or a Copy that aliases its destination).
	Offsets []int64
	// Size is the arena size in bytes.
	Size int64
}

// NewPlan lays out g's nodes with every offset a multiple of align (a power
// of two). Output nodes keep their bytes to the end. Inputs are placed
// first and live from the start, because backends copy every input in
// before the first op runs.
func NewPlan(g *Graph, align int64) Plan {
	nodes := g.nodes
	last := make([]int, len(nodes)) // index of the last node reading each owner
	for i := range last {
		last[i] = i
	}
	for i, n := range nodes {
		for _, s := range n.src[:n.nsrc] {
			if r, _ := s.Root(); r.graph == g && last[r.id] < i {
				last[r.id] = i
			}
		}
		if n.output {
			if r, _ := n.Root(); r.graph == g {
				last[r.id] = len(nodes)
			}
		}
	}
	p := Plan{Offsets: make([]int64, len(nodes))}
	var free []span // sorted by offset, coalesced
	dying := make([][]int, len(nodes)+1)
	place := func(i int) {
		size := (nodes[i].Bytes() + align - 1) &^ (align - 1)
		if size == 0 {
			size = align
		}
		p.Offsets[i] = allocSpan(&free, &p.Size, size)
		dying[last[i]] = append(dying[last[i]], i)
	}
	for i, n := range nodes {
		p.Offsets[i] = -1
		if n.op == OpInput {
			place(i)
		}
	}
	for i, n := range nodes {
		if n.op != OpView && n.op != OpCopy && n.op != OpInput {
			place(i)
		}
		// Free after allocating, so a node never shares bytes with its inputs.
		for _, d := range dying[i] {
			size := (nodes[d].Bytes() + align - 1) &^ (align - 1)
			if size == 0 {
				size = align
			}
			freeSpan(&free, span{p.Offsets[d], size})
		}
	}
	return p
}

type span struct{ off, size int64 }

// allocSpan takes the first free span that fits, or grows the arena.
func allocSpan(free *[]span, total *int64, size int64) int64 {
	for i, s := range *free {
		if s.size >= size {
			off := s.off
			if s.size == size {
				*free = append((*free)[:i], (*free)[i+1:]...)
			} else {
				(*free)[i] = span{s.off + size, s.size - size}
			}
			return off
		}
	}
	// Extend a free span at the end of the arena if there is one.
	if n := len(*free); n > 0 && (*free)[n-1].off+(*free)[n-1].size == *total {
		off := (*free)[n-1].off
		*total = off + size
		*free = (*free)[:n-1]
		return off
	}
	off := *total
	*total += size
	return off
}

// freeSpan returns s to the free list, merging neighbours. The list stays
// sorted by offset, so s goes in by binary search (a decode graph frees a
// thousand spans; sorting the list at each one was most of the plan's time).
func freeSpan(free *[]span, s span) {
	f := *free
	i := sort.Search(len(f), func(i int) bool { return f[i].off > s.off })
	if i > 0 && f[i-1].off+f[i-1].size == s.off { // merge with the one before
		f[i-1].size += s.size
		if i < len(f) && f[i-1].off+f[i-1].size == f[i].off { // and the one after
			f[i-1].size += f[i].size
			f = append(f[:i], f[i+1:]...)
		}
		*free = f
		return
	}
	if i < len(f) && s.off+s.size == f[i].off { // merge with the one after
		f[i] = span{s.off, s.size + f[i].size}
		return
	}
	f = append(f, span{})
	copy(f[i+1:], f[i:])
	f[i] = s
	*free = f
}
