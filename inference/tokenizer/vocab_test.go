package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"inferenceruntime/inference/gguf"
	"inferenceruntime/internal/testshared"
)

// sharedDir returns ../shared (from the repository root), or skips the test
// when its models are absent.
func sharedDir(t testing.TB) string {
	t.Helper()
	return filepath.Dir(testshared.Dir(t, "models"))
}

// vocabCase is one test string and the ids llama.cpp produced for it.
type vocabCase struct {
	text string
	ids  []int32
}

// readVocabCases reads X.gguf.inp / X.gguf.out.
func readVocabCases(t testing.TB, base string) []vocabCase {
	t.Helper()
	inp, err := os.ReadFile(base + ".inp")
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(base + ".out")
	if err != nil {
		t.Fatal(err)
	}
	texts := strings.Split(string(inp), "\n__ggml_vocab_test__\n")
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	// The .inp ends with a separator line too, which leaves a last empty
	// piece with a trailing newline; drop it.
	if n := len(texts); n > 0 && strings.TrimSpace(texts[n-1]) == "" && len(texts) == len(lines)+1 {
		texts = texts[:n-1]
	}
	if len(texts) != len(lines) {
		t.Fatalf("%s: %d inputs but %d outputs", base, len(texts), len(lines))
	}
	cases := make([]vocabCase, len(texts))
	for i := range texts {
		cases[i].text = texts[i]
		for _, f := range strings.Fields(lines[i]) {
			id, err := strconv.ParseInt(f, 10, 32)
			if err != nil {
				t.Fatalf("%s.out line %d: %v", base, i+1, err)
			}
			cases[i].ids = append(cases[i].ids, int32(id))
		}
	}
	return cases
}

func loadTokenizer(t testing.TB, path string) *Tokenizer {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tok, err := FromGGUF(f)
	if err != nil {
		t.Fatalf("%s: %v", filepath.Base(path), err)
	}
	return tok
}

// vocabNames are the llama.cpp test vocabularies with vectors.
var vocabNames = []string{"bert-bge", "deepseek-coder", "deepseek-llm", "falcon", "gpt-2", "llama-bpe",
	"llama-spm", "mpt", "phi-3", "qwen2", "refact", "starcoder"}

func TestVocabEncode(t *testing.T) {
	shared := sharedDir(t)
	for _, name := range vocabNames {
		t.Run(name, func(t *testing.T) {
			base := filepath.Join(shared, "models", "vocab", "ggml-vocab-"+name+".gguf")
			tok := loadTokenizer(t, base)
			cases := readVocabCases(t, base)
			pass := 0
			for i, c := range cases {
				got, err := tok.Encode(c.text, false, false)
				if err != nil {
					t.Fatalf("case %d: %v", i, err)
				}
				if !slices.Equal(got, c.ids) {
					t.Errorf("case %d %q:\n got  %v\n want %v", i, c.text, got, c.ids)
					continue
				}
				pass++
			}
			t.Logf("encode %s: %d/%d byte-exact", name, pass, len(cases))
		})
	}
}

// wantDecode is what llama.cpp's detokenizer (special tokens rendered, as in
// test-tokenizer-0) gives for the ids of text, derived independently of the
// package: SPM and BPE pieces spell the text back exactly, and vocabularies
// with clean_up_tokenization_spaces drop the spaces Hugging Face drops.
func wantDecode(name, text string) string {
	switch name {
	case "llama-bpe", "gpt-2", "falcon", "mpt", "starcoder", "refact":
		for _, p := range []string{" ?", " !", " .", " ,"} {
			text = strings.ReplaceAll(text, p, p[1:])
		}
		text = strings.ReplaceAll(text, " ' ", "'")
		for _, p := range []string{" 's", " 'm", " 're", " 've"} {
			text = strings.ReplaceAll(text, p, p[1:])
		}
	}
	return text
}

func TestVocabDecode(t *testing.T) {
	shared := sharedDir(t)
	for _, name := range vocabNames {
		t.Run(name, func(t *testing.T) {
			base := filepath.Join(shared, "models", "vocab", "ggml-vocab-"+name+".gguf")
			tok := loadTokenizer(t, base)
			pass := 0
			cases := readVocabCases(t, base)
			for i, c := range cases {
				got := tok.Decode(c.ids)
				if name == "bert-bge" {
					// WordPiece loses case, accents and spacing; what
					// must hold is that the text it gives back encodes to
					// the same ids (unless an unknown token was involved).
					if slices.Contains(c.ids, tok.UNK()) {
						pass++
						continue
					}
					again, _ := tok.Encode(got, false, false)
					if !slices.Equal(again, c.ids) {
						t.Errorf("case %d: decode %q re-encodes to %v, want %v", i, got, again, c.ids)
						continue
					}
				} else if want := wantDecode(name, c.text); got != want {
					t.Errorf("case %d: decode\n got  %q\n want %q", i, got, want)
					continue
				}
				pass++
			}
			t.Logf("decode %s: %d/%d", name, pass, len(cases))
		})
	}
}

// TestVocabDecodeBERT pins a few WordPiece decodes, worked out by hand from
// llama.cpp's rules: every word piece starts with "▁" (a space), and the
// clean-up pass removes the space before , ! ? .
func TestVocabDecodeBERT(t *testing.T) {
	shared := sharedDir(t)
	tok := loadTokenizer(t, filepath.Join(shared, "models", "vocab", "ggml-vocab-bert-bge.gguf"))
	for _, c := range []struct{ in, want string }{
		{"Hello world", " hello world"},
		{"Hello, world!", " hello, world!"},
		{" this is Äpfel", " this is apfel"},
		{"3...3", " 3... 3"},
	} {
		ids, _ := tok.Encode(c.in, false, false)
		if got := tok.Decode(ids); got != c.want {
			t.Errorf("%q: decode = %q, want %q", c.in, got, c.want)
		}
	}
}

// refPrompt is the part of a llama.cpp reference run that concerns the
// tokenizer.
type refPrompt struct {
	Model      string  `json:"model"`
	Prompt     string  `json:"prompt"`
	AddBOS     bool    `json:"add_bos"`
	PromptIDs  []int32 `json:"prompt_ids"`
	GreedyIDs  []int32 `json:"greedy_ids"`
	GreedyText string  `json:"greedy_text"`
}

// streamText runs ids through a stream decoder.
func streamText(tok *Tokenizer, ids []int32, showSpecial bool) string {
	d := tok.NewStreamDecoder()
	d.ShowSpecial(showSpecial)
	var sb strings.Builder
	for _, id := range ids {
		sb.WriteString(d.Add(id))
	}
	sb.WriteString(d.Flush())
	return sb.String()
}

// TestReferencePrompts checks the tok512 SentencePiece vocabulary of
// stories260K and the conf-tiny models against llama.cpp's prompt ids and
// generated text.
func TestReferencePrompts(t *testing.T) {
	shared := sharedDir(t)
	refs, _ := filepath.Glob(filepath.Join(shared, "models", "ref", "*.json"))
	tiny, _ := filepath.Glob(filepath.Join(shared, "models", "conf-tiny", "ref", "*-f32.p?.json"))
	refs = append(refs, tiny...)
	if len(refs) == 0 {
		t.Skip("no reference runs found")
	}
	toks := map[string]*Tokenizer{}
	checked := 0
	for _, path := range refs {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var r refPrompt
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if r.Model == "" || r.PromptIDs == nil {
			continue
		}
		model := filepath.Join(filepath.Dir(path), "..", r.Model)
		tok := toks[model]
		if tok == nil {
			tok = loadTokenizer(t, model)
			toks[model] = tok
		}
		checked++
		ids, err := tok.Encode(r.Prompt, r.AddBOS, false)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids, r.PromptIDs) {
			t.Errorf("%s: prompt ids\n got  %v\n want %v", filepath.Base(path), ids, r.PromptIDs)
		}
		// greedy_text is the raw pieces joined, control tokens included;
		// JSON turned any invalid byte into U+FFFD, and so does the stream
		// decoder when it shows special tokens.
		if got := streamText(tok, r.GreedyIDs, true); got != r.GreedyText {
			t.Errorf("%s: streamed text with special tokens\n got  %q\n want %q", filepath.Base(path), got, r.GreedyText)
		}
		// By default the decoder writes no control token, as llama-server
		// does: the same text without their pieces.
		want := r.GreedyText
		for _, id := range r.GreedyIDs {
			if tok.IsControl(id) {
				want = strings.Replace(want, tok.Piece(id), "", 1)
			}
		}
		if got := streamText(tok, r.GreedyIDs, false); got != want {
			t.Errorf("%s: streamed text\n got  %q\n want %q", filepath.Base(path), got, want)
		}
	}
	if len(toks) == 0 {
		t.Fatal("no reference run named its model")
	}
	t.Logf("%d reference runs over %d models", checked, len(toks))
}
