package synth

import (
	"fmt"
	"math"
	"math/rand/v2"

	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/quant"
)

// LoRATargets are the weights llama.cpp's convert_lora_to_gguf.py adapts
// in a typical fine-tune: the attention and MLP projections of every layer.
var LoRATargets = []string{"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"}

// LoRAOptions describe a random LoRA adapter.
type LoRAOptions struct {
	Rank  int     // default 8
	Alpha float32 // adapter.lora.alpha; default 2×Rank
	Type  quant.Type
	Seed  uint64
}

// LoRA writes a random LoRA adapter for base in llama.cpp's GGUF adapter
// format: general.type "adapter", adapter.type "lora", adapter.lora.alpha,
// and for each LoRATargets weight W of ne [n_in, n_out] a pair
// W.lora_a ne [n_in, rank] and W.lora_b ne [rank, n_out]. Weights the base
// lacks (fused q/k/v) are skipped. B is non-zero, unlike a fresh
// fine-tune's, so the adapter changes the output.
func LoRA(base *gguf.File, o LoRAOptions) (*gguf.Writer, error) {
	if o.Rank <= 0 {
		o.Rank = 8
	}
	if o.Alpha == 0 {
		o.Alpha = float32(2 * o.Rank)
	}
	if o.Type != quant.F32 && o.Type != quant.F16 {
		return nil, fmt.Errorf("synth: LoRA tensors of type %s (want F32 or F16)", o.Type)
	}
	w := gguf.NewWriter()
	for _, kv := range []struct {
		k string
		v any
	}{
		{"general.architecture", base.Architecture()}, {"general.type", "adapter"}, {"general.name", "synthetic LoRA"},
		{"adapter.type", "lora"}, {"adapter.lora.alpha", o.Alpha},
	} {
		if err := w.SetKV(kv.k, kv.v); err != nil {
			return nil, fmt.Errorf("synth: %w", err)
		}
	}
	dims := map[string][]uint64{}
	for _, t := range base.Tensors {
		dims[t.Name] = t.Dims
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x10a))
	n := 0
	for layer := 0; ; layer++ {
		found := false
		for _, m := range LoRATargets {
			name := fmt.Sprintf("blk.%d.%s.weight", layer, m)
			d, ok := dims[name]
			if !ok || len(d) != 2 {
				continue
			}
			found = true
			in, out, r := d[0], d[1], uint64(o.Rank)
			// A spreads the input over the rank; B's scale keeps ΔW around
			// half the size of typical weights at scale 1.
			a := randomTensor(rng, int(in*r), 1/math.Sqrt(float64(in)))
			b := randomTensor(rng, int(r*out), 0.5/math.Sqrt(float64(r))/float64(o.Alpha/float32(o.Rank)))
			for _, t := range []struct {
				suffix string
				dims   []uint64
				data   []float32
			}{{".lora_a", []uint64{in, r}, a}, {".lora_b", []uint64{r, out}, b}} {
				data, err := quant.Quantize(o.Type, t.data)
				if err != nil {
					return nil, fmt.Errorf("synth: %w", err)
				}
				if err := w.AddTensor(name+t.suffix, o.Type, t.dims, data); err != nil {
					return nil, fmt.Errorf("synth: %s: %w", name+t.suffix, err)
				}
			}
			n++
		}
		if !found {
			break
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("synth: the base has none of the weights a LoRA adapts (%v)", LoRATargets)
	}
	return w, nil
}

func randomTensor(rng *rand.Rand, n int, std float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(rng.NormFloat64() * std)
	}
	return out
}
