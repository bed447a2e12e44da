package library

import "testing"

// llama1B is the Llama 3.2 1B shape: 16 layers, 8 kv heads of 64.
var llama1B = Meta{ContextLength: 131072, VocabSize: 128256,
	HParams: HParams{Layers: 16, Embd: 2048, Heads: 32, HeadsKV: 8, KeyLength: 64, ValueLength: 64}}

// TestEstimateFitKV: the KV cache at 32k context of each cache type, the
// saving the README reports.
func TestEstimateFitKV(t *testing.T) {
	for _, c := range []struct {
		kv   string
		want int64
	}{{"", 2 << 30}, {"f32", 2 << 30}, {"f16", 1 << 30}, {"q8_0", 544 << 20}, {"q4_0", 288 << 20}} {
		f, err := EstimateFitKV(llama1B, 700<<20, 32768, c.kv, -1)
		if err != nil {
			t.Fatal(err)
		}
		if f.KVCache != c.want {
			t.Errorf("%q: KV cache %d MiB at 32k, want %d MiB", c.kv, f.KVCache>>20, c.want>>20)
		}
		if f.Weights != 700<<20 || f.Total != f.Weights+f.KVCache+f.Buffers {
			t.Errorf("%q: %+v", c.kv, f)
		}
	}
	if old := EstimateFit(llama1B, 700<<20, 32768, 2, -1); old.KVCache != 1<<30 {
		t.Errorf("EstimateFit with 2 bytes an element: %d", old.KVCache)
	}
	if _, err := EstimateFitKV(llama1B, 1, 1, "q5_1", -1); err == nil {
		t.Error("an unknown cache type was taken")
	}
}
