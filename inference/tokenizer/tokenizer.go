// Package tokenizer turns text into token ids and back, byte-exact with
// llama.cpp, from the vocabulary stored in a GGUF file.
//
// Three families are supported, chosen by tokenizer.ggml.model:
//
//   - "llama": SentencePiece-style (SPM). Spaces become "▁", a space is
//     prepended (tokenizer.ggml.add_space_prefix), the highest-scoring pair of
//     adjacent pieces is merged until none is in the vocabulary, and pieces
//     that are not tokens fall back to <0xNN> byte tokens.
//   - "gpt2": byte-level BPE. The text is cut into words by the pre-tokenizer
//     that tokenizer.ggml.pre names, each byte is mapped to a printable code
//     point, and merges are applied by rank.
//   - "bert": WordPiece (WPM). Lower-casing, accent stripping, splitting on
//     spaces and punctuation, then greedy longest-prefix matching.
//
// Before any of them, the text is split on user-defined tokens (and, when
// asked, on control tokens), longest first, as llama.cpp does.
package tokenizer

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Token types as stored in tokenizer.ggml.token_type.
const (
	TypeUndefined   int32 = 0
	TypeNormal      int32 = 1
	TypeUnknown     int32 = 2
	TypeControl     int32 = 3
	TypeUserDefined int32 = 4
	TypeUnused      int32 = 5
	TypeByte        int32 = 6
)

// attr is the per-token attribute set derived from the token type and from
// llama.cpp's fix-ups (EOG tokens forced to control, strip flags, ...).
type attr uint16

const (
	attrUnknown attr = 1 << iota
	attrUnused
	attrNormal
	attrControl
	attrUserDefined
	attrByte
	attrNormalized
	attrLStrip
	attrRStrip
)

func attrOfType(t int32) attr {
	switch t {
	case TypeNormal:
		return attrNormal
	case TypeUnknown:
		return attrUnknown
	case TypeControl:
		return attrControl
	case TypeUserDefined:
		return attrUserDefined
	case TypeUnused:
		return attrUnused
	case TypeByte:
		return attrByte
	}
	return 0
}

type kind int

const (
	kindSPM kind = iota
	kindBPE
	kindWPM
)

type preType int

const (
	preDefault preType = iota
	preLlama3
	preQwen2
	preGPT2
	preStarcoder
	preFalcon
	preDeepseekCoder
	preDeepseekLLM
)

// Vocab is a vocabulary as a GGUF file stores it: the arrays and the optional
// keys of the tokenizer.ggml.* namespace. FromGGUF fills it from a file; tests
// and tools can also build one directly and pass it to New.
type Vocab struct {
	Model  string    // tokenizer.ggml.model: "llama", "gpt2" or "bert"
	Pre    string    // tokenizer.ggml.pre ("" = "default")
	Name   string    // general.name (a few models get per-name fix-ups, as in llama.cpp)
	Tokens []string  // tokenizer.ggml.tokens
	Scores []float32 // tokenizer.ggml.scores; nil = all zero
	Types  []int32   // tokenizer.ggml.token_type; nil = all normal
	Merges []string  // tokenizer.ggml.merges ("left right"), required for "gpt2"

	// IDs holds the special token ids that were set, keyed by the middle of
	// their key: "bos", "eos", "eot", "eom", "unknown", "seperator" (sic),
	// "padding", "mask", "fim_pre", "fim_suf", "fim_mid", "fim_pad",
	// "fim_rep", "fim_sep". Missing keys take the model's defaults.
	IDs map[string]int64
	// Flags holds the boolean keys that were set: "add_bos_token",
	// "add_eos_token", "add_sep_token", "add_space_prefix",
	// "normalizer.lowercase", "normalizer.strip_accents".
	Flags map[string]bool
}

// Tokenizer encodes and decodes text for one vocabulary. It is immutable
// after construction and safe for concurrent use.
type Tokenizer struct {
	kind  kind
	pre   preType
	steps []step

	tokens []string
	scores []float32
	attrs  []attr
	toID   map[string]int32
	ranks  map[mergePair]int
	pieces []string // token_to_piece with special tokens rendered

	maxTokenLen int
	special     []int32 // control, user-defined and unknown tokens, longest first
	eog         map[int32]bool

	bos, eos, eot, eom, unk, sep, pad, mask int32

	addBOS, addEOS, addSep  bool
	addSpacePrefix          bool
	ignoreMerges            bool
	cleanSpaces             bool
	lowercase, stripAccents bool
}

type mergePair struct{ left, right string }

const none int32 = -1

// New builds a tokenizer from a vocabulary, validating it.
func New(v Vocab) (*Tokenizer, error) {
	n := len(v.Tokens)
	if n == 0 {
		return nil, fmt.Errorf("tokenizer: vocabulary has no tokens")
	}
	if n > 1<<30 {
		return nil, fmt.Errorf("tokenizer: vocabulary of %d tokens is too large", n)
	}
	if v.Scores != nil && len(v.Scores) != n {
		return nil, fmt.Errorf("tokenizer: %d scores for %d tokens", len(v.Scores), n)
	}
	if v.Types != nil && len(v.Types) != n {
		return nil, fmt.Errorf("tokenizer: %d token types for %d tokens", len(v.Types), n)
	}
	t := &Tokenizer{
		tokens: make([]string, n),
		scores: make([]float32, n),
		attrs:  make([]attr, n),
		toID:   make(map[string]int32, n),
		eot:    none, eom: none, sep: none, pad: none, mask: none,
		lowercase: true,
	}
	if err := t.setModel(v); err != nil {
		return nil, err
	}
	for i, s := range v.Tokens {
		if s == "" {
			s = fmt.Sprintf("[EMPTY_%d]", i) // as llama.cpp: keeps ids unique and visible
		}
		if prev, dup := t.toID[s]; dup {
			return nil, fmt.Errorf("tokenizer: duplicate token %q (ids %d and %d)", s, prev, i)
		}
		t.toID[s] = int32(i)
		t.tokens[i] = s
		t.maxTokenLen = max(t.maxTokenLen, len(s))
		t.attrs[i] = attrNormal
		if v.Scores != nil {
			t.scores[i] = v.Scores[i]
		}
		if v.Types != nil {
			t.attrs[i] = attrOfType(v.Types[i])
		}
		if t.attrs[i]&attrByte != 0 && t.kind != kindWPM {
			if _, ok := parseByteToken(s); !ok {
				return nil, fmt.Errorf("tokenizer: token %d %q is typed as a byte but is not of the form <0xNN>", i, s)
			}
		}
	}
	if t.kind == kindBPE {
		if err := t.setMerges(v.Merges); err != nil {
			return nil, err
		}
	}
	if err := t.setSpecialIDs(v); err != nil {
		return nil, err
	}
	t.setFlags(v)
	if t.addBOS && t.bos == none {
		return nil, fmt.Errorf("tokenizer: add_bos_token is set but there is no BOS token")
	}
	if t.addEOS && t.eos == none {
		return nil, fmt.Errorf("tokenizer: add_eos_token is set but there is no EOS token")
	}
	t.markTextTokens(v)
	t.buildCaches()
	return t, nil
}

// setModel picks the algorithm and the per-model defaults llama.cpp uses.
func (t *Tokenizer) setModel(v Vocab) error {
	switch v.Model {
	case "llama":
		t.kind = kindSPM
		t.bos, t.eos, t.unk = 1, 2, 0
		t.addSpacePrefix, t.addBOS = true, true
	case "bert":
		t.kind = kindWPM
		t.bos, t.eos, t.unk, t.sep, t.pad, t.mask = 101, none, 100, 102, 0, 103
		t.addBOS, t.addSep, t.cleanSpaces = true, true, true
	case "gpt2":
		t.kind = kindBPE
		t.bos, t.eos, t.unk = 11, 11, none
		t.cleanSpaces = true
		return t.setPre(v.Pre)
	case "":
		return fmt.Errorf("tokenizer: tokenizer.ggml.model is missing")
	default:
		return fmt.Errorf("tokenizer: unsupported tokenizer model %q", v.Model)
	}
	return nil
}

// setPre maps tokenizer.ggml.pre to a splitter and its flags, following
// llama.cpp's table. Names whose rules are not implemented are an error:
// tokenizing them with the wrong rules would silently change the ids.
func (t *Tokenizer) setPre(name string) error {
	noClean := func(p preType) { t.pre, t.cleanSpaces = p, false }
	switch name {
	case "", "default":
		t.pre = preDefault
	case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano":
		t.pre, t.ignoreMerges, t.addBOS = preLlama3, true, true
	case "dbrx", "smaug-bpe":
		t.pre = preLlama3
	case "glm4", "chatglm-bpe":
		t.pre, t.bos = preLlama3, none
	case "deepseek-llm":
		noClean(preDeepseekLLM)
	case "deepseek-coder":
		noClean(preDeepseekCoder)
	case "falcon":
		t.pre = preFalcon
	case "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0",
		"mellum", "modern-bert", "exaone4", "mpt", "olmo", "jais":
		t.pre = preGPT2
	case "jina-v1-en", "jina-v2-code", "roberta-bpe":
		t.pre, t.addSep = preGPT2, true
	case "trillion", "granite-docling":
		noClean(preGPT2)
	case "starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2":
		t.pre = preStarcoder
	case "command-r", "smollm":
		noClean(preStarcoder)
	case "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan", "solar-open", "grok-2":
		noClean(preQwen2)
	case "stablelm2", "megrez":
		t.pre = preQwen2
	default:
		return fmt.Errorf("tokenizer: unsupported pre-tokenizer %q", name)
	}
	t.steps = preSteps(t.pre)
	return nil
}

func (t *Tokenizer) setMerges(merges []string) error {
	if merges == nil {
		return fmt.Errorf("tokenizer: BPE vocabulary has no tokenizer.ggml.merges")
	}
	t.ranks = make(map[mergePair]int, len(merges))
	for i, m := range merges {
		var p mergePair
		// The separator is the first space after the first byte, so a merge
		// may start with a space; a line without one is kept as an empty
		// pair, as llama.cpp does, and never matches.
		if k := strings.IndexByte(m[min(1, len(m)):], ' '); k >= 0 {
			k += min(1, len(m))
			p = mergePair{m[:k], m[k+1:]}
		}
		if _, dup := t.ranks[p]; !dup {
			t.ranks[p] = i
		}
	}
	return nil
}

// specialKeys lists the id keys New reads, with the field each one sets.
// Ids used while encoding or ending generation must lie inside the
// vocabulary; the others are dropped when they do not, since nothing here
// depends on them.
func (t *Tokenizer) specialKeys() []struct {
	key      string
	id       *int32
	required bool
} {
	return []struct {
		key      string
		id       *int32
		required bool
	}{
		{"bos", &t.bos, true}, {"eos", &t.eos, true}, {"eot", &t.eot, true}, {"eom", &t.eom, true},
		{"unknown", &t.unk, true}, {"seperator", &t.sep, true}, {"padding", &t.pad, false}, {"mask", &t.mask, false},
	}
}

func (t *Tokenizer) setSpecialIDs(v Vocab) error {
	n := int64(len(t.tokens))
	for _, k := range t.specialKeys() {
		if *k.id >= 0 && int64(*k.id) >= n {
			*k.id = none // a default that this small vocabulary lacks
		}
		id, ok := v.IDs[k.key]
		if !ok {
			continue
		}
		if id == -1 || id == math.MaxUint32 {
			*k.id = none // converters write -1 (often as uint32) for "no such token"
			continue
		}
		if id < 0 || id >= n {
			if k.required {
				return fmt.Errorf("tokenizer: %s token id %d is outside the vocabulary of %d tokens", k.key, id, n)
			}
			*k.id = none
			continue
		}
		*k.id = int32(id)
	}
	return nil
}

func (t *Tokenizer) setFlags(v Vocab) {
	if b, ok := v.Flags["add_space_prefix"]; ok {
		t.addSpacePrefix = b
	}
	if b, ok := v.Flags["add_bos_token"]; ok {
		t.addBOS = b
	}
	if b, ok := v.Flags["add_eos_token"]; ok {
		t.addEOS = b
	}
	if b, ok := v.Flags["add_sep_token"]; ok {
		t.addSep = b
	}
	if b, ok := v.Flags["normalizer.lowercase"]; ok {
		t.lowercase = b
	}
	t.stripAccents = t.lowercase
	if b, ok := v.Flags["normalizer.strip_accents"]; ok {
		t.stripAccents = b
	}
}

// Texts that mark the end of a turn or of generation in common chat
// vocabularies whose files do not say so in metadata. llama.cpp recognises
// the same texts.
var (
	eotTexts = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
		"<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>"}
	eogTexts = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>",
		"<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]",
		"[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
		"<｜end▁of▁sentence｜>", "[e~["}
	// Fill-in-the-middle markers, by the id key that would name them.
	fimTexts = []struct {
		key   string
		texts []string
		eog   bool
	}{
		{"fim_pre", []string{"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>"}, false},
		{"fim_suf", []string{"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>"}, false},
		{"fim_mid", []string{"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>"}, false},
		{"fim_pad", []string{"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"}, true},
		{"fim_rep", []string{"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"}, true},
		{"fim_sep", []string{"<|file_sep|>"}, true},
	}
)

// markTextTokens finds EOT/EOM/EOG tokens by their text, forces them to
// control type, and applies llama.cpp's per-model strip attributes.
func (t *Tokenizer) markTextTokens(v Vocab) {
	lookup := func(texts []string) []int32 {
		var ids []int32
		for _, s := range texts {
			if id, ok := t.toID[s]; ok {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		return ids
	}
	control := func(id int32) { t.attrs[id] |= attrControl }
	if t.eot == none {
		if ids := lookup(eotTexts); len(ids) > 0 {
			t.eot = ids[0]
			control(t.eot)
		}
	}
	if t.eom == none {
		if id, ok := t.toID["<|eom_id|>"]; ok {
			t.eom = id
			control(id)
		}
	}
	// A FIM marker named in the metadata is taken as is; otherwise the
	// first one found by its text, which is then forced to control type.
	var fimEOG []int32
	for _, f := range fimTexts {
		id, ok := v.IDs[f.key]
		if !ok || id < 0 || id >= int64(len(t.tokens)) {
			ids := lookup(f.texts)
			if len(ids) == 0 {
				continue
			}
			id = int64(ids[0])
			control(ids[0])
		}
		if f.eog {
			fimEOG = append(fimEOG, int32(id))
		}
	}
	// Unused control tokens are not worth splitting the text on.
	for id, s := range t.tokens {
		if t.attrs[id]&attrControl != 0 && strings.Contains(s, "unused") {
			t.attrs[id] |= attrUnused
		}
	}
	t.eog = make(map[int32]bool)
	for _, id := range fimEOG {
		t.eog[id] = true
	}
	for _, id := range lookup(eogTexts) {
		t.eog[id] = true
		control(id)
	}
	for _, id := range []int32{t.eos, t.eot, t.eom} {
		if id != none {
			t.eog[id] = true
		}
	}
	// Harmony-style vocabularies use <|end|> between messages, not at the
	// end of generation.
	has := func(s string) bool { id, ok := t.toID[s]; return ok && t.eog[id] }
	if end, ok := t.toID["<|end|>"]; ok && t.eog[end] &&
		((has("<|return|>") && has("<|call|>")) || (has("<|calls|>") && has("<|flush|>"))) {
		delete(t.eog, end)
		t.attrs[end] = attrUserDefined
	}
	if s, ok := t.toID["</s>"]; ok && t.eog[s] && has("<|tool_response>") {
		delete(t.eog, s)
		t.attrs[s] = attrNormal
	}
	for _, s := range []string{"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"} {
		if id, ok := t.toID[s]; ok {
			t.attrs[id] = attrUserDefined
		}
	}
	lname := strings.ToLower(v.Name)
	if strings.Contains(lname, "phi-3") || strings.Contains(lname, "phi3") {
		for id, a := range t.attrs {
			if a&(attrControl|attrUserDefined|attrUnknown) != 0 {
				t.attrs[id] |= attrRStrip
			}
		}
		set := func(s string, on bool) {
			if id, ok := t.toID[s]; ok {
				if on {
					t.attrs[id] |= attrRStrip
				} else {
					t.attrs[id] &^= attrRStrip
				}
			}
		}
		set("</s>", true)
		for _, s := range []string{"<unk>", "<s>", "<|endoftext|>"} {
			set(s, false)
		}
	}
}

func (t *Tokenizer) buildCaches() {
	for id, a := range t.attrs {
		if a&(attrControl|attrUserDefined|attrUnknown) != 0 {
			t.special = append(t.special, int32(id))
		}
	}
	slices.SortStableFunc(t.special, func(a, b int32) int { return len(t.tokens[b]) - len(t.tokens[a]) })
	t.pieces = make([]string, len(t.tokens))
	for id := range t.tokens {
		t.pieces[id] = t.renderPiece(int32(id))
	}
}

// parseByteToken reads the byte of a "<0xNN>" token.
func parseByteToken(s string) (byte, bool) {
	if len(s) != 6 || s[:3] != "<0x" || s[5] != '>' {
		return 0, false
	}
	hi, ok1 := hexVal(s[3])
	lo, ok2 := hexVal(s[4])
	return hi<<4 | lo, ok1 && ok2
}

func hexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// VocabSize is the number of tokens.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// BOS is the beginning-of-sequence token, or -1.
func (t *Tokenizer) BOS() int32 { return t.bos }

// EOS is the end-of-sequence token, or -1.
func (t *Tokenizer) EOS() int32 { return t.eos }

// EOT is the end-of-turn token, or -1.
func (t *Tokenizer) EOT() int32 { return t.eot }

// EOM is the end-of-message token, or -1.
func (t *Tokenizer) EOM() int32 { return t.eom }

// UNK is the unknown token, or -1.
func (t *Tokenizer) UNK() int32 { return t.unk }

// IsEOG reports whether generating id ends generation: EOS, EOT, EOM and
// the end-of-turn tokens recognised by their text.
func (t *Tokenizer) IsEOG(id int32) bool { return t.eog[id] }

// EOGTokens returns the end-of-generation tokens in increasing order.
func (t *Tokenizer) EOGTokens() []int32 {
	ids := make([]int32, 0, len(t.eog))
	for id := range t.eog {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// AddBOS reports whether Encode with addSpecial prepends BOS.
func (t *Tokenizer) AddBOS() bool { return t.addBOS }

// AddEOS reports whether Encode with addSpecial appends EOS.
func (t *Tokenizer) AddEOS() bool { return t.addEOS }

// TokenID returns the id of a token given its exact stored text.
func (t *Tokenizer) TokenID(piece string) (int32, bool) {
	id, ok := t.toID[piece]
	return id, ok
}

// Token returns the stored text of a token ("" when id is out of range).
func (t *Tokenizer) Token(id int32) string {
	if !t.valid(id) {
		return ""
	}
	return t.tokens[id]
}

// IsControl reports whether id is a control token (BOS, EOS, chat markers).
func (t *Tokenizer) IsControl(id int32) bool { return t.valid(id) && t.attrs[id]&attrControl != 0 }

func (t *Tokenizer) valid(id int32) bool { return id >= 0 && int(id) < len(t.tokens) }
