package compute

import "fmt"

// Op names what produced a tensor.
type Op uint8

// The op set. OpLeaf tensors live in a Buffer (weights, KV cache); OpInput
// tensors carry host data into the graph; OpView tensors alias another
// tensor's bytes. The rest are computed by the backend.
const (
	OpLeaf Op = iota
	OpInput
	OpView
	OpGetRows
	OpMulMat
	OpAdd
	OpMul
	OpScale
	OpRMSNorm
	OpRope
	OpAttention
	OpSwiGLU
	OpGeGLU
	OpSoftmax
	OpSoftcap
	OpCopy
	OpTopK          // mixture of experts (moe.go): ids of the k best experts per token
	OpExpertWeights // the routing weights of the chosen experts
	OpMulMatID      // products with the chosen experts only
	OpWeightedSum   // the experts' outputs mixed by their weights
	OpLayerNorm     // norm.go: rows to zero mean and unit variance (BERT, ViT)
	OpGELU          // norm.go: plain GELU, the MLP activation of BERT and ViT
	OpConcat        // ragged.go: rows of several tensors one after the other (ragged batches)
	// OpAttentionPaged is no node of its own: a device that answers
	// Supports(OpAttentionPaged, dt) runs OpAttention with a block table
	// (AttentionParams.BlockSize > 0) over a cache of type dt.
	OpAttentionPaged
	numOps
)

var opNames = [...]string{"leaf", "input", "view", "get_rows", "mul_mat", "add", "mul", "scale",
	"rms_norm", "rope", "attention", "swiglu", "geglu", "softmax", "softcap", "copy",
	"top_k", "expert_weights", "mul_mat_id", "weighted_sum", "layer_norm", "gelu", "concat", "attention_paged"}

// String returns the op's name.
func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return fmt.Sprintf("op(%d)", int(o))
}

// RopeMode chooses which elements RoPE rotates together.
type RopeMode int

// RoPE modes.
const (
	// RopeNorm rotates adjacent pairs (x[2i], x[2i+1]) — llama.
	RopeNorm RopeMode = 0
	// RopeNeox rotates the halves (x[i], x[i+dims/2]) — qwen2, phi3, gemma.
	RopeNeox RopeMode = 2
)

// RopeParams configure Graph.Rope. Element pair i (0 <= i < Dims/2) of a
// head at position p turns by p * FreqScale * Base^(-2i/Dims) / Factors[i].
type RopeParams struct {
	Mode      RopeMode
	Dims      int     // rotated dimensions from the start of each head; 0 means the whole head
	Base      float32 // rope.freq_base, e.g. 10000 or 500000
	FreqScale float32 // 1 / linear scaling factor; 0 means 1
	Factors   *Tensor // optional F32 [Dims/2] divisors (llama3 rope_freqs.weight)
}

// AttentionParams configure Graph.Attention.
type AttentionParams struct {
	Scale   float32 // multiplies q·k, usually 1/sqrt(head_dim)
	Softcap float32 // if > 0, scores become Softcap*tanh(score/Softcap) (gemma2)
	Window  int     // if > 0, a query at position p sees keys p-Window+1..p (sliding window)
	// NonCausal lets every query of the batch see cache positions 0..the
	// batch's largest position, later ones included: encoders (BERT, ViT)
	// see the whole input at once, and so do the tokens of one image in a
	// vision language model. With a Window, a query at position p still
	// sees no key before p-Window+1 (llama.cpp masks sliding layers so).
	NonCausal bool
	// BlockSize > 0 pages the caches: they are a pool of blocks of
	// BlockSize positions, and the positions input holds, after the
	// tokens' positions, the sequence's block table (the pool's block ids
	// of its positions 0..BlockSize-1, BlockSize.., in order) and then
	// BlockSize itself. Position p lives in cache row
	// table[p/BlockSize]*BlockSize + p%BlockSize. 0 means the cache rows
	// are the positions.
	BlockSize int
}

// Tensor is a typed, shaped view of bytes: a leaf in a Buffer, or a node of
// a Graph whose bytes the backend allocates. Tensors are contiguous.
type Tensor struct {
	name  string
	dtype DType
	shape Shape
	op    Op
	src   [6]*Tensor
	nsrc  int
	graph *Graph // nil for leaves

	buf    Buffer // OpLeaf
	offset int64  // OpLeaf: byte offset in buf; OpView: byte offset in src[0]

	f      float32 // eps (RMSNorm, LayerNorm), scale (Scale), cap (Softcap), floor of the sum (ExpertWeights)
	rope   RopeParams
	attn   AttentionParams
	data   []byte  // OpInput host bytes
	ints   []int32 // OpInput I32 values (for validation of ids and positions)
	output bool
	id     int // index in graph.nodes
}

// NewTensor wraps bytes of buf starting at offset as a tensor of type dt and
// shape s. It checks that the bytes lie inside the buffer.
func NewTensor(buf Buffer, offset int64, dt DType, s Shape) (*Tensor, error) {
	if buf == nil {
		return nil, fmt.Errorf("compute: NewTensor: nil buffer")
	}
	size, err := ByteSize(dt, s)
	if err != nil {
		return nil, fmt.Errorf("compute: NewTensor: %w", err)
	}
	if offset < 0 || offset > buf.Size() || size > buf.Size()-offset {
		return nil, fmt.Errorf("compute: NewTensor: %s %v needs bytes [%d, %d) of a %d-byte buffer",
			dt, s, offset, offset+size, buf.Size())
	}
	return &Tensor{dtype: dt, shape: s.norm(), op: OpLeaf, buf: buf, offset: offset}, nil
}

// Name returns the tensor's name (empty unless SetName was called).
func (t *Tensor) Name() string { return t.name }

// SetName names the tensor for error messages and returns it.
func (t *Tensor) SetName(name string) *Tensor { t.name = name; return t }

// DType is the element type.
func (t *Tensor) DType() DType { return t.dtype }

// Shape is the tensor's shape with unused dimensions set to 1.
func (t *Tensor) Shape() Shape { return t.shape }

// Op is the operation that produces the tensor.
func (t *Tensor) Op() Op { return t.op }

// Src returns operand i, or nil.
func (t *Tensor) Src(i int) *Tensor {
	if i < 0 || i >= t.nsrc {
		return nil
	}
	return t.src[i]
}

// NumSrc is the number of operands.
func (t *Tensor) NumSrc() int { return t.nsrc }

// Bytes is the tensor's size in bytes.
func (t *Tensor) Bytes() int64 {
	n, _ := ByteSize(t.dtype, t.shape)
	return n
}

// Buffer returns the buffer and byte offset of a leaf tensor (nil for nodes).
func (t *Tensor) Buffer() (Buffer, int64) { return t.buf, t.offset }

// ViewOffset is the byte offset of a view inside its source.
func (t *Tensor) ViewOffset() int64 { return t.offset }

// Param is the scalar parameter of RMSNorm (eps), Scale (factor), Softcap
// (cap) and ExpertWeights (the least sum the weights are divided by; 0 when
// they keep their probabilities).
func (t *Tensor) Param() float32 { return t.f }

// RopeParams are the parameters of a Rope node.
func (t *Tensor) RopeParams() RopeParams { return t.rope }

// AttentionParams are the parameters of an Attention node.
func (t *Tensor) AttentionParams() AttentionParams { return t.attn }

// InputData is the host bytes of an Input node.
func (t *Tensor) InputData() []byte { return t.data }

// IsOutput reports whether Graph.Output marked the node.
func (t *Tensor) IsOutput() bool { return t.output }

// ID is the node's index in its graph's Nodes (-1 for leaves).
func (t *Tensor) ID() int {
	if t.graph == nil {
		return -1
	}
	return t.id
}

// Root follows views (and Copy nodes, which alias their destination) to the
// tensor that owns the bytes, and returns it with the byte offset of t inside
// it.
func (t *Tensor) Root() (*Tensor, int64) {
	off := int64(0)
	for t.op == OpView || t.op == OpCopy {
		off += t.offset
		t = t.src[0]
	}
	return t, off
}

// String describes the tensor for error messages.
func (t *Tensor) String() string {
	n := t.name
	if n == "" {
		n = t.op.String()
	}
	return fmt.Sprintf("%s(%s %v)", n, t.dtype, t.shape)
}
