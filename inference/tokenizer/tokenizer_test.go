package tokenizer

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"inferenceruntime/inference/gguf"
)

// spmVocab is a tiny SentencePiece vocabulary: the usual three specials, all
// 256 byte tokens, and a few pieces with scores chosen so that the merge
// order matters.
func spmVocab() Vocab {
	v := Vocab{Model: "llama", IDs: map[string]int64{}, Flags: map[string]bool{}}
	add := func(s string, score float32, typ int32) {
		v.Tokens = append(v.Tokens, s)
		v.Scores = append(v.Scores, score)
		v.Types = append(v.Types, typ)
	}
	add("<unk>", 0, TypeUnknown)
	add("<s>", 0, TypeControl)
	add("</s>", 0, TypeControl)
	for b := 0; b < 256; b++ {
		add(fmt.Sprintf("<0x%02X>", b), 0, TypeByte)
	}
	for _, p := range []struct {
		s     string
		score float32
	}{
		{"▁", -1}, {"h", -2}, {"e", -2}, {"l", -2}, {"o", -2}, {"w", -2}, {"r", -2}, {"d", -2},
		{"▁h", -5}, {"▁he", -4}, {"ll", -3}, {"llo", -6}, {"▁hello", -7}, {"el", -1}, {"▁w", -5},
		{"or", -5}, {"▁wor", -6}, {"ld", -5}, {"▁world", -6},
	} {
		add(p.s, p.score, TypeNormal)
	}
	add("<|im_end|>", 0, TypeControl)
	add("<tag>", 0, TypeUserDefined)
	return v
}

func mustNew(t testing.TB, v Vocab) *Tokenizer {
	t.Helper()
	tok, err := New(v)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func pieces(tok *Tokenizer, ids []int32) []string {
	var out []string
	for _, id := range ids {
		out = append(out, tok.Token(id))
	}
	return out
}

func TestSPMEncode(t *testing.T) {
	tok := mustNew(t, spmVocab())
	for _, c := range []struct {
		in                 string
		special, parseSpec bool
		want               []string
	}{
		// "el" (score -1) merges before "ll" (-3), so "hello" cannot
		// become "▁he"+"llo"; it ends as ▁h el l o.
		{"hello", false, false, []string{"▁h", "el", "l", "o"}},
		{"world", false, false, []string{"▁world"}},
		{"hello world", true, false, []string{"<s>", "▁h", "el", "l", "o", "▁world"}},
		// "é" is no token: its two UTF-8 bytes fall back to byte tokens.
		{"hé", false, false, []string{"▁h", "<0xC3>", "<0xA9>"}},
		{"", true, false, []string{"<s>"}},
		{"", false, false, nil},
		// User-defined tokens always split the text; the text after a
		// special token gets the space prefix again.
		{"w<tag>w", false, false, []string{"▁w", "<tag>", "▁w"}},
		// Control tokens only with parseSpecial.
		{"d<|im_end|>", false, true, []string{"▁", "d", "<|im_end|>"}},
	} {
		ids, err := tok.Encode(c.in, c.special, c.parseSpec)
		if err != nil {
			t.Fatal(err)
		}
		if got := pieces(tok, ids); !slices.Equal(got, c.want) {
			t.Errorf("Encode(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	ids, _ := tok.Encode("d<|im_end|>", false, false)
	if slices.Contains(ids, int32(tok.toID["<|im_end|>"])) {
		t.Errorf("control token parsed without parseSpecial: %q", pieces(tok, ids))
	}
}

func TestSPMDecode(t *testing.T) {
	tok := mustNew(t, spmVocab())
	for _, in := range []string{"hello world", " hello", "hé wörld", "x\ny", ""} {
		ids, _ := tok.Encode(in, false, false)
		if got := tok.Decode(ids); got != in {
			t.Errorf("Decode(Encode(%q)) = %q", in, got)
		}
		withBOS, _ := tok.Encode(in, true, false)
		if got := tok.DecodeWith(withBOS, DecodeOptions{RemoveSpecial: true}); got != " "+in && in != "" {
			// After a removed BOS the leading space stays, as in llama.cpp.
			t.Errorf("DecodeWith(RemoveSpecial, %q) = %q", in, got)
		}
	}
	ids, _ := tok.Encode("hello", true, false)
	if got := tok.Decode(ids); got != "<s> hello" {
		t.Errorf("Decode with BOS rendered = %q, want %q", got, "<s> hello")
	}
	if got := tok.DecodeWith(ids, DecodeOptions{HideSpecial: true}); got != " hello" {
		t.Errorf("Decode with BOS hidden = %q, want %q", got, " hello")
	}
}

func TestSPMNoSpacePrefix(t *testing.T) {
	v := spmVocab()
	v.Flags["add_space_prefix"] = false
	tok := mustNew(t, v)
	ids, _ := tok.Encode("world", false, false)
	if got := pieces(tok, ids); !slices.Equal(got, []string{"w", "or", "ld"}) {
		t.Errorf("Encode without space prefix = %q", got)
	}
}

// bpeVocab is a byte-level BPE vocabulary: the 256 byte stand-ins plus a few
// merges, pre-tokenized like GPT-2 unless pre says otherwise.
func bpeVocab(pre string) Vocab {
	v := Vocab{Model: "gpt2", Pre: pre, IDs: map[string]int64{}, Flags: map[string]bool{}}
	for b := 0; b < 256; b++ {
		v.Tokens = append(v.Tokens, string(byteToRune[b]))
	}
	for _, m := range []string{"h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "Ġwor ld", "l d", "Ġ Ġ"} {
		v.Merges = append(v.Merges, m)
		l, r, _ := strings.Cut(m, " ")
		v.Tokens = append(v.Tokens, l+r)
	}
	v.Tokens = append(v.Tokens, "<|endoftext|>")
	v.Types = make([]int32, len(v.Tokens))
	for i := range v.Types {
		v.Types[i] = TypeNormal
	}
	v.Types[len(v.Types)-1] = TypeControl
	v.IDs["eos"] = int64(len(v.Tokens) - 1)
	v.IDs["bos"] = int64(len(v.Tokens) - 1)
	return v
}

func TestBPEEncode(t *testing.T) {
	tok := mustNew(t, bpeVocab("gpt-2"))
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"hello world", []string{"hello", "Ġworld"}},
		{"hello  world", []string{"hello", "Ġ", "Ġworld"}},
		{"hello ,", []string{"hello", "Ġ", ","}},
		{"é", []string{"Ã", "©"}},
		{"  ", []string{"ĠĠ"}},
	} {
		ids, err := tok.Encode(c.in, false, false)
		if err != nil {
			t.Fatal(err)
		}
		if got := pieces(tok, ids); !slices.Equal(got, c.want) {
			t.Errorf("Encode(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if tok.AddBOS() {
		t.Error("gpt-2 vocabularies do not add BOS by default")
	}
	if !tok.IsEOG(tok.EOS()) || tok.EOT() != tok.EOS() {
		t.Errorf("EOS %d should be EOG and the text-detected EOT (got EOT %d)", tok.EOS(), tok.EOT())
	}
}

func TestBPECleanSpaces(t *testing.T) {
	clean := mustNew(t, bpeVocab("gpt-2"))
	raw := mustNew(t, bpeVocab("qwen2")) // qwen2 keeps spaces as they are
	for _, c := range []struct{ in, cleaned string }{
		{"a , b . c ! d ?", "a, b. c! d?"},
		{"it ' s", "it's"},
		{"he 's I 'm we 're you 've I 'd", "he's I'm we're you've I 'd"},
		{"x ' y ' z", "x'y'z"},
		// The second quote sees the space the first one removed as gone.
		{"a ' ' b", "a'' b"},
	} {
		ids, _ := clean.Encode(c.in, false, false)
		if got := clean.Decode(ids); got != c.cleaned {
			t.Errorf("clean Decode(%q) = %q, want %q", c.in, got, c.cleaned)
		}
		ids, _ = raw.Encode(c.in, false, false)
		if got := raw.Decode(ids); got != c.in {
			t.Errorf("raw Decode(%q) = %q", c.in, got)
		}
	}
}

// TestPreTokenizers checks the splitters against the regular expressions
// they stand for, on cases worked out from the patterns by hand.
func TestPreTokenizers(t *testing.T) {
	for _, c := range []struct {
		pre  preType
		in   string
		want []string
	}{
		{preGPT2, "I've 'RE", []string{"I", "'ve", " '", "RE"}},
		{preGPT2, "a  b   ", []string{"a", " ", " b", "   "}},
		{preGPT2, "x123 ?!", []string{"x", "123", " ?!"}},
		{preGPT2, "\n\nx", []string{"\n", "\n", "x"}},
		{preLlama3, "I'VE 1234567", []string{"I", "'VE", " ", "123", "456", "7"}},
		{preLlama3, "Hello  world\n\n  x", []string{"Hello", " ", " world", "\n\n", " ", " x"}},
		{preLlama3, ",x ..\n\ny", []string{",x", " ..\n\n", "y"}},
		{preLlama3, "a\u00a0b", []string{"a", "\u00a0b"}},
		{preQwen2, "x123", []string{"x", "1", "2", "3"}},
		{preStarcoder, "ab12 c", []string{"ab", "1", "2", " c"}},
		{preFalcon, "x+=12345", []string{"x", "+=", "123", "45"}},
		{preDeepseekCoder, "a\nbc 12,d", []string{"a", "\n", "bc", " ", "1", "2", ",", "d"}},
		{preDeepseekLLM, "Ab  c 12  ", []string{"Ab", " ", " c", " ", "12", "  "}},
		{preDeepseekLLM, "中文abc", []string{"中文", "abc"}},
		{preDefault, "a...b 2024", []string{"a", "...", "b", " ", "202", "4"}},
	} {
		tx := newText(c.in)
		var got []string
		for _, sp := range pretokenize(tx, preSteps(c.pre)) {
			got = append(got, string(appendRunes(tx.cp[sp.start:sp.end])))
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("pre %d %q: got %q, want %q", c.pre, c.in, got, c.want)
		}
	}
}

func appendRunes(cps []rune) []byte {
	var b []byte
	for _, c := range cps {
		b = appendCodepoint(b, c)
	}
	return b
}

// bertVocab is a WordPiece vocabulary with BERT's special ids (0 and
// 100-103) followed by the given pieces.
func bertVocab(pieces ...string) Vocab {
	v := Vocab{Model: "bert", IDs: map[string]int64{}, Flags: map[string]bool{}}
	for i := 0; i < 104; i++ {
		v.Tokens = append(v.Tokens, fmt.Sprintf("[unused%d]", i))
	}
	v.Tokens[0], v.Tokens[100], v.Tokens[101], v.Tokens[102] = "[PAD]", "[UNK]", "[CLS]", "[SEP]"
	v.Tokens = append(v.Tokens, pieces...)
	v.Types = make([]int32, len(v.Tokens))
	for i := range v.Types {
		v.Types[i] = TypeNormal
		if i < 104 {
			v.Types[i] = TypeControl
		}
	}
	return v
}

func TestWordPiece(t *testing.T) {
	tok := mustNew(t, bertVocab("▁hello", "▁un", "aff", "able", "▁,", "▁!", "▁cafe"))
	ids, _ := tok.Encode("Hello, unaffable CAFÉ! xyz", true, false)
	want := []string{"[CLS]", "▁hello", "▁,", "▁un", "aff", "able", "▁cafe", "▁!", "[UNK]", "[SEP]"}
	if got := pieces(tok, ids); !slices.Equal(got, want) {
		t.Errorf("Encode = %q, want %q", got, want)
	}
	if got := tok.Decode(ids[1 : len(ids)-2]); got != " hello, unaffable cafe!" {
		t.Errorf("Decode = %q", got)
	}
}

func TestStreamDecoder(t *testing.T) {
	tok := mustNew(t, spmVocab())
	byteID := func(b byte) int32 { return tok.toID[fmt.Sprintf("<0x%02X>", b)] }
	d := tok.NewStreamDecoder()
	var got []string
	for _, b := range []byte("é🦙") {
		got = append(got, d.Add(byteID(b)))
	}
	want := []string{"", "é", "", "", "", "🦙"}
	if !slices.Equal(got, want) {
		t.Errorf("byte by byte: %q, want %q", got, want)
	}
	// A byte that can never start a character is replaced at once; a
	// truncated character only when flushed.
	if s := d.Add(byteID(0xFF)); s != "\uFFFD" {
		t.Errorf("invalid byte gave %q", s)
	}
	if s := d.Add(byteID(0xE2)) + d.Add(byteID(0x96)); s != "" {
		t.Errorf("incomplete character emitted early: %q", s)
	}
	if s := d.Add(byteID('x')); s != "\uFFFD\uFFFDx" {
		t.Errorf("broken character followed by x gave %q", s)
	}
	d.Add(byteID(0xF0))
	if s := d.Flush(); s != "\uFFFD" {
		t.Errorf("Flush = %q", s)
	}
	// Control tokens are hidden unless asked for; the space of "▁" is kept.
	ids, _ := tok.Encode("hello<|im_end|>", true, true)
	var sb strings.Builder
	d = tok.NewStreamDecoder()
	for _, id := range ids {
		sb.WriteString(d.Add(id))
	}
	if sb.String() != " hello" {
		t.Errorf("stream = %q, want %q", sb.String(), " hello")
	}
	d = tok.NewStreamDecoder()
	d.ShowSpecial(true)
	sb.Reset()
	for _, id := range ids {
		sb.WriteString(d.Add(id))
	}
	if sb.String() != "<s> hello<|im_end|>" {
		t.Errorf("stream with specials = %q", sb.String())
	}
	if !tok.IsEOG(tok.toID["<|im_end|>"]) || tok.EOT() != tok.toID["<|im_end|>"] {
		t.Error("<|im_end|> should be found as EOT and EOG by its text")
	}
}

// writeVocab stores v as a GGUF file image with the tokenizer.ggml keys.
func writeVocab(t testing.TB, v Vocab, extra map[string]any) []byte {
	t.Helper()
	w := gguf.NewWriter()
	set := func(k string, x any) {
		if err := w.SetKV(k, x); err != nil {
			t.Fatalf("SetKV %s: %v", k, err)
		}
	}
	set("general.architecture", "llama")
	set("tokenizer.ggml.model", v.Model)
	if v.Pre != "" {
		set("tokenizer.ggml.pre", v.Pre)
	}
	set("tokenizer.ggml.tokens", v.Tokens)
	if v.Scores != nil {
		set("tokenizer.ggml.scores", v.Scores)
	}
	if v.Types != nil {
		set("tokenizer.ggml.token_type", v.Types)
	}
	if v.Merges != nil {
		set("tokenizer.ggml.merges", v.Merges)
	}
	for k, x := range extra {
		set(k, x)
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func fromImage(data []byte) (*Tokenizer, error) {
	f, err := gguf.Parse(data)
	if err != nil {
		return nil, err
	}
	return FromGGUF(f)
}

func TestFromGGUF(t *testing.T) {
	v := spmVocab()
	tok, err := fromImage(writeVocab(t, v, map[string]any{
		"tokenizer.ggml.bos_token_id":     uint32(1),
		"tokenizer.ggml.eos_token_id":     uint32(2),
		"tokenizer.ggml.padding_token_id": uint32(0xFFFFFFFF), // "none"
		"tokenizer.ggml.add_bos_token":    false,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if tok.VocabSize() != len(v.Tokens) || tok.BOS() != 1 || tok.EOS() != 2 || tok.AddBOS() {
		t.Errorf("size %d bos %d eos %d addBOS %v", tok.VocabSize(), tok.BOS(), tok.EOS(), tok.AddBOS())
	}
	ids, _ := tok.Encode("hello", true, false)
	if got := pieces(tok, ids); !slices.Equal(got, []string{"▁h", "el", "l", "o"}) {
		t.Errorf("add_bos_token=false still added BOS: %q", got)
	}
}

func TestFromGGUFErrors(t *testing.T) {
	good := spmVocab()
	bad := func(edit func(v *Vocab)) Vocab {
		v := spmVocab()
		v.Tokens = slices.Clone(v.Tokens)
		edit(&v)
		return v
	}
	for _, c := range []struct {
		name  string
		v     Vocab
		extra map[string]any
		want  string
	}{
		{"no tokens", bad(func(v *Vocab) { v.Tokens, v.Scores, v.Types = []string{}, nil, nil }), nil, "no tokens"},
		{"short scores", bad(func(v *Vocab) { v.Scores = v.Scores[:5] }), nil, "scores"},
		{"short types", bad(func(v *Vocab) { v.Types = v.Types[:5] }), nil, "token types"},
		{"bad byte token", bad(func(v *Vocab) { v.Tokens[3+0x41] = "<0xZZ>" }), nil, `"<0xZZ>"`},
		{"duplicate", bad(func(v *Vocab) { v.Tokens[270] = v.Tokens[271] }), nil, "duplicate"},
		{"bos out of range", good, map[string]any{"tokenizer.ggml.bos_token_id": uint32(99999)}, "bos token id 99999"},
		{"bos wrong type", good, map[string]any{"tokenizer.ggml.bos_token_id": "one"}, "want an integer"},
		{"flag wrong type", good, map[string]any{"tokenizer.ggml.add_bos_token": uint8(1)}, "want a bool"},
		{"unknown model", bad(func(v *Vocab) { v.Model = "rwkv7" }), nil, `unsupported tokenizer model "rwkv7"`},
		{"unknown pre", bpeVocab("no-such-pre"), nil, `unsupported pre-tokenizer "no-such-pre"`},
		{"bpe without merges", bad(func(v *Vocab) { v.Model, v.Pre = "gpt2", "gpt-2" }), nil, "merges"},
		{"merges not strings", good, map[string]any{"tokenizer.ggml.merges": []int32{1, 2}}, "merges is an array of int32"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := fromImage(writeVocab(t, c.v, c.extra))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one mentioning %q", err, c.want)
			}
		})
	}
	// Type errors on the arrays themselves.
	w := gguf.NewWriter()
	_ = w.SetKV("tokenizer.ggml.model", "llama")
	_ = w.SetKV("tokenizer.ggml.tokens", []int32{1, 2, 3})
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if _, err := fromImage(buf.Bytes()); err == nil || !strings.Contains(err.Error(), "tokenizer.ggml.tokens is an array of int32") {
		t.Errorf("int token list: %v", err)
	}
}

// FuzzEncodeDecode feeds arbitrary bytes to every tokenizer kind. Nothing
// may panic, and where the algorithm is lossless the text must come back.
func FuzzEncodeDecode(f *testing.F) {
	for _, s := range []string{"", "hello world", "hé 🦙\n\t", "\xff\xfe", "<tag><|im_end|>", "I've 123456 ", "▁x", "\xed\xa0\x80"} {
		f.Add(s)
	}
	spm := mustNew(f, spmVocab())
	bpe := mustNew(f, bpeVocab("qwen2"))
	var others []*Tokenizer
	for _, pre := range []string{"gpt-2", "llama-bpe", "deepseek-llm", "deepseek-coder", "falcon", "starcoder", "default"} {
		others = append(others, mustNew(f, bpeVocab(pre)))
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 1<<12 {
			return // long inputs only slow the search; the code paths are the same
		}
		for _, special := range []bool{false, true} {
			ids, err := spm.Encode(s, special, special)
			if err != nil {
				t.Fatal(err)
			}
			// Invalid UTF-8 is excluded: a stray lead byte swallows the
			// next bytes (a "▁" among them) as llama.cpp does.
			lossless := utf8.ValidString(s) && !strings.Contains(s, "▁") && !strings.Contains(s, "<")
			if got := spm.Decode(ids); !special && lossless && got != s {
				t.Fatalf("SPM round trip %q -> %q", s, got)
			}
			ids, _ = bpe.Encode(s, special, special)
			if got := bpe.Decode(ids); !special && utf8.ValidString(s) && !strings.Contains(s, "<|endoftext|>") && got != s {
				t.Fatalf("BPE round trip %q -> %q", s, got)
			}
			for _, o := range others {
				ids, _ := o.Encode(s, special, special)
				d := o.NewStreamDecoder()
				var sb strings.Builder
				for _, id := range ids {
					sb.WriteString(d.Add(id))
				}
				sb.WriteString(d.Flush())
				if !utf8.ValidString(sb.String()) {
					t.Fatalf("stream decoder produced invalid UTF-8 for %q", s)
				}
			}
		}
	})
}

// FuzzVocab builds vocabularies from arbitrary bytes: New must either
// reject them with an error or give a tokenizer that encodes and decodes
// without panicking.
func FuzzVocab(f *testing.F) {
	f.Add(byte(0), "<unk>\x00<s>\x00</s>\x00<0x41>\x00▁a\x00a", []byte{2, 3, 3, 6, 1, 1}, "aa a <s>")
	f.Add(byte(1), "a\x00b\x00ab\x00<|im_end|>", []byte{1, 1, 1, 3}, "ab<|im_end|>b")
	f.Add(byte(2), "[UNK]\x00▁x\x00y", []byte{2, 1, 1}, "X y, z")
	f.Add(byte(0), "<0xZZ>\x00x", []byte{6, 1}, "x")
	f.Fuzz(func(t *testing.T, model byte, tokens string, types []byte, text string) {
		if len(tokens) > 1<<12 || len(text) > 1<<10 {
			return
		}
		v := Vocab{Model: []string{"llama", "gpt2", "bert"}[int(model)%3], IDs: map[string]int64{}, Flags: map[string]bool{}}
		v.Tokens = strings.Split(tokens, "\x00")
		if len(types) == len(v.Tokens) {
			for _, b := range types {
				v.Types = append(v.Types, int32(b%8))
			}
		}
		if v.Model == "gpt2" {
			v.Pre = []string{"gpt-2", "llama3", "qwen2", "deepseek-llm", "falcon"}[int(model/3)%5]
			for i := 1; i < len(v.Tokens); i++ {
				v.Merges = append(v.Merges, v.Tokens[i-1]+" "+v.Tokens[i])
			}
		}
		if model&0x80 != 0 {
			v.IDs["bos"] = int64(model & 0x0F)
			v.Flags["add_space_prefix"] = model&0x40 != 0
		}
		tok, err := New(v)
		if err != nil {
			return
		}
		for _, special := range []bool{false, true} {
			ids, err := tok.Encode(text, special, special)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range ids {
				if id < 0 || int(id) >= tok.VocabSize() {
					t.Fatalf("Encode(%q) gave id %d outside the vocabulary", text, id)
				}
			}
			tok.Decode(ids)
			d := tok.NewStreamDecoder()
			for _, id := range ids {
				d.Add(id)
			}
			d.Flush()
		}
		for id := int32(-1); id <= int32(tok.VocabSize()); id++ {
			tok.Piece(id)
		}
	})
}
