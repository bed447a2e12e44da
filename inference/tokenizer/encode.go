package tokenizer

import (
	"container/heap"
	"strings"
	"unicode"
)

// fragment is either raw text still to tokenize or an already-known token.
type fragment struct {
	text  string
	token int32 // none for text
}

// Encode tokenizes text. addSpecial adds BOS/EOS (and SEP for WordPiece) as
// the vocabulary asks; parseSpecial lets control tokens written in the text
// (e.g. "<|im_start|>") become their ids. User-defined tokens are always
// recognised, as in llama.cpp.
func (t *Tokenizer) Encode(text string, addSpecial, parseSpecial bool) ([]int32, error) {
	var out []int32
	frags := t.partition(text, parseSpecial)
	switch t.kind {
	case kindSPM:
		if addSpecial && t.addBOS {
			out = append(out, t.bos)
		}
		prevSpecial := true // the first text gets the space prefix too
		for _, f := range frags {
			if f.token != none {
				out = append(out, f.token)
				prevSpecial = true
				continue
			}
			s := f.text
			if t.addSpacePrefix && prevSpecial {
				s = " " + s
			}
			out = t.encodeSPM(strings.ReplaceAll(s, " ", spmSpace), out)
			prevSpecial = false
		}
		if addSpecial && t.addEOS {
			out = append(out, t.eos)
		}
	case kindBPE:
		if addSpecial && t.addBOS {
			out = append(out, t.bos)
		}
		for _, f := range frags {
			if f.token != none {
				out = append(out, f.token)
				continue
			}
			out = t.encodeBPE(f.text, out)
		}
		if addSpecial && t.addEOS {
			out = append(out, t.eos)
		}
	case kindWPM:
		if addSpecial && t.bos != none {
			out = append(out, t.bos)
		}
		for _, f := range frags {
			if f.token != none {
				out = append(out, f.token)
				continue
			}
			out = t.encodeWPM(f.text, out)
		}
		if addSpecial && t.sep != none {
			out = append(out, t.sep)
		}
	}
	return out, nil
}

// spmSpace is the SentencePiece "▁" (U+2581) that stands for a space.
const spmSpace = "\u2581"

// partition splits text on special tokens, longest token first. Without
// parseSpecial only user-defined tokens split the text. Tokens marked
// lstrip/rstrip swallow the ASCII whitespace beside them.
func (t *Tokenizer) partition(text string, parseSpecial bool) []fragment {
	if text == "" {
		return nil
	}
	frags := []fragment{{text: text, token: none}}
	for _, id := range t.special {
		a := t.attrs[id]
		if !parseSpecial && a&(attrControl|attrUnknown) != 0 {
			continue
		}
		tok := t.tokens[id]
		var next []fragment
		changed := false
		for _, f := range frags {
			if f.token != none || !strings.Contains(f.text, tok) {
				next = append(next, f)
				continue
			}
			changed = true
			rest := f.text
			for {
				k := strings.Index(rest, tok)
				if k < 0 {
					break
				}
				left := rest[:k]
				if a&attrLStrip != 0 {
					left = strings.TrimRight(left, asciiSpace)
				}
				if left != "" {
					next = append(next, fragment{text: left, token: none})
				}
				next = append(next, fragment{token: id})
				rest = rest[k+len(tok):]
				if a&attrRStrip != 0 {
					rest = strings.TrimLeft(rest, asciiSpace)
				}
			}
			if rest != "" {
				next = append(next, fragment{text: rest, token: none})
			}
		}
		if changed {
			frags = next
		}
	}
	return frags
}

// asciiSpace is what C's isspace accepts.
const asciiSpace = " \t\n\v\f\r"

// ---- SentencePiece ----

type spmSymbol struct {
	prev, next int
	start, n   int // bytes of the text
}

type spmBigram struct {
	left, right int
	score       float32
	size        int
}

func (t *Tokenizer) encodeSPM(text string, out []int32) []int32 {
	if text == "" {
		return out
	}
	var syms []spmSymbol
	for off := 0; off < len(text); {
		n := min(utf8Len(text[off]), len(text)-off)
		next := len(syms) + 1
		if off+n == len(text) {
			next = -1
		}
		syms = append(syms, spmSymbol{prev: len(syms) - 1, next: next, start: off, n: n})
		off += n
	}
	// Highest score first, then the leftmost pair.
	q := &queue[spmBigram]{less: func(a, b spmBigram) bool {
		if a.score != b.score {
			return a.score > b.score
		}
		return a.left < b.left
	}}
	tryAdd := func(l, r int) {
		if l < 0 || r < 0 {
			return
		}
		s := text[syms[l].start : syms[l].start+syms[l].n+syms[r].n]
		id, ok := t.toID[s]
		if !ok {
			return
		}
		heap.Push(q, spmBigram{left: l, right: r, score: t.scores[id], size: len(s)})
	}
	for i := 1; i < len(syms); i++ {
		tryAdd(i-1, i)
	}
	for q.Len() > 0 {
		b := heap.Pop(q).(spmBigram)
		l, r := &syms[b.left], &syms[b.right]
		if l.n == 0 || r.n == 0 || l.n+r.n != b.size {
			continue // stale: one side was merged since
		}
		l.n += r.n
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = b.left
		}
		tryAdd(l.prev, b.left)
		tryAdd(b.left, l.next)
	}
	for i := 0; i != -1; i = syms[i].next {
		s := text[syms[i].start : syms[i].start+syms[i].n]
		if id, ok := t.toID[s]; ok {
			out = append(out, id)
			continue
		}
		// Merged symbols are always tokens, so only single characters
		// missing from the vocabulary get here: spell them as bytes.
		for j := 0; j < len(s); j++ {
			if id, ok := t.byteToken(s[j]); ok {
				out = append(out, id)
			}
		}
	}
	return out
}

// byteToken finds the token for one raw byte: <0xNN>, else the byte itself.
// A vocabulary with neither gets the unknown token, where llama.cpp aborts.
func (t *Tokenizer) byteToken(b byte) (int32, bool) {
	const hex = "0123456789ABCDEF"
	if id, ok := t.toID[string([]byte{'<', '0', 'x', hex[b>>4], hex[b&15], '>'})]; ok {
		return id, true
	}
	if id, ok := t.toID[string([]byte{b})]; ok {
		return id, true
	}
	return t.unk, t.unk != none
}

// queue is a priority queue of merge candidates ordered by less.
type queue[T any] struct {
	items []T
	less  func(a, b T) bool
}

func (q *queue[T]) Len() int           { return len(q.items) }
func (q *queue[T]) Less(i, j int) bool { return q.less(q.items[i], q.items[j]) }
func (q *queue[T]) Swap(i, j int)      { q.items[i], q.items[j] = q.items[j], q.items[i] }
func (q *queue[T]) Push(x any)         { q.items = append(q.items, x.(T)) }
func (q *queue[T]) Pop() any {
	x := q.items[len(q.items)-1]
	q.items = q.items[:len(q.items)-1]
	return x
}

// ---- byte-level BPE ----

type bpeSymbol struct {
	prev, next int
	text       string
}

type bpeBigram struct {
	left, right int
	text        string
	rank        int
}

func (t *Tokenizer) encodeBPE(s string, out []int32) []int32 {
	tx := newText(s)
	for _, sp := range pretokenize(tx, t.steps) {
		out = t.bpeWord(byteEncode(tx.cp[sp.start:sp.end]), out)
	}
	return out
}

// byteEncode re-encodes the word's code points as UTF-8 and maps every byte
// to its printable stand-in.
func byteEncode(cps []rune) string {
	var raw []byte
	for _, c := range cps {
		raw = appendCodepoint(raw, c)
	}
	var b strings.Builder
	b.Grow(len(raw) * 2)
	for _, c := range raw {
		b.WriteRune(byteToRune[c])
	}
	return b.String()
}

func (t *Tokenizer) bpeWord(word string, out []int32) []int32 {
	if word == "" {
		return out
	}
	var syms []bpeSymbol
	if _, whole := t.toID[word]; t.ignoreMerges && whole {
		syms = []bpeSymbol{{prev: -1, next: -1, text: word}}
	} else {
		for off := 0; off < len(word); {
			n := min(utf8Len(word[off]), len(word)-off)
			next := len(syms) + 1
			if off+n == len(word) {
				next = -1
			}
			syms = append(syms, bpeSymbol{prev: len(syms) - 1, next: next, text: word[off : off+n]})
			off += n
		}
	}
	// Lowest rank first, then the leftmost pair.
	q := &queue[bpeBigram]{less: func(a, b bpeBigram) bool {
		if a.rank != b.rank {
			return a.rank < b.rank
		}
		return a.left < b.left
	}}
	tryAdd := func(l, r int) {
		if l < 0 || r < 0 {
			return
		}
		rank, ok := t.ranks[mergePair{syms[l].text, syms[r].text}]
		if !ok {
			return
		}
		heap.Push(q, bpeBigram{left: l, right: r, text: syms[l].text + syms[r].text, rank: rank})
	}
	for i := 1; i < len(syms); i++ {
		tryAdd(i-1, i)
	}
	for q.Len() > 0 {
		b := heap.Pop(q).(bpeBigram)
		l, r := &syms[b.left], &syms[b.right]
		if l.text == "" || r.text == "" || l.text+r.text != b.text {
			continue // stale
		}
		l.text += r.text
		r.text = ""
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = b.left
		}
		tryAdd(l.prev, b.left)
		tryAdd(b.left, l.next)
	}
	for i := 0; i != -1; i = syms[i].next {
		s := syms[i].text
		if s == "" {
			continue
		}
		if id, ok := t.toID[s]; ok {
			out = append(out, id)
			continue
		}
		// A merge whose result is not a token: fall back to single bytes
		// of the encoded text, skipping those that are not tokens either.
		for j := 0; j < len(s); j++ {
			if id, ok := t.toID[s[j:j+1]]; ok {
				out = append(out, id)
			}
		}
	}
	return out
}

// ---- WordPiece ----

func (t *Tokenizer) encodeWPM(s string, out []int32) []int32 {
	for _, w := range t.wpmWords(s) {
		word := spmSpace + w
		start := len(out)
		for i := 0; i < len(word); i++ {
			matched := false
			for j := min(len(word), i+t.maxTokenLen+1); j > i; j-- {
				if id, ok := t.toID[word[i:j]]; ok {
					out = append(out, id)
					matched = true
					i = j - 1
					break
				}
			}
			if !matched {
				out = out[:start] // the word cannot be spelled: drop what was found
				break
			}
		}
		if len(out) == start && t.unk != none {
			out = append(out, t.unk)
		}
	}
	return out
}

// wpmWords normalises and splits text the way llama.cpp's WordPiece session
// does, which is close to Hugging Face's BasicTokenizer but not equal to it:
//
//   - accents are stripped by replacing each code point with the first code
//     point of its canonical decomposition (so a Hangul syllable keeps only
//     its leading consonant), and combining marks written on their own are
//     kept, where Hugging Face would drop every Mn after a full NFD;
//   - NUL, U+FFFD, controls, format characters, private use and surrogates
//     are dropped, but unassigned code points and noncharacters (U+FDD0,
//     U+10FFFF) stay in their word and usually make it [UNK], where Hugging
//     Face drops them too;
//   - White_Space splits words (so \v and \f do, which Hugging Face drops);
//   - punctuation, ASCII symbols and CJK ideographs are words of their own,
//     judged before lower-casing.
//
// llama.cpp always lower-cases and strips accents; the normalizer flags of
// the vocabulary (Hugging Face's do_lower_case and strip_accents) can turn
// either step off.
func (t *Tokenizer) wpmWords(s string) []string {
	var words []string
	var cur []byte
	flush := func() {
		if len(cur) > 0 {
			words = append(words, string(cur))
			cur = cur[:0]
		}
	}
	for _, c := range decodeCodepoints(s) {
		if t.stripAccents {
			c = nfdFirst(c)
		}
		f := flagsOf(c)
		if f.space() {
			flush()
			continue
		}
		// classify (like Go's unicode.C) counts unassigned code points as
		// \p{C} too, but llama.cpp's flag table calls them "undefined",
		// not "control".
		if c == 0 || c == 0xFFFD || (f&flagControl != 0 && unicode.In(c, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs)) {
			continue
		}
		alone := f.punct() || (c < 0x7F && f&flagSymbol != 0) || isCJK(c)
		if t.lowercase {
			c = toLower(c)
		}
		if alone {
			flush()
			cur = appendCodepoint(cur, c)
			flush()
			continue
		}
		cur = appendCodepoint(cur, c)
	}
	flush()
	return words
}

// isCJK is BERT's test for CJK ideographs (copying its range quirk).
func isCJK(c rune) bool {
	return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
		(c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
		(c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
		(c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F)
}
