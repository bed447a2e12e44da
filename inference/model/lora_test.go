package model_test

import (
	"strings"
	"testing"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/internal/ref"
	"inferenceruntime/inference/model"
	"inferenceruntime/inference/model/modeltest"
)

// TestLoRAConformance runs llama.cpp's references with LoRA adapters
// (scales 1 and 0.5, an F16 adapter, a quantized base, llama and qwen3):
// the adapters' products are added beside the base weights, never merged.
func TestLoRAConformance(t *testing.T) {
	dev, err := compute.FirstDevice("cpu")
	if err != nil {
		t.Fatal(err)
	}
	ref.CheckLoRA(t, func(t *testing.T, c ref.Case) []float32 {
		m := openModel(t, c.ModelPath, dev)
		var uses []model.AdapterUse
		for _, a := range c.Adapters {
			f, err := gguf.Open(a.Path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			ad, err := model.OpenAdapter(f, m, dev)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ad.Close() })
			if ad.Targets() != 14 { // 7 modules in each of 2 layers
				t.Errorf("%s adapts %d weights, want 14", a.Path, ad.Targets())
			}
			uses = append(uses, model.AdapterUse{Adapter: ad, Scale: a.Scale})
		}
		return modeltest.Forward(t, m, c.Tokens, 7, func(g *compute.Graph) { model.UseAdapters(g, uses) })
	})
}

// openModel opens a GGUF model for the test's duration.
func openModel(t *testing.T, path string, dev compute.Device) model.Model {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	m, err := model.Open(f, dev)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// TestLoRAMismatch checks that an adapter that does not fit its base is
// refused with the reason and the tensor.
func TestLoRAMismatch(t *testing.T) {
	dev, err := compute.FirstDevice("cpu")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, base, adapter string
		e                   edit
		want                string
	}{
		{"other architecture", "tiny-qwen3-f32.gguf", "lora-tiny-llama.gguf", edit{}, `made for architecture "llama", the model is "qwen3"`},
		{"other shapes", "tiny-llama-f32.gguf", "lora-tiny-qwen3.gguf", edit{kv: map[string]any{"general.architecture": "llama"}}, "do not fit blk."},
		{"not an adapter", "tiny-llama-f32.gguf", "lora-tiny-llama.gguf", edit{kv: map[string]any{"general.type": "model"}}, `general.type is "model"`},
		{"not lora", "tiny-llama-f32.gguf", "lora-tiny-llama.gguf", edit{kv: map[string]any{"adapter.type": "control_vector"}}, `only "lora" adapters`},
		{"half a pair", "tiny-llama-f32.gguf", "lora-tiny-llama.gguf", edit{tensors: map[string][]byte{"blk.1.ffn_up.weight.lora_b": nil}}, "blk.1.ffn_up.weight has only one of"},
		{"target the model does not multiply", "tiny-llama-f32.gguf", "lora-tiny-llama.gguf", edit{renames: map[string]string{"blk.0.attn_q.weight.lora_a": "blk.0.attn_x.weight.lora_a", "blk.0.attn_q.weight.lora_b": "blk.0.attn_x.weight.lora_b"}}, "targets blk.0.attn_x.weight, which the model does not multiply"},
		{"fused target", "tiny-phi3-f32.gguf", "lora-tiny-llama.gguf", edit{kv: map[string]any{"general.architecture": "phi3"}}, "does not multiply as one matrix"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := openModel(t, testPath(t, "conf-tiny", c.base), dev)
			f := rewrite(t, "../lora/"+c.adapter, c.e)
			a, err := model.OpenAdapter(f, m, dev)
			if err == nil {
				a.Close()
				t.Fatal("the adapter was accepted")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want it to say %q", err, c.want)
			}
		})
	}
}
