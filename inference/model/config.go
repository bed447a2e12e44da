// Package model turns a GGUF file into a validated description of a
// transformer: its hyper-parameters (Config), its weights bound by tensor name
// with their shapes checked (Binder), and a registry of the architectures that
// can run it (Register, Open).
//
// Everything a compute kernel will later touch is checked here, in Go, so that
// a structurally valid file with nonsense hyper-parameters is refused with a
// clear error instead of reaching C.
package model

import (
	"fmt"
	"math"

	"inferenceruntime/inference/gguf"
)

// RopeStyle says which elements of a head RoPE rotates together.
type RopeStyle int

const (
	// RopeNorm rotates adjacent pairs (x[2i], x[2i+1]): the original LLaMA layout.
	RopeNorm RopeStyle = iota
	// RopeNeoX rotates the two halves (x[i], x[i+d/2]): GPT-NeoX, Qwen2, Phi-3, Gemma.
	RopeNeoX
)

// String names the style as ggml does.
func (s RopeStyle) String() string {
	if s == RopeNeoX {
		return "neox"
	}
	return "norm"
}

// Limits that no real model comes near; they keep a corrupt header from
// turning into an absurd allocation further down.
const (
	maxEmbedding = 1 << 16
	maxLayers    = 1 << 10
	maxHeads     = 1 << 12
	maxFF        = 1 << 20
	maxContext   = 1 << 24
	maxVocab     = 1 << 24
	maxExperts   = 1 << 12
)

// Config holds the hyper-parameters of a decoder-only transformer as read
// from GGUF metadata. All counts are validated to be positive and consistent.
type Config struct {
	Arch string // general.architecture, e.g. "llama", "qwen2"
	Name string // general.name, informational

	VocabSize     int // number of tokens in tokenizer.ggml.tokens
	ContextLength int // <arch>.context_length: the longest sequence the model was built for

	EmbeddingLength   int // n_embd: width of the residual stream
	BlockCount        int // n_layer
	HeadCount         int // n_head: query heads
	HeadCountKV       int // n_head_kv: key/value heads (grouped-query attention when < HeadCount)
	HeadDim           int // size of one head (key_length, or n_embd / n_head)
	FeedForwardLength int // n_ff: hidden size of the MLP

	RMSEpsilon float32 // attention.layer_norm_rms_epsilon

	RopeStyle     RopeStyle // which pairs are rotated; fixed by the architecture
	RopeDim       int       // rope.dimension_count: leading elements of a head that are rotated
	RopeBase      float32   // rope.freq_base (theta)
	RopeFreqScale float32   // 1 / rope.scaling.factor for linear scaling, else 1

	// RopeAttnFactor (rope.scaling.attn_factor, else 1) multiplies the
	// rotated q and k, as ggml's rope does: Phi-3's LongRoPE sets it.
	RopeAttnFactor float32
	// RopeOrigContext (rope.scaling.original_context_length, else the
	// context length) is the context a long-context model was pre-trained
	// at; Phi-3 uses its long RoPE factors above it.
	RopeOrigContext int

	// Sliding-window attention, for the families that use it. Which layers
	// slide is the family's choice; these are the keys it reads.
	SlidingWindow  int     // attention.sliding_window, 0 when absent
	SlidingPattern Pattern // attention.sliding_window_pattern
	RopeBaseSWA    float32 // rope.freq_base_swa, 0 when absent

	AttnSoftcap  float32 // attn_logit_softcapping, 0 when absent
	FinalSoftcap float32 // final_logit_softcapping, 0 when absent

	// Mixture of experts (0 for dense models).
	ExpertCount     int // expert_count
	ExpertUsedCount int // expert_used_count: experts each token goes through
	ExpertFFLength  int // expert_feed_forward_length: hidden size of one expert

	// Special token ids (-1 when the file has none), all checked to be inside
	// the vocabulary.
	BOS, EOS, EOT int32
}

// Pattern is attention.sliding_window_pattern: either a period (layer l
// slides when l % Period < Period-1, llama.cpp's set_swa_pattern) or one
// flag per layer. The zero Pattern means the key is absent.
type Pattern struct {
	Period int
	Layers []bool
}

// Sliding reports whether layer l uses the sliding window under p, with
// period def when the file gives no pattern.
func (p Pattern) Sliding(l, def int) bool {
	if p.Layers != nil {
		return l < len(p.Layers) && p.Layers[l]
	}
	period := p.Period
	if period == 0 {
		period = def
	}
	return period > 0 && l%period < period-1
}

// QueryDim is the width of the concatenated query heads.
func (c *Config) QueryDim() int { return c.HeadCount * c.HeadDim }

// KVDim is the width of the concatenated key (or value) heads.
func (c *Config) KVDim() int { return c.HeadCountKV * c.HeadDim }

// ropeStyles are the architectures whose RoPE layout is not the default
// adjacent-pair one. As in llama.cpp, the layout is a property of the
// architecture, not a metadata key.
var ropeStyles = map[string]RopeStyle{
	"qwen2":    RopeNeoX,
	"qwen3":    RopeNeoX,
	"qwen3moe": RopeNeoX,
	"phi3":     RopeNeoX,
	"gemma":    RopeNeoX,
	"gemma2":   RopeNeoX,
	"gemma3":   RopeNeoX,
}

// specialTokenKeys are the tokenizer metadata keys that hold a token id.
var specialTokenKeys = []string{
	"bos", "eos", "eot", "eom", "unknown", "seperator", "padding", "mask",
	"cls", "prefix", "suffix", "middle", "fim_pre", "fim_suf", "fim_mid", "fim_pad", "fim_rep", "fim_sep",
}

// ReadConfig reads and validates the hyper-parameters of f. It checks the
// metadata alone; the tensors are checked when the weights are bound.
func ReadConfig(f *gguf.File) (Config, error) {
	arch := f.Architecture()
	if arch == "" {
		return Config{}, fmt.Errorf("model: general.architecture is missing")
	}
	r := configReader{f: f, arch: arch}
	c := Config{Arch: arch, RopeStyle: ropeStyles[arch], BOS: -1, EOS: -1, EOT: -1}
	c.Name, _ = f.String("general.name")

	c.EmbeddingLength = r.count("embedding_length", true, 0, maxEmbedding)
	c.BlockCount = r.count("block_count", true, 0, maxLayers)
	c.HeadCount = r.count("attention.head_count", true, 0, maxHeads)
	c.HeadCountKV = r.count("attention.head_count_kv", false, c.HeadCount, maxHeads)
	c.FeedForwardLength = r.count("feed_forward_length", true, 0, maxFF)
	c.ContextLength = r.count("context_length", true, 0, maxContext)
	if r.err != nil {
		return Config{}, r.err
	}

	if c.HeadCount%c.HeadCountKV != 0 {
		return Config{}, fmt.Errorf("model: %s.attention.head_count_kv = %d does not divide head_count = %d", arch, c.HeadCountKV, c.HeadCount)
	}
	defaultHeadDim := 0
	if c.EmbeddingLength%c.HeadCount == 0 {
		defaultHeadDim = c.EmbeddingLength / c.HeadCount
	}
	c.HeadDim = r.count("attention.key_length", false, defaultHeadDim, maxEmbedding)
	valueDim := r.count("attention.value_length", false, c.HeadDim, maxEmbedding)
	if r.err != nil {
		return Config{}, r.err
	}
	if c.HeadDim == 0 {
		return Config{}, fmt.Errorf("model: %s.embedding_length = %d is not a multiple of head_count = %d (and attention.key_length is not set)", arch, c.EmbeddingLength, c.HeadCount)
	}
	if valueDim != c.HeadDim {
		return Config{}, fmt.Errorf("model: %s.attention.value_length = %d differs from key_length = %d (not supported)", arch, valueDim, c.HeadDim)
	}
	if c.HeadDim%2 != 0 {
		return Config{}, fmt.Errorf("model: head dimension %d is odd; RoPE needs pairs", c.HeadDim)
	}

	c.RopeDim = r.count("rope.dimension_count", false, c.HeadDim, maxEmbedding)
	if r.err != nil {
		return Config{}, r.err
	}
	if c.RopeDim%2 != 0 || c.RopeDim > c.HeadDim {
		return Config{}, fmt.Errorf("model: %s.rope.dimension_count = %d must be even and at most the head dimension %d", arch, c.RopeDim, c.HeadDim)
	}

	var err error
	if c.RMSEpsilon, err = r.float("attention.layer_norm_rms_epsilon", 1e-5, 1e-12, 1); err != nil {
		return Config{}, err
	}
	if c.RopeBase, err = r.float("rope.freq_base", 10000, 1, 1e12); err != nil {
		return Config{}, err
	}
	if c.RopeFreqScale, err = r.ropeScale(); err != nil {
		return Config{}, err
	}

	if err := r.readExtras(&c); err != nil {
		return Config{}, err
	}

	tokens, ok := f.Strings("tokenizer.ggml.tokens")
	if !ok || len(tokens) == 0 {
		return Config{}, fmt.Errorf("model: tokenizer.ggml.tokens is missing or empty")
	}
	if len(tokens) > maxVocab {
		return Config{}, fmt.Errorf("model: vocabulary of %d tokens is larger than %d", len(tokens), maxVocab)
	}
	c.VocabSize = len(tokens)
	if n, ok := f.Uint(arch + ".vocab_size"); ok && n != uint64(c.VocabSize) {
		return Config{}, fmt.Errorf("model: %s.vocab_size = %d but tokenizer.ggml.tokens has %d entries", arch, n, c.VocabSize)
	}
	for _, name := range specialTokenKeys {
		key := "tokenizer.ggml." + name + "_token_id"
		v, present := f.Get(key)
		if !present {
			continue
		}
		id, ok := f.Int(key)
		if !ok {
			return Config{}, fmt.Errorf("model: %s has type %s, want an integer", key, v.Type)
		}
		if id == -1 || id == math.MaxUint32 {
			continue // the converters' way of writing "no such token"
		}
		if id < 0 || id >= int64(c.VocabSize) {
			return Config{}, fmt.Errorf("model: %s = %d is outside the vocabulary of %d tokens", key, id, c.VocabSize)
		}
		switch name {
		case "bos":
			c.BOS = int32(id)
		case "eos":
			c.EOS = int32(id)
		case "eot":
			c.EOT = int32(id)
		}
	}
	return c, nil
}

// configReader reads "<arch>.<key>" values and keeps the first error.
type configReader struct {
	f    *gguf.File
	arch string
	err  error
}

// count reads a positive integer in [1, max]. A missing optional key yields
// def; a missing required key is an error.
func (r *configReader) count(key string, required bool, def, max int) int {
	if r.err != nil {
		return 0
	}
	full := r.arch + "." + key
	v, present := r.f.Get(full)
	if !present {
		if required {
			r.err = fmt.Errorf("model: %s is missing", full)
		}
		return def
	}
	n, ok := r.f.Int(full)
	if !ok {
		r.err = fmt.Errorf("model: %s has type %s, want an integer (per-layer arrays are not supported)", full, v.Type)
		return 0
	}
	if n <= 0 || n > int64(max) {
		r.err = fmt.Errorf("model: %s = %d is out of range (must be 1..%d)", full, n, max)
		return 0
	}
	return int(n)
}

// float reads a finite float in [lo, hi], def when absent.
func (r *configReader) float(key string, def, lo, hi float64) (float32, error) {
	full := r.arch + "." + key
	v, present := r.f.Get(full)
	if !present {
		return float32(def), nil
	}
	x, ok := r.f.Float(full)
	if !ok {
		return 0, fmt.Errorf("model: %s has type %s, want a number", full, v.Type)
	}
	if math.IsNaN(x) || x < lo || x > hi {
		return 0, fmt.Errorf("model: %s = %g is out of range (must be %g..%g)", full, x, lo, hi)
	}
	return float32(x), nil
}

// ropeScale turns the rope scaling keys into a frequency scale. Linear
// scaling divides positions by the factor; YaRN and LongRoPE change the
// frequencies per dimension and are refused rather than run wrongly.
// (Llama 3.1+ long-context scaling comes as the rope_freqs tensor instead.)
func (r *configReader) ropeScale() (float32, error) {
	kind, _ := r.f.String(r.arch + ".rope.scaling.type")
	factor, err := r.float("rope.scaling.factor", 0, 0, 1e6)
	if err != nil {
		return 0, err
	}
	if factor == 0 {
		// The older key, used before rope.scaling.* existed.
		if factor, err = r.float("rope.scale_linear", 0, 0, 1e6); err != nil {
			return 0, err
		}
		if factor != 0 && kind == "" {
			kind = "linear"
		}
	}
	switch kind {
	case "", "none":
		return 1, nil
	case "linear":
		if factor <= 0 {
			return 1, nil
		}
		return 1 / factor, nil
	default:
		return 0, fmt.Errorf("model: %s.rope.scaling.type %q is not supported", r.arch, kind)
	}
}

// readExtras reads the optional keys of long-context RoPE, sliding windows,
// soft-capping and experts: generic names, each used by some families only.
func (r *configReader) readExtras(c *Config) error {
	var err error
	if c.RopeAttnFactor, err = r.float("rope.scaling.attn_factor", 1, 1e-3, 1e3); err != nil {
		return err
	}
	c.RopeOrigContext = r.count("rope.scaling.original_context_length", false, c.ContextLength, maxContext)
	c.SlidingWindow = r.count("attention.sliding_window", false, 0, maxContext)
	if r.err != nil {
		return r.err
	}
	if c.SlidingPattern, err = r.pattern(c.BlockCount); err != nil {
		return err
	}
	if c.RopeBaseSWA, err = r.float("rope.freq_base_swa", 0, 1, 1e12); err != nil {
		return err
	}
	if c.AttnSoftcap, err = r.float("attn_logit_softcapping", 0, 0, 1e6); err != nil {
		return err
	}
	if c.FinalSoftcap, err = r.float("final_logit_softcapping", 0, 0, 1e6); err != nil {
		return err
	}
	c.ExpertCount = r.count("expert_count", false, 0, maxExperts)
	c.ExpertUsedCount = r.count("expert_used_count", false, 0, maxExperts)
	c.ExpertFFLength = r.count("expert_feed_forward_length", false, 0, maxFF)
	if r.err != nil {
		return r.err
	}
	if c.ExpertUsedCount > c.ExpertCount {
		return fmt.Errorf("model: %s.expert_used_count = %d is larger than expert_count = %d", r.arch, c.ExpertUsedCount, c.ExpertCount)
	}
	return nil
}

// pattern reads attention.sliding_window_pattern, a period or one flag per
// layer.
func (r *configReader) pattern(layers int) (Pattern, error) {
	full := r.arch + ".attention.sliding_window_pattern"
	v, present := r.f.Get(full)
	if !present {
		return Pattern{}, nil
	}
	if v.Type == gguf.Array {
		if v.ElemType() != gguf.Bool || v.Len() != layers {
			return Pattern{}, fmt.Errorf("model: %s must be a number or %d booleans, not %s", full, layers, v)
		}
		flags := make([]bool, layers)
		for i := range flags {
			e, _ := v.Index(i)
			flags[i], _ = e.AsBool()
		}
		return Pattern{Layers: flags}, nil
	}
	n := r.count("attention.sliding_window_pattern", false, 0, maxLayers)
	return Pattern{Period: n}, r.err
}
