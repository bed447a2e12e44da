package tokenizer

import (
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// cpFlags classifies a code point the way llama.cpp's tokenizer does: one
// general category (\p{L}, \p{N}, ...) plus helper bits. Every assigned or
// unassigned code point below 0x110000 has exactly one category bit;
// unassigned ones count as "other" (\p{C}), as in the Python regex module that
// generated llama.cpp's tables. The zero value means "outside the text", which
// the splitters use to stop at the end of a fragment.
type cpFlags uint16

const (
	flagUndefined cpFlags = 1 << iota // beyond U+10FFFF
	flagNumber                        // \p{N}
	flagLetter                        // \p{L}
	flagSeparator                     // \p{Z}
	flagMark                          // \p{M}
	flagPunct                         // \p{P}
	flagSymbol                        // \p{S}
	flagControl                       // \p{C}, including unassigned code points
	flagSpace                         // \s: the Unicode White_Space property
)

const maxCodepoint = 0x10FFFF

// asciiFlags caches the classification of the first 128 code points, which
// dominate most text.
var asciiFlags = func() (t [128]cpFlags) {
	for c := range t {
		t[c] = classify(rune(c))
	}
	return t
}()

// flagsOf returns the classification of cp.
func flagsOf(cp rune) cpFlags {
	if cp >= 0 && cp < 128 {
		return asciiFlags[cp]
	}
	return classify(cp)
}

func classify(cp rune) cpFlags {
	if cp < 0 || cp > maxCodepoint {
		return flagUndefined
	}
	var f cpFlags
	switch {
	case unicode.IsLetter(cp):
		f = flagLetter
	case unicode.IsNumber(cp):
		f = flagNumber
	case unicode.Is(unicode.Z, cp):
		f = flagSeparator
	case unicode.IsMark(cp):
		f = flagMark
	case unicode.IsPunct(cp):
		f = flagPunct
	case unicode.IsSymbol(cp):
		f = flagSymbol
	default:
		f = flagControl
	}
	if unicode.Is(unicode.White_Space, cp) {
		f |= flagSpace
	}
	return f
}

func (f cpFlags) letter() bool { return f&flagLetter != 0 }
func (f cpFlags) number() bool { return f&flagNumber != 0 }
func (f cpFlags) space() bool  { return f&flagSpace != 0 }
func (f cpFlags) punct() bool  { return f&flagPunct != 0 }

// utf8Len is the sequence length announced by a UTF-8 lead byte, judged only
// by its high nibble (continuation bytes count as 1), as llama.cpp's SPM and
// BPE symbol splitting does.
func utf8Len(b byte) int {
	switch b >> 4 {
	case 0xC, 0xD:
		return 2
	case 0xE:
		return 3
	case 0xF:
		return 4
	}
	return 1
}

// decodeCodepoints splits s into code points with llama.cpp's lenient rules:
// overlong forms and surrogates are accepted as they are encoded, while a
// byte that starts no well-formed sequence becomes one U+FFFD.
func decodeCodepoints(s string) []rune {
	out := make([]rune, 0, len(s))
	for i := 0; i < len(s); {
		cp, n := decodeOne(s, i)
		out = append(out, cp)
		i += n
	}
	return out
}

func decodeOne(s string, i int) (rune, int) {
	b0 := s[i]
	cont := func(k int) bool { return i+k < len(s) && s[i+k]&0xC0 == 0x80 }
	switch {
	case b0&0x80 == 0:
		return rune(b0), 1
	case b0&0x40 == 0:
		return unicode.ReplacementChar, 1
	case b0&0x20 == 0:
		if cont(1) {
			return rune(b0&0x1F)<<6 | rune(s[i+1]&0x3F), 2
		}
	case b0&0x10 == 0:
		if cont(1) && cont(2) {
			return rune(b0&0x0F)<<12 | rune(s[i+1]&0x3F)<<6 | rune(s[i+2]&0x3F), 3
		}
	case b0&0x08 == 0:
		if cont(1) && cont(2) && cont(3) {
			return rune(b0&0x07)<<18 | rune(s[i+1]&0x3F)<<12 | rune(s[i+2]&0x3F)<<6 | rune(s[i+3]&0x3F), 4
		}
	}
	return unicode.ReplacementChar, 1
}

// appendCodepoint encodes cp as UTF-8 without Go's validity checks, so that
// surrogates and overlong input round-trip the way llama.cpp re-encodes them.
// Values past U+10FFFF (which llama.cpp cannot encode) become U+FFFD.
func appendCodepoint(b []byte, cp rune) []byte {
	switch {
	case cp < 0:
		return appendCodepoint(b, unicode.ReplacementChar)
	case cp <= 0x7F:
		return append(b, byte(cp))
	case cp <= 0x7FF:
		return append(b, 0xC0|byte(cp>>6), 0x80|byte(cp&0x3F))
	case cp <= 0xFFFF:
		return append(b, 0xE0|byte(cp>>12), 0x80|byte(cp>>6&0x3F), 0x80|byte(cp&0x3F))
	case cp <= maxCodepoint:
		return append(b, 0xF0|byte(cp>>18), 0x80|byte(cp>>12&0x3F), 0x80|byte(cp>>6&0x3F), 0x80|byte(cp&0x3F))
	}
	return appendCodepoint(b, unicode.ReplacementChar)
}

// toLower is the simple lower-case mapping used by WordPiece normalisation.
func toLower(cp rune) rune { return unicode.ToLower(cp) }

// nfdFirst returns the first code point of the canonical decomposition of cp:
// llama.cpp strips accents by mapping each code point to that base and then
// dropping combining marks.
func nfdFirst(cp rune) rune {
	if cp < 0xC0 || cp > maxCodepoint {
		return cp
	}
	var buf [4]byte
	d := norm.NFD.Bytes(appendCodepoint(buf[:0], cp))
	first, _ := decodeOne(string(d), 0)
	return first
}

// byteToRune and runeToByte are GPT-2's reversible byte <-> code point
// mapping: printable Latin-1 bytes map to themselves and the rest to
// U+0100 onwards, so that every byte string becomes printable text.
var byteToRune, runeToByte = func() ([256]rune, map[rune]byte) {
	var fwd [256]rune
	rev := make(map[rune]byte, 256)
	next := rune(256)
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			fwd[b] = rune(b)
		} else {
			fwd[b] = next
			next++
		}
		rev[fwd[b]] = byte(b)
	}
	return fwd, rev
}()
