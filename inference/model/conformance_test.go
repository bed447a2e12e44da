package model_test

import (
	"slices"
	"testing"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/internal/ref"
	"inferenceruntime/inference/model"
	_ "inferenceruntime/inference/model/gemma"
	_ "inferenceruntime/inference/model/llama"
	"inferenceruntime/inference/model/modeltest"
	_ "inferenceruntime/inference/model/phi3"
	_ "inferenceruntime/inference/model/qwen3"
)

// TestForwardConformance runs the llama.cpp references of ../shared/models,
// every family, through Forward on the CPU backend in batches of 7 (so that
// the cache grows across chunks of 16 and batches straddle them; the
// sliding windows of the conf-tiny Gemma 2 and 3 models, 16 and 12, then
// cut through batches).
func TestForwardConformance(t *testing.T) {
	dev, err := compute.FirstDevice("cpu")
	if err != nil {
		t.Fatal(err)
	}
	models := append(slices.Clone(ref.ConformanceModels), ref.FamilyModels...)
	ref.CheckModels(t, models, func(t *testing.T, c ref.Case) []float32 {
		f, err := gguf.Open(c.ModelPath)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		m, err := model.Open(f, dev)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		return modeltest.Forward(t, m, c.Tokens, 7)
	})
}
