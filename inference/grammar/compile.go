package grammar

import (
	"fmt"
	"unicode/utf8"
)

const infCost = int32(1 << 30)

func addCost(a, b int32) int32 {
	if a >= infCost || b >= infCost {
		return infCost
	}
	return min(a+b, infCost)
}

// compile lays the rules out flat, refuses left recursion and computes the
// least cost of finishing from every element (what lets a generation close
// its output before the token budget runs out).
func (p *parser) compile(root int32) (*Grammar, error) {
	g := &Grammar{root: root, rules: make([][]int32, len(p.defs)), names: make([]string, len(p.defs))}
	for n, r := range p.names {
		g.names[r] = n
	}
	for r, alts := range p.defs {
		for _, s := range alts {
			g.rules[r] = append(g.rules[r], int32(len(g.elems)))
			for _, it := range s {
				if it.ref >= 0 {
					g.elems = append(g.elems, elem{kind: elemRef, ref: it.ref})
				} else {
					g.elems = append(g.elems, elem{kind: elemChars, ranges: it.ranges})
				}
			}
			g.elems = append(g.elems, elem{kind: elemEnd})
		}
		if len(g.elems) > MaxElements*2 {
			return nil, fmt.Errorf("the grammar is larger than %d elements", MaxElements)
		}
	}
	if err := g.checkLeftRecursion(); err != nil {
		return nil, err
	}
	g.computeCosts()
	if g.cost[root] >= infCost {
		return nil, fmt.Errorf("rule %q cannot produce any string", g.names[root])
	}
	return g, nil
}

// nullable reports, per rule, whether it derives the empty string.
func (g *Grammar) nullable() []bool {
	null := make([]bool, len(g.rules))
	for changed := true; changed; {
		changed = false
		for r, alts := range g.rules {
			if null[r] {
				continue
			}
			for _, a := range alts {
				if g.nullableFrom(a, null) {
					null[r], changed = true, true
					break
				}
			}
		}
	}
	return null
}

func (g *Grammar) nullableFrom(pos int32, null []bool) bool {
	for ; g.elems[pos].kind != elemEnd; pos++ {
		e := &g.elems[pos]
		if e.kind == elemChars || !null[e.ref] {
			return false
		}
	}
	return true
}

// checkLeftRecursion refuses a rule that can reach itself without reading
// a character: the set of parse stacks would grow without end.
func (g *Grammar) checkLeftRecursion() error {
	null := g.nullable()
	const (
		unseen = iota
		active
		done
	)
	state := make([]uint8, len(g.rules))
	// An explicit stack: rules can chain deeper than Go's stack should.
	type frame struct {
		rule  int32
		edges []int32
		next  int
	}
	leftRefs := func(r int32) []int32 {
		var out []int32
		for _, a := range g.rules[r] {
			for pos := a; g.elems[pos].kind == elemRef; pos++ {
				out = append(out, g.elems[pos].ref)
				if !null[g.elems[pos].ref] {
					break
				}
			}
		}
		return out
	}
	for start := range g.rules {
		if state[start] != unseen {
			continue
		}
		stack := []frame{{rule: int32(start), edges: leftRefs(int32(start))}}
		state[start] = active
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			if f.next == len(f.edges) {
				state[f.rule] = done
				stack = stack[:len(stack)-1]
				continue
			}
			to := f.edges[f.next]
			f.next++
			switch state[to] {
			case active:
				return fmt.Errorf("rule %q is left recursive (it can reach itself without reading a character)", g.names[to])
			case unseen:
				state[to] = active
				stack = append(stack, frame{rule: to, edges: leftRefs(to)})
			}
		}
	}
	return nil
}

// charCost is the fewest UTF-8 bytes of a character in the class.
func charCost(e *elem) int32 {
	if len(e.ranges) == 0 {
		return infCost
	}
	lo := e.ranges[0]
	if lo >= 0xD800 && lo <= 0xDFFF {
		lo = 0xE000
	}
	return int32(utf8.RuneLen(lo))
}

// computeCosts finds each rule's cheapest string (in bytes) by relaxation,
// then each element's cost to the end of its alternative.
func (g *Grammar) computeCosts() {
	g.cost = make([]int32, len(g.rules))
	for i := range g.cost {
		g.cost[i] = infCost
	}
	altCost := func(pos int32) int32 {
		c := int32(0)
		for ; g.elems[pos].kind != elemEnd; pos++ {
			e := &g.elems[pos]
			if e.kind == elemChars {
				c = addCost(c, charCost(e))
			} else {
				c = addCost(c, g.cost[e.ref])
			}
		}
		return c
	}
	// Each pass fixes at least one more rule's final cost, so this ends.
	for pass := 0; pass <= len(g.rules); pass++ {
		changed := false
		for r, alts := range g.rules {
			for _, a := range alts {
				if c := altCost(a); c < g.cost[r] {
					g.cost[r], changed = c, true
				}
			}
		}
		if !changed {
			break
		}
	}
	g.suffix = make([]int32, len(g.elems))
	for i := len(g.elems) - 1; i >= 0; i-- {
		e := &g.elems[i]
		switch e.kind {
		case elemEnd:
			g.suffix[i] = 0
		case elemChars:
			g.suffix[i] = addCost(charCost(e), g.suffix[i+1])
		case elemRef:
			g.suffix[i] = addCost(g.cost[e.ref], g.suffix[i+1])
		}
	}
}
