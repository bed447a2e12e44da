package grammar

import (
	"errors"
	"fmt"
)

// frame is one level of a parse stack: the next element to match in some
// alternative, and where to continue when that alternative ends. Frames are
// never changed once made, so stacks share their tails and a state can be
// tried without copying.
type frame struct {
	pos    int32
	parent *frame
	hash   uint64 // identifies the whole stack, for removing duplicates
	total  int32  // fewest bytes to finish this stack
}

// state is where a prefix of the output leaves the grammar: every stack it
// may be in (nil stands for "finished"), plus a character begun but not
// ended by the bytes so far.
type state struct {
	stacks  []*frame
	partial rune // the bits of the character begun
	need    int  // its continuation bytes still to come
	size    int  // its length in bytes, to refuse overlong encodings
}

var errTooAmbiguous = errors.New("the grammar is too ambiguous (more than 4096 parse stacks at once)")

// errDead is a prefix no string of the grammar starts with.
var errDead = errors.New("the text does not fit the grammar")

func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// expander collects the stacks of one step without duplicates.
type expander struct {
	g     *Grammar
	out   []*frame
	seen  map[uint64]struct{}
	final bool // the finished stack is in out
	steps int
}

func (x *expander) reset(out []*frame) {
	x.out = out[:0]
	x.final = false
	x.steps = 0
	if x.seen == nil {
		x.seen = make(map[uint64]struct{}, 16)
	} else {
		clear(x.seen)
	}
}

func (x *expander) newFrame(pos int32, parent *frame) *frame {
	f := &frame{pos: pos, parent: parent, total: x.g.suffix[pos]}
	h := uint64(pos) + 1
	if parent != nil {
		h ^= parent.hash * 0x9E3779B97F4A7C15
		f.total = addCost(f.total, parent.total)
	}
	f.hash = mix(h)
	return f
}

// expand turns a position into stacks whose top is a character class,
// entering rules and leaving finished alternatives.
func (x *expander) expand(pos int32, parent *frame) error {
	x.steps++
	if x.steps > 64*maxStacks {
		return errTooAmbiguous
	}
	g := x.g
	for g.elems[pos].kind == elemEnd {
		if parent == nil {
			if !x.final {
				x.final = true
				x.out = append(x.out, nil)
			}
			return nil
		}
		pos, parent = parent.pos, parent.parent
	}
	e := &g.elems[pos]
	if e.kind == elemChars {
		f := x.newFrame(pos, parent)
		if _, dup := x.seen[f.hash]; dup {
			return nil
		}
		x.seen[f.hash] = struct{}{}
		if len(x.out) >= maxStacks {
			return errTooAmbiguous
		}
		x.out = append(x.out, f)
		return nil
	}
	// A reference in last position needs no frame to come back to: this
	// keeps right recursion (x ::= a x | "") from growing the stack.
	cont := parent
	if g.elems[pos+1].kind != elemEnd {
		cont = x.newFrame(pos+1, parent)
	}
	for _, a := range g.rules[e.ref] {
		if err := x.expand(a, cont); err != nil {
			return err
		}
	}
	return nil
}

// start is the state before any output.
func (g *Grammar) start() (state, error) {
	x := &expander{g: g}
	x.reset(nil)
	for _, a := range g.rules[g.root] {
		if err := x.expand(a, nil); err != nil {
			return state{}, err
		}
	}
	return state{stacks: x.out}, nil
}

// stepRune advances every stack whose top accepts c.
func (g *Grammar) stepRune(x *expander, in []*frame, c rune, out []*frame) ([]*frame, error) {
	x.reset(out)
	for _, f := range in {
		if f == nil || !g.elems[f.pos].matches(c) {
			continue
		}
		if err := x.expand(f.pos+1, f.parent); err != nil {
			return nil, err
		}
	}
	return x.out, nil
}

// feed advances st by the bytes of b. It returns errDead when the bytes
// cannot continue any stack (or are not UTF-8). bufs are two scratch slices
// it may reuse; the returned state may alias one of them.
func (g *Grammar) feed(x *expander, st state, b string, bufs *[2][]*frame) (state, error) {
	cur := st
	flip := 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		var r rune
		if cur.need == 0 {
			switch {
			case c < 0x80:
				r = rune(c)
			case c >= 0xC2 && c < 0xE0:
				cur.partial, cur.need, cur.size = rune(c&0x1F), 1, 2
			case c >= 0xE0 && c < 0xF0:
				cur.partial, cur.need, cur.size = rune(c&0x0F), 2, 3
			case c >= 0xF0 && c < 0xF5:
				cur.partial, cur.need, cur.size = rune(c&0x07), 3, 4
			default:
				return state{}, errDead
			}
		} else {
			if c < 0x80 || c > 0xBF {
				return state{}, errDead
			}
			cur.partial = cur.partial<<6 | rune(c&0x3F)
			cur.need--
			if cur.need == 0 {
				r = cur.partial
				if !validRune(r, cur.size) {
					return state{}, errDead
				}
			}
		}
		if cur.need > 0 {
			// Keep only the stacks that some completion of the character
			// could still continue.
			lo := cur.partial << (6 * cur.need)
			hi := lo | (1<<(6*cur.need) - 1)
			// Only values the sequence may still encode: no overlong
			// forms, no surrogates, nothing past U+10FFFF.
			lo = max(lo, [5]rune{0, 0, 0x80, 0x800, 0x10000}[cur.size])
			hi = min(hi, maxRune)
			kept := bufs[flip][:0]
			for _, f := range cur.stacks {
				if f == nil {
					continue
				}
				e := &g.elems[f.pos]
				if lo <= min(hi, 0xD7FF) && e.overlaps(lo, min(hi, 0xD7FF)) || max(lo, 0xE000) <= hi && e.overlaps(max(lo, 0xE000), hi) {
					kept = append(kept, f)
				}
			}
			bufs[flip] = kept
			flip ^= 1
			if len(kept) == 0 {
				return state{}, errDead
			}
			cur.stacks = kept
			continue
		}
		next, err := g.stepRune(x, cur.stacks, r, bufs[flip])
		if err != nil {
			return state{}, err
		}
		bufs[flip] = next
		flip ^= 1
		if len(next) == 0 {
			return state{}, errDead
		}
		cur = state{stacks: next}
	}
	return cur, nil
}

// validRune refuses overlong encodings, surrogates and values past
// U+10FFFF: a token made of such bytes would not decode to the text the
// grammar matched.
func validRune(r rune, size int) bool {
	switch {
	case size == 3 && r < 0x800, size == 4 && r < 0x10000:
		return false
	}
	return r <= maxRune && !(r >= 0xD800 && r <= 0xDFFF)
}

// complete reports whether the output may end here.
func (st *state) complete() bool {
	if st.need > 0 {
		return false
	}
	for _, f := range st.stacks {
		if f == nil {
			return true
		}
	}
	return false
}

// cost is the fewest bytes that finish the output from st.
func (g *Grammar) stateCost(st *state) int32 {
	best := infCost
	for _, f := range st.stacks {
		c := int32(0)
		if f != nil {
			c = f.total
			if st.need > 0 {
				c = addCost(c-charCost(&g.elems[f.pos]), int32(st.need))
			}
		}
		best = min(best, c)
	}
	return best
}

// firstBytes marks the bytes a continuation of st can begin with. It over-
// approximates (a range's lead bytes are taken whole), which only costs a
// full check now and then.
func (g *Grammar) firstBytes(st *state, set *[256]bool) {
	*set = [256]bool{}
	if st.need > 0 {
		for b := 0x80; b <= 0xBF; b++ {
			set[b] = true
		}
		return
	}
	for _, f := range st.stacks {
		if f == nil {
			continue
		}
		r := g.elems[f.pos].ranges
		for i := 0; i < len(r); i += 2 {
			for b := leadByte(r[i]); b <= leadByte(r[i+1]); b++ {
				set[b] = true
			}
		}
	}
}

func leadByte(r rune) int {
	switch {
	case r < 0x80:
		return int(r)
	case r < 0x800:
		return 0xC0 | int(r>>6)
	case r < 0x10000:
		return 0xE0 | int(r>>12)
	}
	return 0xF0 | int(r>>18)
}

// Match reports whether text is a complete string of the grammar.
func (g *Grammar) Match(text string) (bool, error) {
	st, err := g.start()
	if err != nil {
		return false, err
	}
	x := &expander{g: g}
	var bufs [2][]*frame
	st, err = g.feed(x, st, text, &bufs)
	if errors.Is(err, errDead) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("grammar: %w", err)
	}
	return st.complete(), nil
}
