package kvcache

import (
	"bytes"
	"strings"
	"testing"

	"inferenceruntime/inference/compute"
	_ "inferenceruntime/inference/compute/cpu"
)

func TestGrow(t *testing.T) {
	dev, err := compute.FirstDevice("cpu")
	if err != nil {
		t.Fatal(err)
	}
	for _, dt := range []compute.DType{compute.F32, compute.F16} {
		c, err := New(dev, Config{Layers: 2, HeadDim: 4, KVHeads: 2, MaxLen: 40, DType: dt, ChunkSize: 16})
		if err != nil {
			t.Fatal(err)
		}
		per := 4 * 2 * dt.TypeSize()
		if c.Cap() != 0 || c.Bytes() != 0 {
			t.Fatalf("%s: a new cache holds %d positions", dt, c.Cap())
		}
		if err := c.Reserve(10); err != nil || c.Cap() != 16 {
			t.Fatalf("%s: Reserve(10): cap %d, %v; want 16", dt, c.Cap(), err)
		}
		// Fill 10 positions of every K and V with a pattern, as a forward step would.
		pattern := func(l, kv int) []byte {
			b := make([]byte, 10*per)
			for i := range b {
				b[i] = byte(i*7 + l*3 + kv)
			}
			return b
		}
		for l := range 2 {
			k, v := c.Layer(l)
			for kv, tt := range []*compute.Tensor{k, v} {
				buf, off := tt.Buffer()
				if err := buf.Write(off, pattern(l, kv)); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := c.Commit(10); err != nil {
			t.Fatal(err)
		}
		if err := c.Reserve(20); err != nil || c.Cap() != 32 {
			t.Fatalf("%s: Reserve(20): cap %d, %v; want 32", dt, c.Cap(), err)
		}
		for l := range 2 {
			k, v := c.Layer(l)
			for kv, tt := range []*compute.Tensor{k, v} {
				if tt.Shape() != (compute.Shape{4, 2, 32, 1}) {
					t.Fatalf("%s: layer %d shape %v", dt, l, tt.Shape())
				}
				buf, off := tt.Buffer()
				got := make([]byte, 10*per)
				if err := buf.Read(off, got); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, pattern(l, kv)) {
					t.Errorf("%s: layer %d kv %d lost its contents when the cache grew", dt, l, kv)
				}
			}
		}
		if err := c.Reserve(40); err != nil || c.Cap() != 40 {
			t.Errorf("%s: Reserve(40): cap %d, %v; want the context length 40", dt, c.Cap(), err)
		}
		if err := c.Reserve(41); err == nil || !strings.Contains(err.Error(), "do not fit the context of 40") {
			t.Errorf("%s: Reserve(41): %v", dt, err)
		}
		if c.Bytes() != int64(40*per*2*2) {
			t.Errorf("%s: %d bytes for 40 positions", dt, c.Bytes())
		}
		c.Truncate(4)
		if c.Len() != 4 {
			t.Errorf("%s: Len after Truncate(4) = %d", dt, c.Len())
		}
		c.Free()
		if c.Cap() != 0 || c.Len() != 0 {
			t.Errorf("%s: Free left %d/%d", dt, c.Len(), c.Cap())
		}
	}
}

func TestInvalid(t *testing.T) {
	dev, err := compute.FirstDevice("cpu")
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []Config{
		{Layers: 0, HeadDim: 4, KVHeads: 1, MaxLen: 8, DType: compute.F32},
		{Layers: 1, HeadDim: 4, KVHeads: 1, MaxLen: 0, DType: compute.F32},
		{Layers: 1, HeadDim: 4, KVHeads: 1, MaxLen: 8, DType: compute.I32},
	} {
		if _, err := New(dev, cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}
