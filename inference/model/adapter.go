package model

import (
	"fmt"
	"math"
	"strings"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/gguf"
)

// Adapter is a LoRA adapter in llama.cpp's GGUF format, checked against the
// base model it was opened for and placed on the base's device. It adds
// scale·(alpha/rank)·B·A·x beside each product W·x it targets, without
// touching W, so adapters can be switched and rescaled between requests.
type Adapter struct {
	Name  string  // general.name, else the file's
	Alpha float32 // adapter.lora.alpha; 0 means "use the scale as is"
	pairs map[string]LoRA
	place *Placer
}

// LoRA is one adapted weight's low-rank pair.
type LoRA struct {
	A *compute.Tensor // [n_in, rank]
	B *compute.Tensor // [rank, n_out]
	// Scale is alpha/rank, or 1 when the file has no alpha (llama.cpp's
	// rule); the use's own scale multiplies it.
	Scale float32
}

// AdapterUse is an adapter active in a forward pass with its scale.
type AdapterUse struct {
	Adapter *Adapter
	Scale   float32
}

// OpenAdapter reads the LoRA adapter f for the model m, opened from base on
// dev: the adapter must be of m's architecture, and every pair must target
// a matrix m multiplies, with shapes that fit it. A mismatch names the
// tensor. The adapter reads f's mapping: keep f open until it is closed.
func OpenAdapter(f *gguf.File, m Model, dev compute.Device) (*Adapter, error) {
	if typ, _ := f.String("general.type"); typ != "adapter" {
		return nil, fmt.Errorf("adapter: general.type is %q, want \"adapter\" (is this a LoRA file?)", typ)
	}
	if typ, _ := f.String("adapter.type"); typ != "lora" {
		return nil, fmt.Errorf("adapter: adapter.type is %q; only \"lora\" adapters are supported", typ)
	}
	if arch, base := f.Architecture(), m.Config().Arch; arch != base {
		return nil, fmt.Errorf("adapter: made for architecture %q, the model is %q", arch, base)
	}
	a := &Adapter{pairs: map[string]LoRA{}, place: NewPlacer(dev)}
	a.Name, _ = f.String("general.name")
	if v, ok := f.Get("adapter.lora.alpha"); ok {
		alpha, ok := v.AsFloat()
		if !ok || math.IsNaN(alpha) || alpha < 0 || alpha > 1e6 {
			return nil, fmt.Errorf("adapter: adapter.lora.alpha = %v is not a number in [0, 1e6]", v)
		}
		a.Alpha = float32(alpha)
	}
	if err := a.bind(f, m.Config().BlockCount, m.Products()); err != nil {
		a.place.Free()
		return nil, err
	}
	return a, nil
}

// bind pairs the .lora_a and .lora_b tensors by the weight they adapt and
// places them.
func (a *Adapter) bind(f *gguf.File, layers int, products map[string]compute.Shape) error {
	bind := NewBinder(f, Config{BlockCount: layers})
	halves := map[string][2]*gguf.TensorInfo{}
	for i := range f.Tensors {
		t := &f.Tensors[i]
		base, half, ok := strings.Cut(t.Name, ".lora_")
		if !ok || (half != "a" && half != "b") {
			return fmt.Errorf("adapter: tensor %s is not a .lora_a or .lora_b tensor", t.Name)
		}
		h := halves[base]
		h[map[string]int{"a": 0, "b": 1}[half]] = t
		halves[base] = h
	}
	if len(halves) == 0 {
		return fmt.Errorf("adapter: the file has no LoRA tensors")
	}
	for base, h := range halves {
		if h[0] == nil || h[1] == nil {
			return fmt.Errorf("adapter: %s has only one of .lora_a and .lora_b", base)
		}
		w, ok := products[base]
		if !ok {
			return fmt.Errorf("adapter: tensor %s targets %s, which the model does not multiply as one matrix", h[0].Name, base)
		}
		in, out := w[0], int(w.Rows())
		if len(h[0].Dims) != 2 || len(h[1].Dims) != 2 {
			return fmt.Errorf("adapter: %s and %s must be matrices", h[0].Name, h[1].Name)
		}
		rank := int(h[0].Dims[1])
		if int(h[0].Dims[0]) != in || int(h[1].Dims[0]) != rank || int(h[1].Dims[1]) != out || rank < 1 {
			return fmt.Errorf("adapter: %s %v and %s %v do not fit %s [%d %d]", h[0].Name, h[0].Dims, h[1].Name, h[1].Dims, base, in, out)
		}
		A := a.place.Matrix(bind.Tensor(h[0].Name, in, rank), compute.OpMulMat)
		B := a.place.Matrix(bind.Tensor(h[1].Name, rank, out), compute.OpMulMat)
		if err := bind.Err(); err != nil {
			return fmt.Errorf("adapter: %w", err)
		}
		if err := a.place.Err(); err != nil {
			return fmt.Errorf("adapter: %w", err)
		}
		scale := float32(1)
		if a.Alpha != 0 {
			scale = a.Alpha / float32(rank)
		}
		a.pairs[base] = LoRA{A: A, B: B, Scale: scale}
	}
	return nil
}

// For returns the pair that adapts the weight named name.
func (a *Adapter) For(name string) (LoRA, bool) {
	p, ok := a.pairs[name]
	return p, ok
}

// Targets is the number of weights the adapter adapts.
func (a *Adapter) Targets() int { return len(a.pairs) }

// Close frees the adapter's device buffers.
func (a *Adapter) Close() error { return a.place.Free() }

// UseAdapters makes g add the low-rank products of the adapters in uses
// beside every weight product they target: W·x + Σ s·(alpha/rank)·B·(A·x).
func UseAdapters(g *compute.Graph, uses []AdapterUse) {
	if len(uses) == 0 {
		return
	}
	g.ExtendProducts(func(g *compute.Graph, w, x, y *compute.Tensor) *compute.Tensor {
		for _, u := range uses {
			if p, ok := u.Adapter.For(w.Name()); ok && u.Scale != 0 {
				y = g.Add(y, g.Scale(g.MulMat(p.B, g.MulMat(p.A, x)), u.Scale*p.Scale))
			}
		}
		return y
	})
}
