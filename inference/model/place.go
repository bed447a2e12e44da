package model

import (
	"errors"
	"fmt"
	"slices"

	"math"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/quant"
)

// Placer puts bound weights on a compute device and remembers the buffers
// so that they can be freed together. Like Binder it records the first
// error; Err returns it.
type Placer struct {
	dev      compute.Device
	bufs     []compute.Buffer
	err      error
	products map[string]compute.Shape
}

// NewPlacer returns a Placer for dev.
func NewPlacer(dev compute.Device) *Placer { return &Placer{dev: dev} }

// Matrix places a weight used by op (compute.OpMulMat or OpGetRows) in its
// file encoding: on the CPU the mapping itself, on a GPU an upload. The
// device must support op for the weight's type. nil stays nil.
func (p *Placer) Matrix(t *Tensor, ops ...compute.Op) *compute.Tensor {
	if t == nil || p.err != nil {
		return nil
	}
	dev := p.device(t.Name)
	for _, op := range ops {
		if !dev.Supports(op, t.Type) {
			p.err = fmt.Errorf("model: tensor %s: %s on %s weights is not supported by device %s", t.Name, op, t.Type, dev.Name())
			return nil
		}
	}
	buf, err := dev.WrapHost(t.Data)
	if err != nil {
		p.err = fmt.Errorf("model: placing %s: %w", t.Name, err)
		return nil
	}
	p.bufs = append(p.bufs, buf)
	ct := p.tensor(t, buf)
	if ct != nil && slices.Contains(ops, compute.OpMulMat) {
		if p.products == nil {
			p.products = map[string]compute.Shape{}
		}
		p.products[t.Name] = ct.Shape()
	}
	return ct
}

// Products returns the shapes of the matrices placed for OpMulMat, by
// tensor name: the weights a LoRA adapter can target.
func (p *Placer) Products() map[string]compute.Shape { return p.products }

// Vector places a small tensor (norm weight, bias, rope factors) as F32,
// converting it when the file stores another type.
func (p *Placer) Vector(t *Tensor) *compute.Tensor {
	if t == nil || p.err != nil {
		return nil
	}
	if t.Type == quant.F32 {
		return p.Matrix(t)
	}
	vals := make([]float32, t.Cols()*t.Rows())
	if err := quant.Dequantize(t.Type, t.Data, vals); err != nil {
		p.err = fmt.Errorf("model: tensor %s: %w", t.Name, err)
		return nil
	}
	raw := make([]byte, 4*len(vals))
	for i, v := range vals {
		putF32(raw[4*i:], v)
	}
	buf, err := p.device(t.Name).Alloc(int64(len(raw)))
	if err == nil {
		p.bufs = append(p.bufs, buf)
		err = buf.Write(0, raw)
	}
	if err != nil {
		p.err = fmt.Errorf("model: placing %s: %w", t.Name, err)
		return nil
	}
	f32 := *t
	f32.Type = quant.F32
	return p.tensor(&f32, buf)
}

func (p *Placer) tensor(t *Tensor, buf compute.Buffer) *compute.Tensor {
	var s compute.Shape
	if len(t.Shape) > len(s) {
		p.err = fmt.Errorf("model: tensor %s has %d dimensions", t.Name, len(t.Shape))
		return nil
	}
	copy(s[:], t.Shape)
	ct, err := compute.NewTensor(buf, 0, t.Type, s)
	if err != nil {
		p.err = fmt.Errorf("model: placing %s: %w", t.Name, err)
		return nil
	}
	return ct.SetName(t.Name)
}

// device is where the tensor named name goes: on a device that spreads
// layers over others (compute.Layered), a block's tensor (blk.N.*) goes to
// layer N's device, so that families place layers without knowing.
func (p *Placer) device(name string) compute.Device {
	ld, ok := p.dev.(compute.Layered)
	if !ok {
		return p.dev
	}
	if l, ok := blockIndex(name); ok {
		return ld.LayerDevice(l)
	}
	return p.dev
}

// BlockOf returns N of a block's tensor named blk.N.*.
func BlockOf(name string) (int, bool) { return blockIndex(name) }

// Err returns the first placement error.
func (p *Placer) Err() error { return p.err }

// Free releases every buffer placed so far.
func (p *Placer) Free() error {
	var errs []error
	for _, b := range p.bufs {
		errs = append(errs, b.Free())
	}
	p.bufs = nil
	return errors.Join(errs...)
}

func putF32(b []byte, v float32) {
	u := math.Float32bits(v)
	b[0], b[1], b[2], b[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
}
