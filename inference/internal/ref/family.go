package ref

import (
	"fmt"
	"math"

	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/model"
)

// The families the oracle runs. Each difference from Llama is a switch of
// Config, set here from the architecture name and the GGUF keys that
// llama.cpp reads for it (with llama.cpp's defaults where a key is absent).
var families = map[string]bool{
	"llama": true, "qwen2": true, "qwen3": true, "qwen3moe": true,
	"phi3": true, "gemma": true, "gemma2": true, "gemma3": true,
}

// ropeNeoX lists the families that rotate the two halves of a head. As in
// llama.cpp the layout is a property of the architecture, not a key.
var ropeNeoX = map[string]bool{
	"qwen2": true, "qwen3": true, "qwen3moe": true,
	"phi3": true, "gemma": true, "gemma2": true, "gemma3": true,
}

// familyConfig fills the family switches of c (whose common fields are
// already set from mc) from the metadata of f.
func familyConfig(c *Config, f *gguf.File, mc *model.Config) error {
	k := keys{f: f, arch: mc.Arch}
	c.EmbedScale = 1
	c.AttnScale = float32(1 / math.Sqrt(float64(c.HeadDim)))
	c.LocalLayers = make([]bool, c.NLayers)
	c.RopeBaseLocal, c.RopeScaleLocal = c.RopeBase, c.RopeScale
	c.RopeOrigCtx = k.uint("rope.scaling.original_context_length", c.SeqLen)
	c.RopeAttnFactor = k.float("rope.scaling.attn_factor", 1)

	switch mc.Arch {
	case "qwen3":
		c.QKNorm = true
	case "qwen3moe":
		c.QKNorm = true
		c.Experts = k.uint("expert_count", 0)
		c.ExpertsUsed = k.uint("expert_used_count", 0)
		c.ExpertHiddenDim = k.uint("expert_feed_forward_length", 0)
		if c.Experts <= 0 || c.ExpertsUsed <= 0 || c.ExpertsUsed > c.Experts || c.ExpertHiddenDim <= 0 {
			return fmt.Errorf("ref: qwen3moe: expert_count %d, expert_used_count %d, expert_feed_forward_length %d",
				c.Experts, c.ExpertsUsed, c.ExpertHiddenDim)
		}
	case "phi3":
		// llama.cpp warns about and then ignores phi3.attention.sliding_window.
		c.FusedQKV, c.FusedGateUp = true, true
	case "gemma":
		c.EmbedScale = float32(math.Sqrt(float64(c.Dim)))
		c.GELUGate = true
	case "gemma2":
		c.EmbedScale = float32(math.Sqrt(float64(c.Dim)))
		c.GELUGate, c.PostNorms = true, true
		c.AttnScale = gemmaAttnScale(c, 46)
		c.AttnSoftcap = k.float("attn_logit_softcapping", 50)
		c.FinalSoftcap = k.float("final_logit_softcapping", 30)
		c.SlidingWindow = k.uint("attention.sliding_window", 4096)
		c.setLocalPattern(k.uint("attention.sliding_window_pattern", 2))
		c.RopeBaseLocal = k.float("rope.freq_base_swa", c.RopeBase)
	case "gemma3":
		c.EmbedScale = float32(math.Sqrt(float64(c.Dim)))
		c.GELUGate, c.PostNorms, c.QKNorm = true, true, true
		c.AttnScale = gemmaAttnScale(c, 62)
		c.FinalSoftcap = k.float("final_logit_softcapping", 0)
		// Without a window every layer is global; with one, local layers
		// keep their own RoPE base and are never position-scaled (only the
		// global layers take rope.scaling.factor).
		if w := k.uint("attention.sliding_window", 0); w > 0 {
			c.SlidingWindow = w
			c.setLocalPattern(k.uint("attention.sliding_window_pattern", 6))
			c.RopeBaseLocal = k.float("rope.freq_base_swa", 10000)
			c.RopeScaleLocal = 1
		}
	}
	return k.err
}

// gemmaAttnScale is the query scale of Gemma 2 and 3: 1/sqrt(head_dim),
// except for the 27B models (recognized, as llama.cpp does, by their layer
// count), which use 1/sqrt(n_embd/n_head).
func gemmaAttnScale(c *Config, layers27B int) float32 {
	d := c.HeadDim
	if c.NLayers == layers27B {
		d = c.Dim / c.NHeads
	}
	return float32(1 / math.Sqrt(float64(d)))
}

// setLocalPattern marks layer l local (sliding window) unless it is the last
// of each group of period layers: period 2 = even layers local.
func (c *Config) setLocalPattern(period int) {
	for l := range c.LocalLayers {
		c.LocalLayers[l] = period == 0 || l%period < period-1
	}
}

// keys reads optional "<arch>.<key>" values, keeping the first type error.
type keys struct {
	f    *gguf.File
	arch string
	err  error
}

func (k *keys) uint(key string, def int) int {
	full := k.arch + "." + key
	if _, ok := k.f.Get(full); !ok {
		return def
	}
	n, ok := k.f.Int(full)
	if !ok || n < 0 || n > math.MaxInt32 {
		k.fail(full, "a non-negative integer")
		return def
	}
	return int(n)
}

func (k *keys) float(key string, def float32) float32 {
	full := k.arch + "." + key
	if _, ok := k.f.Get(full); !ok {
		return def
	}
	x, ok := k.f.Float(full)
	if !ok || math.IsNaN(x) || math.IsInf(x, 0) {
		k.fail(full, "a finite number")
		return def
	}
	return float32(x)
}

func (k *keys) fail(key, want string) {
	if k.err == nil {
		v, _ := k.f.Get(key)
		k.err = fmt.Errorf("ref: %s = %v, want %s", key, v, want)
	}
}
