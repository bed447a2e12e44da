package kvcache

import (
	"strings"
	"testing"

	"inferenceruntime/inference/compute"
)

// TestQuantizedSize: a quantized cache takes its blocks' bytes per position,
// and refuses heads that are not whole blocks.
func TestQuantizedSize(t *testing.T) {
	dev, err := compute.FirstDevice("cpu")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		dt  compute.DType
		per int64 // bytes of one position of one layer's K (64 x 2 elements)
	}{{compute.F32, 512}, {compute.F16, 256}, {compute.Q8_0, 4 * 34}, {compute.Q4_0, 4 * 18}} {
		kv, err := New(dev, Config{Layers: 3, HeadDim: 64, KVHeads: 2, MaxLen: 100, DType: c.dt, ChunkSize: 32})
		if err != nil {
			t.Fatal(err)
		}
		if err := kv.Reserve(40); err != nil {
			t.Fatal(err)
		}
		if want := 64 * c.per * 3 * 2; kv.Bytes() != want {
			t.Errorf("%s: %d bytes for 64 positions, want %d", c.dt, kv.Bytes(), want)
		}
		if got := compute.KVBytes(c.dt, 3, 2, 64, 64); got != kv.Bytes() {
			t.Errorf("%s: KVBytes %d, the cache %d", c.dt, got, kv.Bytes())
		}
		kv.Free()
	}
	_, err = New(dev, Config{Layers: 1, HeadDim: 80, KVHeads: 2, MaxLen: 10, DType: compute.Q4_0})
	if err == nil || !strings.Contains(err.Error(), "multiple of 32") {
		t.Errorf("Q4_0 with head size 80: %v", err)
	}
}
