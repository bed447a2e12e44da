package tokenizer

// Pre-tokenization for byte-level BPE: the text is cut into words before
// merging, by a chain of steps selected by tokenizer.ggml.pre. Each step
// refines the spans of the previous one; llama.cpp runs each step's regular
// expression over every span and keeps both the matches and the text between
// them, so a step never loses characters.
//
// The regular expressions use lookahead, which Go's regexp lacks, so every
// step is a small hand-written matcher. They follow llama.cpp exactly, down to
// its quirks: \s is the Unicode White_Space property, \p{L} and \p{N} are the
// general categories, and in the steps llama.cpp runs through std::wregex a
// non-ASCII space is seen as U+000B, so it never matches a literal character
// range.

// span is a half-open range of code point indices.
type span struct{ start, end int }

// text is the code points of one fragment with their classes precomputed.
type text struct {
	cp []rune
	fl []cpFlags
}

func newText(s string) *text {
	cp := decodeCodepoints(s)
	fl := make([]cpFlags, len(cp))
	for i, c := range cp {
		fl[i] = flagsOf(c)
	}
	return &text{cp: cp, fl: fl}
}

// step splits one span into consecutive sub-spans that cover it exactly.
type step func(t *text, s span, emit func(span))

// pretokenize runs the steps in order and returns the final spans.
func pretokenize(t *text, steps []step) []span {
	spans := []span{{0, len(t.cp)}}
	if len(t.cp) == 0 {
		return nil
	}
	for _, st := range steps {
		next := make([]span, 0, len(spans)*2)
		emit := func(s span) {
			if s.end > s.start {
				next = append(next, s)
			}
		}
		for _, s := range spans {
			st(t, s, emit)
		}
		spans = next
	}
	return spans
}

// matchStep turns a matcher into a step with regex-search semantics: scan
// left to right, take the leftmost non-empty match, and keep the text between
// matches as spans of its own. match returns the match length at i (0: none).
func matchStep(match func(t *text, i, end int) int) step {
	return func(t *text, s span, emit func(span)) {
		gap := s.start
		for i := s.start; i < s.end; {
			n := match(t, i, s.end)
			if n == 0 {
				i++
				continue
			}
			emit(span{gap, i})
			emit(span{i, i + n})
			i += n
			gap = i
		}
		emit(span{gap, s.end})
	}
}

// runOf counts how many code points from i on satisfy in.
func runOf(t *text, i, end int, in func(t *text, k int) bool) int {
	k := i
	for k < end && in(t, k) {
		k++
	}
	return k - i
}

// runStep matches one or more code points of a class: "[class]+".
func runStep(in func(t *text, k int) bool) step {
	return matchStep(func(t *text, i, end int) int { return runOf(t, i, end, in) })
}

// oneStep matches a single code point of a class: "[class]".
func oneStep(in func(t *text, k int) bool) step {
	return matchStep(func(t *text, i, end int) int {
		if in(t, i) {
			return 1
		}
		return 0
	})
}

// spaceThenRunStep matches "\s?[class]+".
func spaceThenRunStep(in func(t *text, k int) bool) step {
	return matchStep(func(t *text, i, end int) int {
		if t.fl[i].space() && i+1 < end && in(t, i+1) {
			return 1 + runOf(t, i+1, end, in)
		}
		return runOf(t, i, end, in)
	})
}

// trailingSpaceStep matches "\s+$": the whitespace that ends a span.
func trailingSpaceStep(t *text, s span, emit func(span)) {
	k := s.end
	for k > s.start && t.fl[k-1].space() {
		k--
	}
	emit(span{s.start, k})
	emit(span{k, s.end})
}

// Character classes used by the steps.

func isLetter(t *text, k int) bool { return t.fl[k].letter() }
func isNumber(t *text, k int) bool { return t.fl[k].number() }
func isPunct(t *text, k int) bool  { return t.fl[k].punct() }
func isCRLF(t *text, k int) bool   { return t.cp[k] == '\r' || t.cp[k] == '\n' }
func isDigit(t *text, k int) bool  { return t.cp[k] >= '0' && t.cp[k] <= '9' }

// inClass tests a literal character class as std::wregex sees it.
func inClass(ranges [][2]rune) func(t *text, k int) bool {
	return func(t *text, k int) bool {
		c := t.cp[k]
		if c > 0x7F && t.fl[k].space() {
			return false // seen as U+000B, which none of the classes holds
		}
		for _, r := range ranges {
			if c >= r[0] && c <= r[1] {
				return true
			}
		}
		return false
	}
}

// punctOr matches \p{P} or one of the extra ASCII symbols.
func punctOr(extra string) func(t *text, k int) bool {
	return func(t *text, k int) bool {
		if t.fl[k].punct() {
			return true
		}
		for _, c := range extra {
			if t.cp[k] == c {
				return true
			}
		}
		return false
	}
}

// threeDigitsStep matches "[0-9][0-9][0-9]".
var threeDigitsStep = matchStep(func(t *text, i, end int) int {
	if i+3 <= end && isDigit(t, i) && isDigit(t, i+1) && isDigit(t, i+2) {
		return 3
	}
	return 0
})

// cjkRanges is "[一-龥ࠀ-一가-퟿]" of the DeepSeek pre-tokenizers.
var cjkRanges = [][2]rune{{0x4E00, 0x9FA5}, {0x0800, 0x4E00}, {0xAC00, 0xD7FF}}

// deepseekLetters is the explicit letter class of DeepSeek LLM's
// pre-tokenizer (Latin, Greek, Cyrillic, Armenian, Georgian, Cherokee and
// other cased scripts).
var deepseekLetters = [][2]rune{
	{'A', 'Z'}, {'a', 'z'}, {0xB5, 0xB5}, {0xC0, 0xD6}, {0xD8, 0xF6}, {0xF8, 0x1BA},
	{0x1BC, 0x1BF}, {0x1C4, 0x293}, {0x295, 0x2AF}, {0x370, 0x373}, {0x376, 0x377},
	{0x37B, 0x37D}, {0x37F, 0x37F}, {0x386, 0x386}, {0x388, 0x38A}, {0x38C, 0x38C},
	{0x38E, 0x3A1}, {0x3A3, 0x3F5}, {0x3F7, 0x481}, {0x48A, 0x52F}, {0x531, 0x556},
	{0x10A0, 0x10C5}, {0x13A0, 0x13F5}, {0x13F8, 0x13FD}, {0x1C90, 0x1CBA}, {0x1CBD, 0x1CBF},
	{0x1D00, 0x1D2B}, {0x1D6B, 0x1D77}, {0x1D79, 0x1D9A}, {0x1E00, 0x1F15}, {0x1F18, 0x1F1D},
	{0x1F20, 0x1F45}, {0x1F48, 0x1F4D}, {0x1F50, 0x1F57}, {0x1F59, 0x1F59}, {0x1F5B, 0x1F5B},
	{0x1F5D, 0x1F5D}, {0x1F5F, 0x1F7D}, {0x1F80, 0x1FB4}, {0x1FB6, 0x1FBC}, {0x1FBE, 0x1FBE},
	{0x1FC2, 0x1FC4}, {0x1FC6, 0x1FCC}, {0x1FD0, 0x1FD3}, {0x1FD6, 0x1FDB}, {0x1FE0, 0x1FEC},
	{0x1FF2, 0x1FF4}, {0x1FF6, 0x1FFC}, {0x2102, 0x2102}, {0x2107, 0x2107}, {0x210A, 0x2113},
	{0x2115, 0x2115}, {0x2119, 0x211D}, {0x2124, 0x2124}, {0x2126, 0x2126}, {0x2128, 0x2128},
	{0x212A, 0x212D}, {0x212F, 0x2134}, {0x2139, 0x2139}, {0x213C, 0x213F}, {0x2145, 0x2149},
	{0x214E, 0x214E}, {0x2183, 0x2184}, {0x2C00, 0x2C7B}, {0x2C7E, 0x2CE4}, {0x2CEB, 0x2CEE},
	{0x2CF2, 0x2CF3}, {0xA640, 0xA66D}, {0xA680, 0xA69B}, {0xA722, 0xA76F}, {0xA771, 0xA787},
	{0xA78B, 0xA78E}, {0xAB70, 0xABBF}, {0xFB00, 0xFB06}, {0xFB13, 0xFB17}, {0xFF21, 0xFF3A},
	{0xFF41, 0xFF5A}, {0x10400, 0x1044F}, {0x104B0, 0x104D3}, {0x104D8, 0x104FB}, {0x10C80, 0x10CB2},
	{0x10CC0, 0x10CF2}, {0x118A0, 0x118DF}, {0x1E900, 0x1E943},
}

// deepseekPunct is "[!-/:-~！-／：-～‘-‟　-。]" of DeepSeek LLM.
var deepseekPunct = [][2]rune{
	{'!', '/'}, {':', '~'}, {0xFF01, 0xFF0F}, {0xFF1A, 0xFF5E}, {0x2018, 0x201F}, {0x3000, 0x3002},
}

// gpt2Step is GPT-2's
// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// as a scanner.
func gpt2Step(t *text, s span, emit func(span)) {
	sc := scanner{t: t, s: s, emit: emit, prev: s.start}
	for pos := s.start; pos < s.end; {
		c, f := sc.cp(pos), sc.flags(pos)
		if n := sc.contraction(pos, false); n > 0 {
			pos = sc.cut(pos + n)
			continue
		}
		f2 := f
		if c == ' ' {
			f2 = sc.flags(pos + 1)
		}
		switch {
		case f2.letter(), f2.number(), isOther(f2):
			if c == ' ' {
				pos++
			}
			same := func(g cpFlags) bool {
				switch {
				case f2.letter():
					return g.letter()
				case f2.number():
					return g.number()
				}
				return isOther(g)
			}
			for same(sc.flags(pos)) {
				pos++
			}
			pos = sc.cut(pos)
			continue
		}
		pos = sc.cut(sc.whitespace(pos, false))
	}
}

// llama3Step is Llama 3's
// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
// as a scanner; maxDigits is 3 for Llama 3 and 1 for Qwen 2, whose pattern
// differs only in \p{N}.
func llama3Step(maxDigits int) step {
	return func(t *text, s span, emit func(span)) {
		sc := scanner{t: t, s: s, emit: emit, prev: s.start}
		for pos := s.start; pos < s.end; {
			c, f := sc.cp(pos), sc.flags(pos)
			if n := sc.contraction(pos, true); n > 0 {
				pos = sc.cut(pos + n)
				continue
			}
			if !(c == '\r' || c == '\n' || f.number()) && (f.letter() || sc.flags(pos+1).letter()) {
				pos++
				for sc.flags(pos).letter() {
					pos++
				}
				pos = sc.cut(pos)
				continue
			}
			if f.number() {
				for n := 0; sc.flags(pos).number(); {
					pos++
					if n++; n == maxDigits {
						sc.cut(pos)
						n = 0
					}
				}
				pos = sc.cut(pos)
				continue
			}
			f2 := f
			if c == ' ' {
				f2 = sc.flags(pos + 1)
			}
			if isOther(f2) || (f2 == 0 && c == ' ') {
				if c == ' ' {
					pos++
				}
				for isOther(sc.flags(pos)) {
					pos++
				}
				for c := sc.cp(pos); c == '\r' || c == '\n'; c = sc.cp(pos) {
					pos++
				}
				pos = sc.cut(pos)
				continue
			}
			pos = sc.cut(sc.whitespace(pos, true))
		}
	}
}

// isOther is [^\s\p{L}\p{N}] for a code point inside the span (the zero
// flags of "outside" never match).
func isOther(f cpFlags) bool {
	return f != 0 && !f.space() && !f.letter() && !f.number()
}

// scanner holds the state shared by the GPT-2 and Llama 3 scanners.
type scanner struct {
	t    *text
	s    span
	emit func(span)
	prev int
}

const outside = -1

func (sc *scanner) cp(i int) rune {
	if i < sc.s.start || i >= sc.s.end {
		return outside
	}
	return sc.t.cp[i]
}

func (sc *scanner) flags(i int) cpFlags {
	if i < sc.s.start || i >= sc.s.end {
		return 0
	}
	return sc.t.fl[i]
}

// cut ends the current piece at end and returns end.
func (sc *scanner) cut(end int) int {
	sc.emit(span{sc.prev, end})
	sc.prev = end
	return end
}

// contraction returns the length of 's 't 're 've 'm 'll 'd at pos (0 if
// none); foldCase makes the letters case-insensitive.
func (sc *scanner) contraction(pos int, foldCase bool) int {
	if sc.cp(pos) != '\'' || pos+1 >= sc.s.end {
		return 0
	}
	low := func(c rune) rune {
		if foldCase && c != outside {
			return toLower(c)
		}
		return c
	}
	c1 := low(sc.cp(pos + 1))
	if c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd' {
		return 2
	}
	if pos+2 < sc.s.end {
		c2 := low(sc.cp(pos + 2))
		if (c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l') {
			return 3
		}
	}
	return 0
}

// whitespace handles the trailing alternatives: \s*[\r\n]+ (when newlines is
// set), \s+(?!\S), \s+, and finally a single unmatched code point. It returns
// where the piece ends.
func (sc *scanner) whitespace(pos int, newlines bool) int {
	n, lastNL := 0, -1
	for sc.flags(pos + n).space() {
		if c := sc.cp(pos + n); newlines && (c == '\r' || c == '\n') {
			lastNL = pos + n + 1
		}
		n++
	}
	switch {
	case lastNL > 0:
		return lastNL
	case n > 1 && sc.cp(pos+n) != outside:
		return pos + n - 1
	case n > 0:
		return pos + n
	}
	return pos + 1
}

// preSteps returns the pre-tokenizer steps of a pre type.
func preSteps(p preType) []step {
	gpt2 := step(gpt2Step)
	switch p {
	case preLlama3:
		return []step{llama3Step(3)}
	case preQwen2:
		return []step{llama3Step(1)}
	case preGPT2:
		return []step{gpt2}
	case preStarcoder:
		return []step{oneStep(isNumber), gpt2}
	case preFalcon:
		return []step{runStep(punctOr("$+<=>^~|`")), gpt2, threeDigitsStep}
	case preDeepseekCoder:
		return []step{
			oneStep(isCRLF),
			spaceThenRunStep(isLetter),
			spaceThenRunStep(isPunct),
			runStep(inClass(cjkRanges)),
			oneStep(isNumber),
		}
	case preDeepseekLLM:
		return []step{
			oneStep(isCRLF),
			spaceThenRunStep(inClass(deepseekLetters)),
			spaceThenRunStep(inClass(deepseekPunct)),
			trailingSpaceStep,
			runStep(inClass(cjkRanges)),
			runStep(isNumber),
		}
	}
	// preDefault
	return []step{runStep(punctOr("$+<=>^~|")), gpt2, runStep(isNumber), threeDigitsStep}
}
