package tokenizer

import (
	"path/filepath"
	"slices"
	"testing"
)

// The expectations below were worked out by hand from llama.cpp's WordPiece
// session (llm_tokenizer_wpm_session::preprocess and its flag table from
// gen-unicode-data.py), not from this package: every code point is first
// replaced by the first code point of its NFD, then White_Space ends a word;
// NUL, U+FFFD and Cc/Cf/Co/Cs are dropped while Cn (unassigned,
// noncharacters) is kept; \p{P}, ASCII \p{S} and CJK ideographs stand alone;
// the rest is lower-cased into the current word. Where Hugging Face's
// BasicTokenizer differs, the case says so.

// Normalizer flag sets: llama.cpp's fixed behaviour, and the switches a
// vocabulary may carry.
var (
	wpmDefault    = map[string]bool{}
	wpmCased      = map[string]bool{"normalizer.lowercase": false}
	wpmCasedStrip = map[string]bool{"normalizer.lowercase": false, "normalizer.strip_accents": true}
	wpmLowerKeep  = map[string]bool{"normalizer.lowercase": true, "normalizer.strip_accents": false}
)

func TestWordPieceWords(t *testing.T) {
	for _, c := range []struct {
		name  string
		flags map[string]bool
		in    string
		want  []string
	}{
		// Unassigned code points are "undefined", not "control", so they
		// stay in their word (Hugging Face drops them).
		{"noncharacter FDD0", wpmDefault, "a\uFDD0b", []string{"a\uFDD0b"}},
		{"noncharacter FFFE", wpmDefault, "x\uFFFEy", []string{"x\uFFFEy"}},
		{"noncharacter 10FFFF", wpmDefault, "\U0010FFFF", []string{"\U0010FFFF"}},
		{"unassigned 0378", wpmDefault, "a\u0378", []string{"a\u0378"}},
		{"noncharacter cased", wpmCased, "A\uFDD0", []string{"A\uFDD0"}},

		// Dropped without splitting.
		{"NUL", wpmDefault, "a\x00b", []string{"ab"}},
		{"U+FFFD", wpmDefault, "a\uFFFDb", []string{"ab"}},
		{"invalid UTF-8 is U+FFFD", wpmDefault, "a\xffb", []string{"ab"}},
		{"C0 and DEL", wpmDefault, "a\x01b\x7fc\x1bd", []string{"abcd"}},
		{"C1 control", wpmDefault, "a\u0080b\u009fc", []string{"abc"}},
		{"zero width space (Cf)", wpmDefault, "a\u200Bb", []string{"ab"}},
		{"zero width joiner (Cf)", wpmDefault, "a\u200Db", []string{"ab"}},
		{"soft hyphen (Cf)", wpmDefault, "co\u00ADop", []string{"coop"}},
		{"byte order mark (Cf)", wpmDefault, "\uFEFFhi", []string{"hi"}},
		{"mongolian vowel separator (Cf, not space)", wpmDefault, "a\u180Eb", []string{"ab"}},
		{"language tag (Cf)", wpmDefault, "a\U000E0001b", []string{"ab"}},
		{"private use (Co)", wpmDefault, "a\uE000b", []string{"ab"}},
		{"supplementary private use (Co)", wpmDefault, "a\U000F0000b\U0010FFFDc", []string{"abc"}},
		{"surrogate encoded in UTF-8 (Cs)", wpmDefault, "a\xed\xa0\x80b", []string{"ab"}},
		{"controls cased", wpmCased, "A\x01\u200B\uE000B", []string{"AB"}},

		// White_Space splits, control or not (Hugging Face drops \v, \f
		// and U+0085 without splitting).
		{"tab newline return", wpmDefault, "a\tb\nc\rd", []string{"a", "b", "c", "d"}},
		{"vertical tab and form feed", wpmDefault, "a\vb\fc", []string{"a", "b", "c"}},
		{"next line (Cc)", wpmDefault, "a\u0085b", []string{"a", "b"}},
		{"no-break space", wpmDefault, "a\u00A0b", []string{"a", "b"}},
		{"ideographic space", wpmDefault, "a\u3000b", []string{"a", "b"}},
		{"line separator", wpmDefault, "a\u2028b", []string{"a", "b"}},
		{"only spaces", wpmDefault, " \t\n\u3000 ", nil},
		{"only dropped", wpmDefault, "\x00\u200B\uE000", nil},

		// Punctuation, ASCII symbols and CJK ideographs stand alone.
		{"ASCII punctuation", wpmDefault, "Hi,you!", []string{"hi", ",", "you", "!"}},
		{"ASCII symbols", wpmDefault, "1+1=2$", []string{"1", "+", "1", "=", "2", "$"}},
		{"non-ASCII symbols join", wpmDefault, "5€~x\u00A9", []string{"5€", "~", "x\u00A9"}},
		{"non-ASCII punctuation", wpmDefault, "¿qué?«sí»", []string{"¿", "que", "?", "«", "si", "»"}},
		{"CJK ideographs", wpmDefault, "我想apple工作", []string{"我", "想", "apple", "工", "作"}},
		{"kana is not split, its voicing mark goes", wpmDefault, "ひらがな", []string{"ひらかな"}},
		{"fullwidth tilde is a symbol, not ASCII", wpmDefault, "a～b", []string{"a～b"}},
		{"compatibility ideograph decomposes", wpmDefault, "\uF900x", []string{"\u8C48", "x"}},
		{"compatibility ideograph kept when not stripping", wpmCased, "\uF900x", []string{"\uF900", "x"}},

		// Accents: each code point becomes the first of its NFD; marks
		// written on their own are kept (Hugging Face drops Mn).
		{"precomposed accents", wpmDefault, "Café NAÏVE ñ", []string{"cafe", "naive", "n"}},
		{"decomposed accent kept", wpmDefault, "cafe\u0301", []string{"cafe\u0301"}},
		{"lone combining mark", wpmDefault, "\u0301", []string{"\u0301"}},
		{"spacing marks kept (Khmer)", wpmDefault, "កា", []string{"កា"}},
		{"variation selector kept", wpmDefault, "☁\uFE0F", []string{"☁\uFE0F"}},
		{"Hangul keeps its leading consonant", wpmDefault, "한국어", []string{"\u1112\u1100\u110B"}},
		{"dotted capital I", wpmDefault, "İ", []string{"i"}},
		{"ohm sign", wpmDefault, "\u2126", []string{"\u03C9"}},
		{"angstrom sign", wpmDefault, "\u212B", []string{"a"}},
		{"compatibility-only ligature kept", wpmDefault, "\uFB01", []string{"\uFB01"}},
		{"fullwidth letters lower-cased", wpmDefault, "ＡＢ", []string{"ａｂ"}},
		{"sharp s", wpmDefault, "\u1E9E ß", []string{"ß", "ß"}},
		{"Greek tonos", wpmDefault, "Άλφα", []string{"αλφα"}},
		{"Cyrillic", wpmDefault, "Български", []string{"български"}},

		// Hugging Face's switches: without do_lower_case nothing is
		// lower-cased and, unless asked, no accent is stripped.
		{"cased keeps accents", wpmCased, "Café NAÏVE", []string{"Café", "NAÏVE"}},
		{"cased keeps Hangul", wpmCased, "한국어", []string{"한국어"}},
		{"cased punctuation", wpmCased, "Hi,You", []string{"Hi", ",", "You"}},
		{"cased with strip_accents", wpmCasedStrip, "Café NAÏVE", []string{"Cafe", "NAIVE"}},
		{"lower-cased keeping accents", wpmLowerKeep, "Café NAÏVE", []string{"café", "naïve"}},
		{"lower-cased keeping accents, dotted I", wpmLowerKeep, "İ", []string{"i"}},
	} {
		v := bertVocab()
		v.Flags = c.flags
		tok := mustNew(t, v)
		if got := tok.wpmWords(c.in); !slices.Equal(got, c.want) {
			t.Errorf("%s: wpmWords(%q) = %q, want %q", c.name, c.in, got, c.want)
		}
	}
}

// TestWordPieceUnknown checks that a word holding a code point the
// vocabulary cannot spell becomes one [UNK], as a whole, while dropped code
// points leave no trace.
func TestWordPieceUnknown(t *testing.T) {
	tok := mustNew(t, bertVocab("▁hello", "▁world", "world", "▁cafe"))
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"hello \uFDD0 world", []string{"▁hello", "[UNK]", "▁world"}},
		{"hello\U0010FFFF", []string{"[UNK]"}},
		{"\uFDD0", []string{"[UNK]"}},
		{"hello\u200Bworld", []string{"▁hello", "world"}},
		{"hello\uE000world", []string{"▁hello", "world"}},
		{"hello\x00 \u00AD world", []string{"▁hello", "▁world"}},
		{"CAFÉ", []string{"▁cafe"}},
		{"cafe\u0301", []string{"[UNK]"}},
		{"\u200B\uFEFF", nil},
	} {
		ids, err := tok.Encode(c.in, false, false)
		if err != nil {
			t.Fatal(err)
		}
		if got := pieces(tok, ids); !slices.Equal(got, c.want) {
			t.Errorf("Encode(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestWordPieceBGE runs the same rules through a real BERT vocabulary (the
// one llama.cpp tests with).
func TestWordPieceBGE(t *testing.T) {
	tok := loadTokenizer(t, filepath.Join(sharedDir(t), "models", "vocab", "ggml-vocab-bert-bge.gguf"))
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"hello \uFDD0 world", []string{"▁hello", "[UNK]", "▁world"}},
		{"hello\U0010FFFF", []string{"[UNK]"}},
		{"hello\u200Bworld \uE000", []string{"▁hello", "world"}},
		{"a\vb", []string{"▁a", "▁b"}},
		{"café CAFÉ", []string{"▁cafe", "▁cafe"}},
		{"cafe\u0301", []string{"[UNK]"}}, // there is no "##\u0301"
		{"한국어", []string{"▁ᄒ", "ᄀ", "ᄋ"}},
		{"\uF900\u8C48", []string{"[UNK]", "[UNK]"}}, // both are 豈, which it lacks
		{"ß\u1E9E", []string{"▁ß", "ß"}},
		{"\u2126", []string{"▁ω"}},
	} {
		ids, _ := tok.Encode(c.in, false, false)
		if got := pieces(tok, ids); !slices.Equal(got, c.want) {
			t.Errorf("Encode(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
