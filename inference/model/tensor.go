package model

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/quant"
)

// Tensor is one weight of the model: its name, ggml type, shape and bytes.
// Data is a slice of the file mapping, never a copy.
type Tensor struct {
	Name  string
	Type  quant.Type
	Shape []int  // ggml order: Shape[0] is the row length (ne0), Shape[1] the number of rows
	Data  []byte // RowBytes() * Rows() bytes
}

// Cols is the row length (ne0).
func (t *Tensor) Cols() int { return t.Shape[0] }

// Rows is the number of rows: the product of every dimension after the first.
func (t *Tensor) Rows() int {
	n := 1
	for _, d := range t.Shape[1:] {
		n *= d
	}
	return n
}

// RowBytes is the size in bytes of one row.
func (t *Tensor) RowBytes() int {
	return t.Shape[0] / t.Type.BlockSize() * t.Type.TypeSize()
}

// Row returns the bytes of row i.
func (t *Tensor) Row(i int) []byte {
	n := t.RowBytes()
	return t.Data[i*n : (i+1)*n]
}

// Binder looks weights up by name and checks each against the shape the
// architecture expects. It records the first problem; Err returns it. A
// typical use:
//
//	b := model.NewBinder(f, cfg)
//	w.TokenEmbd = b.Tensor("token_embd.weight", cfg.EmbeddingLength, cfg.VocabSize)
//	...
//	if err := b.Err(); err != nil { ... }
type Binder struct {
	f      *gguf.File
	layers int
	err    error
	bound  map[string]bool
}

// NewBinder returns a Binder over the tensors of f for a model of cfg.
func NewBinder(f *gguf.File, cfg Config) *Binder {
	return &Binder{f: f, layers: cfg.BlockCount, bound: map[string]bool{}}
}

// Tensor binds a required tensor of the given shape (ggml order).
func (b *Binder) Tensor(name string, shape ...int) *Tensor {
	t := b.Optional(name, shape...)
	if t == nil && b.err == nil {
		b.err = fmt.Errorf("model: tensor %s is missing%s", name, b.layerHint(name))
	}
	return t
}

// Optional binds a tensor that may be absent (nil then). When present its
// shape is checked like Tensor's.
func (b *Binder) Optional(name string, shape ...int) *Tensor {
	if b.err != nil {
		return nil
	}
	info, ok := b.f.Tensor(name)
	if !ok {
		return nil
	}
	t, err := b.check(info, shape)
	if err != nil {
		b.err = err
		return nil
	}
	b.bound[name] = true
	return t
}

// check compares a tensor's shape and type with what the model needs and
// slices its bytes out of the file.
func (b *Binder) check(info gguf.TensorInfo, want []int) (*Tensor, error) {
	got := make([]int, len(info.Dims))
	for i, d := range info.Dims {
		got[i] = int(d)
	}
	// Trailing 1s carry no information: [n] and [n, 1] are the same shape.
	for len(got) > 1 && got[len(got)-1] == 1 {
		got = got[:len(got)-1]
	}
	if !slices.Equal(got, want) {
		return nil, fmt.Errorf("model: tensor %s has shape %v, the metadata implies %v", info.Name, got, want)
	}
	if !info.Type.Known() {
		return nil, fmt.Errorf("model: tensor %s has unknown type %s", info.Name, info.Type)
	}
	rowBytes, err := info.Type.RowSize(int64(want[0]))
	if err != nil {
		return nil, fmt.Errorf("model: tensor %s: %w", info.Name, err)
	}
	t := &Tensor{Name: info.Name, Type: info.Type, Shape: want}
	size := rowBytes * int64(t.Rows())
	data, err := b.f.TensorData(info)
	if err != nil {
		return nil, fmt.Errorf("model: tensor %s: %w", info.Name, err)
	}
	if int64(len(data)) != size {
		return nil, fmt.Errorf("model: tensor %s holds %d bytes, its shape and type need %d", info.Name, len(data), size)
	}
	t.Data = data
	return t, nil
}

// layerHint explains a missing per-layer tensor by how many layers the file
// actually has, the usual cause being a wrong block_count.
func (b *Binder) layerHint(name string) string {
	if _, ok := blockIndex(name); !ok {
		return ""
	}
	have := 0
	for _, t := range b.f.Tensors {
		if i, ok := blockIndex(t.Name); ok && i+1 > have {
			have = i + 1
		}
	}
	return fmt.Sprintf(" (block_count is %d; the file has tensors for %d blocks)", b.layers, have)
}

// Err returns the first binding problem, or a tensor of a block beyond
// block_count, which means the metadata and the tensors disagree.
func (b *Binder) Err() error {
	if b.err != nil {
		return b.err
	}
	for _, t := range b.f.Tensors {
		if i, ok := blockIndex(t.Name); ok && i >= b.layers {
			return fmt.Errorf("model: tensor %s belongs to block %d but block_count is %d", t.Name, i, b.layers)
		}
	}
	return nil
}

// blockIndex parses the N of "blk.N.…".
func blockIndex(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "blk.")
	if !ok {
		return 0, false
	}
	num, _, ok := strings.Cut(rest, ".")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(num)
	return i, err == nil && i >= 0
}

// BlockName formats the name of a per-layer tensor, e.g. BlockName(3, "attn_q.weight").
func BlockName(layer int, suffix string) string {
	return "blk." + strconv.Itoa(layer) + "." + suffix
}

// Slice returns rows [start, start+n) of a matrix as a matrix of its own,
// sharing its bytes: the parts of a fused weight (Phi-3's attn_qkv holds q,
// k and v one after the other). nil, and a range outside the rows, give nil.
func (t *Tensor) Slice(start, n int, suffix string) *Tensor {
	if t == nil || len(t.Shape) != 2 || start < 0 || n <= 0 || start+n > t.Shape[1] {
		return nil
	}
	rb := t.RowBytes()
	return &Tensor{
		Name:  t.Name + suffix,
		Type:  t.Type,
		Shape: []int{t.Shape[0], n},
		Data:  t.Data[start*rb : (start+n)*rb],
	}
}
