package grammar

import (
	"errors"
	"fmt"
	"sync"
)

// Vocabulary is what a Constraint needs of a tokenizer.
type Vocabulary interface {
	VocabSize() int
	// Piece is a token's text as bytes (possibly part of a character).
	Piece(id int32) string
	IsEOG(id int32) bool
	IsControl(id int32) bool
}

// Token kinds in a vocabTable.
const (
	kindText  = iota // ordinary text: checked against the grammar
	kindEOG          // ends generation: allowed once the grammar is complete
	kindNever        // control or empty tokens: never part of constrained text
)

// vocabTable caches what every step asks of every token, so that ruling a
// token out is two array reads rather than an interface call and a string.
type vocabTable struct {
	first []byte
	kind  []uint8
}

var tables sync.Map // Vocabulary -> *vocabTable

func tableFor(v Vocabulary) *vocabTable {
	if t, ok := tables.Load(v); ok {
		return t.(*vocabTable)
	}
	n := v.VocabSize()
	t := &vocabTable{first: make([]byte, n), kind: make([]uint8, n)}
	for i := range n {
		id := int32(i)
		p := v.Piece(id)
		switch {
		case v.IsEOG(id):
			t.kind[i] = kindEOG
		case p == "" || v.IsControl(id):
			t.kind[i] = kindNever
		default:
			t.first[i] = p[0]
		}
	}
	// Tokenizers live as long as their models; a handful at most.
	actual, _ := tables.LoadOrStore(v, t)
	return actual.(*vocabTable)
}

// Constraint restricts one generation to a grammar. It is not safe for
// concurrent use.
type Constraint struct {
	g      *Grammar
	v      Vocabulary
	tab    *vocabTable
	st     state
	first  [256]bool
	budget int
	x      expander
	bufs   [2][]*frame
}

// NewConstraint starts a walk of g over v's tokens.
func NewConstraint(g *Grammar, v Vocabulary) (*Constraint, error) {
	st, err := g.start()
	if err != nil {
		return nil, fmt.Errorf("grammar: %w", err)
	}
	c := &Constraint{g: g, v: v, tab: tableFor(v), st: st, budget: -1, x: expander{g: g}}
	g.firstBytes(&c.st, &c.first)
	return c, nil
}

// SetBudget says that at most n more tokens may be generated (the one
// about to be chosen included); n < 0 lifts the limit. A token is then
// allowed only if the output can still be finished within the budget, so
// a generation cut by max_tokens or the context still ends complete.
func (c *Constraint) SetBudget(n int) { c.budget = n }

// MinBytes is the length of the shortest way to finish the output, an upper
// bound on the tokens it needs when the vocabulary has single-byte tokens.
func (c *Constraint) MinBytes() int { return int(c.g.stateCost(&c.st)) }

// Complete reports whether the output so far is a whole string of the
// grammar.
func (c *Constraint) Complete() bool { return c.st.complete() }

// Quick is a necessary condition for Allows that costs two array reads.
func (c *Constraint) Quick(id int32) bool {
	if id < 0 || int(id) >= len(c.tab.kind) {
		return false
	}
	switch c.tab.kind[id] {
	case kindText:
		return c.first[c.tab.first[id]]
	case kindEOG:
		return c.st.complete()
	}
	return false
}

// Allows reports whether id may come next.
func (c *Constraint) Allows(id int32) bool {
	if !c.Quick(id) {
		return false
	}
	if c.tab.kind[id] == kindEOG {
		return true
	}
	next, err := c.g.feed(&c.x, c.st, c.v.Piece(id), &c.bufs)
	if err != nil {
		return false
	}
	return c.budget < 0 || int(c.g.stateCost(&next)) <= c.budget-1
}

// ErrUnsatisfiable means no token can continue the output.
var ErrUnsatisfiable = errors.New("grammar: no token can continue the output")

// Accept advances past id, which Allows should have approved.
func (c *Constraint) Accept(id int32) error {
	if id < 0 || int(id) >= len(c.tab.kind) {
		return fmt.Errorf("grammar: token %d is outside the vocabulary", id)
	}
	if c.tab.kind[id] == kindEOG {
		if !c.st.complete() {
			return fmt.Errorf("grammar: the output ended before the grammar was complete")
		}
		return nil
	}
	next, err := c.g.feed(&c.x, c.st, c.v.Piece(id), &c.bufs)
	if errors.Is(err, errDead) {
		return fmt.Errorf("grammar: token %d (%q) does not fit the grammar", id, c.v.Piece(id))
	}
	if err != nil {
		return fmt.Errorf("grammar: %w", err)
	}
	// The scratch buffers are reused by the next check; keep a copy.
	next.stacks = append([]*frame(nil), next.stacks...)
	c.st = next
	c.g.firstBytes(&c.st, &c.first)
	return nil
}
