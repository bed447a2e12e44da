// Package grammar constrains generation to a formal language: llama.cpp's
// GBNF grammars, and JSON Schemas converted to GBNF.
//
// A Grammar is compiled once and shared; a Constraint walks it token by
// token for one generation. Rules are matched on Unicode code points while
// tokens arrive as bytes, so a character split across tokens is held as a
// partial UTF-8 sequence until its last byte comes.
//
// The matcher keeps the set of parse stacks a prefix can be in (a pushdown
// automaton run on all alternatives at once). Left recursion would make that
// set infinite, so Parse refuses it; the number of stacks, the size of a
// grammar and the depth of nesting are bounded so that no grammar can make
// a request hang or exhaust memory.
package grammar

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits on a grammar; past them Parse fails rather than let one request
// take the server's memory.
const (
	MaxSourceBytes = 1 << 20 // GBNF text
	MaxElements    = 1 << 18 // terminals and references after expanding repetitions
	MaxRules       = 1 << 15
	MaxRepeat      = 10000 // the largest count in x{m,n}
	maxNesting     = 64    // parentheses inside parentheses
	maxStacks      = 4096  // parse stacks alive at once
)

const maxRune = utf8.MaxRune

type elemKind uint8

const (
	elemEnd   elemKind = iota // the end of an alternative
	elemChars                 // one code point from a set of ranges
	elemRef                   // a rule
)

// elem is one position of an alternative. Character classes are kept as
// sorted, merged, inclusive ranges (negations already complemented), so a
// match is a search and never depends on a flag.
type elem struct {
	kind   elemKind
	ref    int32
	ranges []rune // lo0, hi0, lo1, hi1, ...
}

func (e *elem) matches(c rune) bool {
	r := e.ranges
	// Binary search over pairs: most classes are short, but [^"\\] is not.
	lo, hi := 0, len(r)/2
	for lo < hi {
		m := (lo + hi) / 2
		switch {
		case c < r[2*m]:
			hi = m
		case c > r[2*m+1]:
			lo = m + 1
		default:
			return true
		}
	}
	return false
}

// overlaps reports whether some code point in [lo, hi] is in the class.
func (e *elem) overlaps(lo, hi rune) bool {
	for i := 0; i < len(e.ranges); i += 2 {
		if e.ranges[i] <= hi && lo <= e.ranges[i+1] {
			return true
		}
	}
	return false
}

// Grammar is a compiled grammar: immutable and safe for concurrent use.
type Grammar struct {
	elems  []elem    // every alternative, each ended by elemEnd
	rules  [][]int32 // rule -> start of each alternative in elems
	names  []string
	root   int32
	cost   []int32 // per rule: fewest bytes of any string it derives
	suffix []int32 // per element: fewest bytes from it to the end of its alternative
}

// Rules is the number of rules, generated ones included.
func (g *Grammar) Rules() int { return len(g.rules) }

// SyntaxError is a malformed grammar, with the line and column it was
// found at.
type SyntaxError struct {
	Line, Col int
	Msg       string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Col, e.Msg)
}

// parser turns GBNF text into rules of symbolic items; compile then lays
// them out flat.
type parser struct {
	src   string
	pos   int
	names map[string]int32
	defs  [][]seq // per rule: its alternatives; nil while only referenced
	refAt []int   // where each rule was first referenced, for errors
	nest  int
	elems int
}

type item struct {
	ref    int32 // -1: a character class
	ranges []rune
}

type seq []item

// Parse compiles GBNF source whose start symbol is "root".
func Parse(src string) (*Grammar, error) {
	return ParseRoot(src, "root")
}

// ParseRoot compiles GBNF source with the given start symbol.
func ParseRoot(src, root string) (*Grammar, error) {
	if len(src) > MaxSourceBytes {
		return nil, fmt.Errorf("grammar: %d bytes is more than the limit of %d", len(src), MaxSourceBytes)
	}
	if !utf8.ValidString(src) {
		return nil, fmt.Errorf("grammar: the text is not valid UTF-8")
	}
	p := &parser{src: src, names: map[string]int32{}}
	if err := p.parseAll(); err != nil {
		return nil, fmt.Errorf("grammar: %w", err)
	}
	r, ok := p.names[root]
	if !ok || p.defs[r] == nil {
		return nil, fmt.Errorf("grammar: no rule named %q (the start symbol)", root)
	}
	for i, d := range p.defs {
		if d == nil {
			line, col := p.lineCol(p.refAt[i])
			return nil, fmt.Errorf("grammar: %w", &SyntaxError{line, col, fmt.Sprintf("rule %q is used but never defined", p.nameOf(int32(i)))})
		}
	}
	g, err := p.compile(r)
	if err != nil {
		return nil, fmt.Errorf("grammar: %w", err)
	}
	return g, nil
}

func (p *parser) nameOf(r int32) string {
	for n, i := range p.names {
		if i == r {
			return n
		}
	}
	return "?"
}

func (p *parser) lineCol(pos int) (int, int) {
	before := p.src[:min(pos, len(p.src))]
	line := strings.Count(before, "\n") + 1
	col := utf8.RuneCountInString(before[strings.LastIndexByte(before, '\n')+1:]) + 1
	return line, col
}

func (p *parser) errorf(format string, args ...any) error {
	line, col := p.lineCol(p.pos)
	return &SyntaxError{line, col, fmt.Sprintf(format, args...)}
}

// space skips blanks and comments; newlines only when nested (a newline
// ends a rule at the top level, as in llama.cpp).
func (p *parser) space(newlines bool) {
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == ' ' || c == '\t':
			p.pos++
		case c == '#':
			for p.pos < len(p.src) && p.src[p.pos] != '\n' {
				p.pos++
			}
		case (c == '\n' || c == '\r') && newlines:
			p.pos++
		default:
			return
		}
	}
}

func isNameByte(c byte) bool {
	return c == '-' || c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func (p *parser) name() string {
	start := p.pos
	for p.pos < len(p.src) && isNameByte(p.src[p.pos]) {
		p.pos++
	}
	return p.src[start:p.pos]
}

func (p *parser) symbol(name string, at int) (int32, error) {
	if r, ok := p.names[name]; ok {
		return r, nil
	}
	if len(p.defs) >= MaxRules {
		return 0, p.errorf("more than %d rules", MaxRules)
	}
	r := int32(len(p.defs))
	p.names[name] = r
	p.defs = append(p.defs, nil)
	p.refAt = append(p.refAt, at)
	return r, nil
}

// fresh is a generated rule for a group or a repetition.
func (p *parser) fresh(base string, alts []seq) (int32, error) {
	name := fmt.Sprintf("%s-%d", base, len(p.defs))
	r, err := p.symbol(name, p.pos)
	if err != nil {
		return 0, err
	}
	p.defs[r] = alts
	return r, nil
}

func (p *parser) parseAll() error {
	for {
		p.space(true)
		if p.pos >= len(p.src) {
			break
		}
		at := p.pos
		name := p.name()
		if name == "" {
			return p.errorf("expected a rule name, found %q", p.peekRune())
		}
		p.space(false)
		if !strings.HasPrefix(p.src[p.pos:], "::=") {
			return p.errorf("expected ::= after %q", name)
		}
		p.pos += 3
		p.space(true)
		r, err := p.symbol(name, at)
		if err != nil {
			return err
		}
		if p.defs[r] != nil {
			p.pos = at
			return p.errorf("rule %q is defined twice", name)
		}
		p.defs[r] = []seq{} // defined (even if it turns out empty), for recursion
		alts, err := p.alternates(false)
		if err != nil {
			return err
		}
		p.defs[r] = alts
		p.space(false)
		if p.pos < len(p.src) && p.src[p.pos] != '\n' && p.src[p.pos] != '\r' {
			return p.errorf("unexpected %q after the rule %q", p.peekRune(), name)
		}
	}
	if len(p.defs) == 0 {
		return p.errorf("the grammar has no rules")
	}
	return nil
}

func (p *parser) peekRune() string {
	if p.pos >= len(p.src) {
		return "end of input"
	}
	r, _ := utf8.DecodeRuneInString(p.src[p.pos:])
	return string(r)
}

func (p *parser) alternates(nested bool) ([]seq, error) {
	var alts []seq
	for {
		s, err := p.sequence(nested)
		if err != nil {
			return nil, err
		}
		alts = append(alts, s)
		if p.pos < len(p.src) && p.src[p.pos] == '|' {
			p.pos++
			p.space(true)
			continue
		}
		return alts, nil
	}
}

func (p *parser) sequence(nested bool) (seq, error) {
	var s seq
	lastStart := -1 // index in s where the last atom began, for postfix operators
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == '"':
			p.pos++
			lastStart = len(s)
			lit, err := p.literal()
			if err != nil {
				return nil, err
			}
			if len(lit) == 0 {
				lastStart = -1 // "" repeated is still ""
			}
			s = append(s, lit...)
		case c == '[':
			p.pos++
			ranges, err := p.class()
			if err != nil {
				return nil, err
			}
			lastStart = len(s)
			s = append(s, item{ref: -1, ranges: ranges})
		case c == '.':
			p.pos++
			lastStart = len(s)
			s = append(s, item{ref: -1, ranges: []rune{0, maxRune}})
		case isNameByte(c):
			at := p.pos
			name := p.name()
			// A name followed by ::= starts the next rule: this one ended
			// at a line break we could not see (only inside parentheses).
			save := p.pos
			p.space(false)
			if strings.HasPrefix(p.src[p.pos:], "::=") {
				p.pos = at
				return s, p.errorf("missing line break before the rule %q", name)
			}
			p.pos = save
			r, err := p.symbol(name, at)
			if err != nil {
				return nil, err
			}
			lastStart = len(s)
			s = append(s, item{ref: r})
		case c == '(':
			p.pos++
			p.nest++
			if p.nest > maxNesting {
				return nil, p.errorf("parentheses nested more than %d deep", maxNesting)
			}
			p.space(true)
			alts, err := p.alternates(true)
			if err != nil {
				return nil, err
			}
			if p.pos >= len(p.src) || p.src[p.pos] != ')' {
				return nil, p.errorf("expected ) to close the group")
			}
			p.pos++
			p.nest--
			r, err := p.fresh("group", alts)
			if err != nil {
				return nil, err
			}
			lastStart = len(s)
			s = append(s, item{ref: r})
		case c == '*' || c == '+' || c == '?' || c == '{':
			if lastStart < 0 {
				return nil, p.errorf("%q must follow something to repeat", string(c))
			}
			lo, hi, err := p.repetition()
			if err != nil {
				return nil, err
			}
			atom := append(seq(nil), s[lastStart:]...)
			rep, err := p.repeat(atom, lo, hi)
			if err != nil {
				return nil, err
			}
			s = append(s[:lastStart], rep...)
			lastStart = -1
		case c == '<':
			return nil, p.errorf("token references (<...>) are not supported")
		default:
			return s, nil
		}
		p.elems += 1
		if p.elems > MaxElements {
			return nil, p.errorf("the grammar is larger than %d elements", MaxElements)
		}
		p.space(nested)
	}
	return s, nil
}

// repetition reads *, +, ? or {m}, {m,}, {m,n}; hi -1 is unbounded.
func (p *parser) repetition() (int, int, error) {
	c := p.src[p.pos]
	p.pos++
	switch c {
	case '*':
		return 0, -1, nil
	case '+':
		return 1, -1, nil
	case '?':
		return 0, 1, nil
	}
	p.space(true)
	num := func() (int, bool, error) {
		start := p.pos
		for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
			p.pos++
		}
		if start == p.pos {
			return 0, false, nil
		}
		n, err := strconv.Atoi(p.src[start:p.pos])
		if err != nil || n > MaxRepeat {
			return 0, false, p.errorf("a repetition count above %d", MaxRepeat)
		}
		p.space(true)
		return n, true, nil
	}
	lo, ok, err := num()
	if err != nil {
		return 0, 0, err
	}
	if !ok {
		return 0, 0, p.errorf("expected a number after {")
	}
	hi := lo
	if p.pos < len(p.src) && p.src[p.pos] == ',' {
		p.pos++
		p.space(true)
		n, ok, err := num()
		if err != nil {
			return 0, 0, err
		}
		hi = -1
		if ok {
			hi = n
		}
	}
	if p.pos >= len(p.src) || p.src[p.pos] != '}' {
		return 0, 0, p.errorf("expected } to close the repetition")
	}
	p.pos++
	if hi >= 0 && hi < lo {
		return 0, 0, p.errorf("repetition {%d,%d} has its maximum below its minimum", lo, hi)
	}
	return lo, hi, nil
}

// repeat expands atom{lo,hi} into items: lo copies, then either a
// right-recursive star rule or nested optional rules, so that nothing is
// left recursive and x{0,n} costs n rules rather than n alternatives of
// growing length.
func (p *parser) repeat(atom seq, lo, hi int) (seq, error) {
	if n := len(atom) * max(lo, hi, 1); p.elems+n > MaxElements {
		return nil, p.errorf("the grammar is larger than %d elements", MaxElements)
	}
	p.elems += len(atom) * max(lo, hi, 1)
	if len(atom) > 1 {
		r, err := p.fresh("seq", []seq{atom})
		if err != nil {
			return nil, err
		}
		atom = seq{{ref: r}}
	}
	var out seq
	for range lo {
		out = append(out, atom...)
	}
	switch {
	case hi < 0:
		star, err := p.symbol(fmt.Sprintf("star-%d", len(p.defs)), p.pos)
		if err != nil {
			return nil, err
		}
		p.defs[star] = []seq{append(append(seq(nil), atom...), item{ref: star}), {}}
		out = append(out, item{ref: star})
	case hi > lo:
		var tail seq
		for range hi - lo {
			r, err := p.fresh("opt", []seq{append(append(seq(nil), atom...), tail...), {}})
			if err != nil {
				return nil, err
			}
			tail = seq{{ref: r}}
		}
		out = append(out, tail...)
	}
	return out, nil
}

// literal reads a quoted string (the opening quote consumed) into one
// item per code point.
func (p *parser) literal() (seq, error) {
	var s seq
	for {
		if p.pos >= len(p.src) || p.src[p.pos] == '\n' {
			return nil, p.errorf("unterminated string")
		}
		if p.src[p.pos] == '"' {
			p.pos++
			return s, nil
		}
		c, err := p.char()
		if err != nil {
			return nil, err
		}
		s = append(s, item{ref: -1, ranges: []rune{c, c}})
	}
}

// char reads one code point, decoding escapes.
func (p *parser) char() (rune, error) {
	c, n := utf8.DecodeRuneInString(p.src[p.pos:])
	p.pos += n
	if c != '\\' {
		return c, nil
	}
	if p.pos >= len(p.src) {
		return 0, p.errorf("an escape at the end of the input")
	}
	e := p.src[p.pos]
	p.pos++
	hexDigits := 0
	switch e {
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case '\\', '"', '[', ']', '-', '^', '/':
		return rune(e), nil
	case 'x':
		hexDigits = 2
	case 'u':
		hexDigits = 4
	case 'U':
		hexDigits = 8
	default:
		return 0, p.errorf("unknown escape \\%c", e)
	}
	if p.pos+hexDigits > len(p.src) {
		return 0, p.errorf("\\%c needs %d hex digits", e, hexDigits)
	}
	v, err := strconv.ParseUint(p.src[p.pos:p.pos+hexDigits], 16, 32)
	if err != nil || v > maxRune {
		return 0, p.errorf("\\%c%s is not a valid code point", e, p.src[p.pos:p.pos+hexDigits])
	}
	p.pos += hexDigits
	return rune(v), nil
}

// class reads [...] (the bracket consumed) into normalized ranges.
func (p *parser) class() ([]rune, error) {
	neg := false
	if p.pos < len(p.src) && p.src[p.pos] == '^' {
		neg = true
		p.pos++
	}
	var r []rune
	for {
		if p.pos >= len(p.src) || p.src[p.pos] == '\n' {
			return nil, p.errorf("unterminated character class")
		}
		if p.src[p.pos] == ']' {
			p.pos++
			break
		}
		lo, err := p.char()
		if err != nil {
			return nil, err
		}
		hi := lo
		if p.pos+1 < len(p.src) && p.src[p.pos] == '-' && p.src[p.pos+1] != ']' {
			p.pos++
			if hi, err = p.char(); err != nil {
				return nil, err
			}
			if hi < lo {
				return nil, p.errorf("range %q-%q is backwards", lo, hi)
			}
		}
		r = append(r, lo, hi)
	}
	r = normalize(r)
	if neg {
		r = complement(r)
	}
	return r, nil
}

// normalize sorts and merges ranges.
func normalize(r []rune) []rune {
	type span struct{ lo, hi rune }
	spans := make([]span, 0, len(r)/2)
	for i := 0; i+1 < len(r); i += 2 {
		spans = append(spans, span{r[i], r[i+1]})
	}
	slices.SortFunc(spans, func(a, b span) int { return int(a.lo - b.lo) })
	out := make([]rune, 0, len(r))
	for _, s := range spans {
		if n := len(out); n > 0 && s.lo <= out[n-1]+1 {
			out[n-1] = max(out[n-1], s.hi)
			continue
		}
		out = append(out, s.lo, s.hi)
	}
	return out
}

func complement(r []rune) []rune {
	var out []rune
	next := rune(0)
	for i := 0; i < len(r); i += 2 {
		if r[i] > next {
			out = append(out, next, r[i]-1)
		}
		next = r[i+1] + 1
	}
	if next <= maxRune {
		out = append(out, next, maxRune)
	}
	return out
}
