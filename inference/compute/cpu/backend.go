package cpu

/*
#include <stdlib.h>
#include "ir_cpu.h"
*/
import "C"

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"inferenceruntime/inference/compute"
)

// opCodes maps graph ops to the C op ids (ir_cpu.h uses the same numbers).
var opCodes = map[compute.Op]C.int32_t{
	compute.OpGetRows: C.IR_OP_GET_ROWS, compute.OpMulMat: C.IR_OP_MUL_MAT, compute.OpAdd: C.IR_OP_ADD,
	compute.OpMul: C.IR_OP_MUL, compute.OpScale: C.IR_OP_SCALE, compute.OpRMSNorm: C.IR_OP_RMS_NORM,
	compute.OpRope: C.IR_OP_ROPE, compute.OpAttention: C.IR_OP_ATTENTION, compute.OpSwiGLU: C.IR_OP_SWIGLU,
	compute.OpGeGLU: C.IR_OP_GEGLU, compute.OpSoftmax: C.IR_OP_SOFTMAX, compute.OpSoftcap: C.IR_OP_SOFTCAP,
	compute.OpCopy: C.IR_OP_COPY, compute.OpTopK: C.IR_OP_TOP_K, compute.OpExpertWeights: C.IR_OP_EXPERT_WEIGHTS,
	compute.OpMulMatID: C.IR_OP_MUL_MAT_ID, compute.OpWeightedSum: C.IR_OP_WEIGHTED_SUM,
	compute.OpLayerNorm: C.IR_OP_LAYER_NORM, compute.OpGELU: C.IR_OP_GELU,
}

// opCode is opCodes as an array (0: no C op), for the per-node lookups of
// every graph.
var opCode = func() (a [256]C.int32_t) {
	for op, code := range opCodes {
		a[op] = code
	}
	return a
}()

// cmem is a growable block of C memory whose start is 64-byte aligned
// (malloc plus an offset, since aligned_alloc is missing on Windows).
type cmem struct {
	raw  unsafe.Pointer
	ptr  unsafe.Pointer
	size int64
}

func (m *cmem) ensure(size int64) error {
	if size <= m.size {
		return nil
	}
	m.free()
	raw := C.malloc(C.size_t(size + 64))
	if raw == nil {
		return fmt.Errorf("cpu: out of memory allocating %d bytes of scratch", size)
	}
	pad := (64 - uintptr(raw)%64) % 64
	m.raw, m.ptr, m.size = raw, unsafe.Add(raw, pad), size
	return nil
}

func (m *cmem) free() {
	C.free(m.raw)
	m.raw, m.ptr, m.size = nil, nil, 0
}

// backend owns a thread pool and the scratch memory of its graphs.
type backend struct {
	mu      sync.Mutex
	pool    *C.ir_pool
	threads int
	arena   cmem // graph nodes
	work    cmem // quantized activations, attention scores
	ops     cmem // the C op array
	outputs map[*compute.Tensor]unsafe.Pointer
	kept    kept              // the last graph's conversion
	next    compute.Structure // the structure of the graph being computed
	reuses  int64
}

func (*device) NewBackend(opts compute.Options) (compute.Backend, error) {
	if initErr != nil {
		return nil, initErr
	}
	n := opts.Threads
	if n <= 0 {
		n = runtime.NumCPU()
	}
	if n > 256 {
		return nil, fmt.Errorf("cpu: %d threads is too many", n)
	}
	pool := C.ir_pool_new(C.int(n))
	if pool == nil {
		return nil, fmt.Errorf("cpu: cannot start %d threads", n)
	}
	b := &backend{pool: pool, threads: int(C.ir_pool_threads(pool))}
	return b, nil
}

func (b *backend) Device() compute.Device { return theCPU }

// Reuses is how many graphs ran with the conversion of the graph before
// them (for tests and profiles).
func (b *backend) Reuses() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.reuses
}

func (b *backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pool != nil {
		C.ir_pool_free(b.pool)
		b.pool = nil
	}
	b.arena.free()
	b.work.free()
	b.ops.free()
	b.outputs = nil
	b.kept = kept{}
	return nil
}

// Read copies an F32 leaf or an output node of the last graph into dst.
func (b *backend) Read(t *compute.Tensor, dst []float32) error {
	if t == nil {
		return fmt.Errorf("cpu: Read: nil tensor")
	}
	if t.DType() != compute.F32 || int64(len(dst)) != t.Shape().Elements() {
		return fmt.Errorf("cpu: Read: %v into %d floats: want F32 and one float per element", t, len(dst))
	}
	out := unsafe.Slice((*byte)(unsafe.Pointer(&dst[0])), 4*len(dst))
	if root, off := t.Root(); root.Op() == compute.OpLeaf {
		buf, boff := root.Buffer()
		return buf.Read(boff+off, out)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := b.outputs[t]
	if !ok {
		return fmt.Errorf("cpu: Read: %v is not an output of the last computed graph (mark it with Graph.Output)", t)
	}
	copy(out, unsafe.Slice((*byte)(p), len(out)))
	return nil
}

// Compute validates g, lays out its nodes, fills the C op array and runs it
// in one call. A graph of the same structure as the last one (the next
// decode step) reuses all of that and only copies its input values in.
func (b *backend) Compute(g *compute.Graph) error {
	if g == nil {
		return fmt.Errorf("cpu: Compute: nil graph")
	}
	if err := g.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pool == nil {
		return fmt.Errorf("cpu: Compute on a closed backend")
	}
	b.outputs = nil
	b.next.Describe(g, bufferID)
	if b.kept.valid && b.kept.packing == packWeights && b.next.Equal(&b.kept.structure) {
		if done, err := b.rerun(g); done {
			return err
		}
	}
	b.kept.valid = false
	nops, work, reusable, err := b.convert(g)
	if err != nil || nops == 0 {
		return err
	}
	if err := b.run(g.Nodes(), nops); err != nil {
		return err
	}
	b.setOutputs(g.Nodes())
	if reusable {
		b.kept.structure, b.next = b.next, b.kept.structure
		b.kept.nops, b.kept.work, b.kept.packing, b.kept.valid = nops, work, packWeights, true
	}
	return nil
}

// kept is what Compute prepared for the last graph, by node index, for the
// next graph of the same structure: the arena, op array and work buffer
// stay as they were.
type kept struct {
	valid     bool
	packing   bool // packWeights when it was made (tests turn it off and on)
	structure compute.Structure
	nops      int
	work      int64    // scratch bytes the ops' parameters asked for
	inputs    []slot   // where each input node's values go
	refresh   []opNode // ops that read input values: their parameters are set again
	outputs   []slot
}

type slot struct {
	node int
	ptr  unsafe.Pointer
}

type opNode struct{ op, node int }

// bufferID names CPU buffers for compute.Structure (see buffer.id).
func bufferID(buf compute.Buffer) uint64 {
	if cb, ok := buf.(*buffer); ok {
		return cb.id.Load()
	}
	return 0
}

// rerun runs g with the conversion of the last graph, whose structure g
// has: only the input values, and what ops derive from them, are new. It
// leaves g to a fresh conversion (done false) where the new parameters ask
// for more scratch memory than the old.
func (b *backend) rerun(g *compute.Graph) (done bool, err error) {
	nodes := g.Nodes()
	ops := unsafe.Slice((*C.ir_op)(b.ops.ptr), b.kept.nops)
	for _, r := range b.kept.refresh {
		need, err := b.params(&ops[r.op], nodes[r.node])
		if err != nil || need > b.kept.work {
			b.kept.valid = false
			return err != nil, err
		}
	}
	for _, in := range b.kept.inputs {
		data := nodes[in.node].InputData()
		copy(unsafe.Slice((*byte)(in.ptr), len(data)), data)
	}
	if err := b.run(nodes, b.kept.nops); err != nil {
		b.kept.valid = false
		return true, err
	}
	b.setOutputs(nodes)
	b.reuses++
	return true, nil
}

// setOutputs makes the kept outputs, nodes of g, readable.
func (b *backend) setOutputs(nodes []*compute.Tensor) {
	b.outputs = make(map[*compute.Tensor]unsafe.Pointer, len(b.kept.outputs))
	for _, o := range b.kept.outputs {
		b.outputs[nodes[o.node]] = o.ptr
	}
}

// convert plans g's memory, copies its inputs in and fills the C op array;
// it returns the number of ops and whether the next graph of the same
// structure may run them again (not when converting made packed copies of
// weights: a GetRows before the product that packed its matrix would read
// the packed copy next time). What an op derives from input values must be
// set in params, which rerun calls again.
func (b *backend) convert(g *compute.Graph) (nops int, work int64, reusable bool, err error) {
	nodes := g.Nodes()
	plan := compute.NewPlan(g, 64)
	if err := b.arena.ensure(plan.Size + 64); err != nil {
		return 0, 0, false, err
	}
	ptrs := make([]unsafe.Pointer, len(nodes))
	// addr returns the address of t's first byte.
	addr := func(t *compute.Tensor) (unsafe.Pointer, error) {
		root, off := t.Root()
		if root.Op() != compute.OpLeaf {
			return unsafe.Add(ptrs[root.ID()], off), nil
		}
		buf, boff := root.Buffer()
		cb, ok := buf.(*buffer)
		if !ok {
			return nil, fmt.Errorf("cpu: %v lives in a %s buffer, not in CPU memory", t, buf.Device().Name())
		}
		return cb.pointer(boff+off, t.Bytes())
	}
	k := &b.kept
	k.inputs, k.refresh, k.outputs = k.inputs[:0], k.refresh[:0], k.outputs[:0]
	for i, n := range nodes {
		if plan.Offsets[i] >= 0 {
			ptrs[i] = unsafe.Add(b.arena.ptr, plan.Offsets[i])
		}
		if n.Op() == compute.OpInput {
			data := n.InputData()
			copy(unsafe.Slice((*byte)(ptrs[i]), len(data)), data)
			k.inputs = append(k.inputs, slot{i, ptrs[i]})
		}
	}
	for i, n := range nodes {
		if n.IsOutput() {
			p, err := addr(n)
			if err != nil {
				return 0, 0, false, err
			}
			k.outputs = append(k.outputs, slot{i, p})
		}
	}
	biased, err := fuseBiases(nodes, addr)
	if err != nil {
		return 0, 0, false, err
	}
	for _, n := range nodes {
		switch {
		case n.Op() == compute.OpConcat:
			nops += n.NumSrc() // one copy per part
		case isOp(n) && !biased.isFused(n):
			nops++
		}
	}
	if nops == 0 {
		b.setOutputs(nodes)
		return 0, 0, false, nil
	}
	if err := b.ops.ensure(int64(nops) * int64(unsafe.Sizeof(C.ir_op{}))); err != nil {
		return 0, 0, false, err
	}
	ops := unsafe.Slice((*C.ir_op)(b.ops.ptr), nops)
	at := 0
	reusable = true
	var quantized activations // what the work buffer holds
	var ropeWork int64        // rope tables, at the end of the work buffer
	for i, n := range nodes {
		if n.Op() == compute.OpConcat {
			if err := concatCopies(ops[at:at+n.NumSrc()], n, addr); err != nil {
				return 0, 0, false, err
			}
			at += n.NumSrc()
			quantized = activations{}
			continue
		}
		code := opCode[n.Op()]
		if code == 0 || biased.isFused(n) {
			continue
		}
		op := &ops[at]
		if readsInput(n) {
			k.refresh = append(k.refresh, opNode{at, i})
		}
		at++
		*op = C.ir_op{op: code, n_src: C.int32_t(n.NumSrc())}
		first := n.Src(0)
		if !theCPU.Supports(n.Op(), first.DType()) {
			return 0, 0, false, fmt.Errorf("cpu: %s of %v is not supported", n.Op(), first)
		}
		if err := fill(&op.dst, n, addr); err != nil {
			return 0, 0, false, err
		}
		for j := 0; j < n.NumSrc(); j++ {
			if err := fill(&op.src[j], n.Src(j), addr); err != nil {
				return 0, 0, false, err
			}
		}
		if add := biased.addOf(n); add != nil { // the product writes the sum's output
			op.n_src = 3
			if err := fill(&op.dst, add, addr); err != nil {
				return 0, 0, false, err
			}
			if err := fill(&op.src[2], add.Src(1), addr); err != nil {
				return 0, 0, false, err
			}
		}
		need, err := b.params(op, n)
		if err != nil {
			return 0, 0, false, err
		}
		work = max(work, need)
		if n.Op() == compute.OpRope {
			ropeWork = max(ropeWork, int64(b.threads)*int64(n.RopeParams().Dims)*4)
		}
		switch n.Op() {
		case compute.OpMulMat, compute.OpMulMatID:
			packed, made, err := usePacked(op, n)
			if err != nil {
				return 0, 0, false, err
			}
			reusable = reusable && !made
			// Consecutive products of one input (q, k, v; gate, up) quantize
			// it once; gate and up of experts share their input and ids, and
			// group and convert it once.
			a := activationsOf(n)
			a.packed = packed
			if a == quantized && (n.Op() == compute.OpMulMatID || a.vdt != compute.F32) {
				op.i[0] = 1
			}
			quantized = a
		case compute.OpAttention, compute.OpCopy:
			quantized = activations{} // they write the work buffer or leaves
		case compute.OpGetRows:
			if err := getPackedRows(op, n); err != nil {
				return 0, 0, false, err
			}
		}
	}
	if err := b.work.ensure(work + ropeWork + 64); err != nil {
		return 0, 0, false, err
	}
	return nops, work, reusable, nil
}

// readsInput reports whether an operand of n is (a view of) an input.
func readsInput(n *compute.Tensor) bool {
	for j := 0; j < n.NumSrc(); j++ {
		if root, _ := n.Src(j).Root(); root.Op() == compute.OpInput {
			return true
		}
	}
	return false
}

// run runs the first nops ops of the C op array, converted from nodes.
func (b *backend) run(nodes []*compute.Tensor, nops int) error {
	threads := b.threads
	if graphCost(nodes) < singleThreadCost {
		threads = 1
	}
	var msg [256]C.char
	// A goroutine that runs on one scheduling tick for 10 ms gets its P
	// taken by the Go runtime's monitor thread, which then polls every
	// 20 us for a millisecond: during decode (one graph of a few ms after
	// another) that was 5,000 wake-ups a second, each taking a core from a
	// compute thread while the other waited for it at a barrier. Yielding
	// once per graph starts a new tick, so the monitor stays asleep.
	runtime.Gosched()
	ops := (*C.ir_op)(b.ops.ptr)
	if rc := C.ir_compute(b.pool, C.int(threads), ops, C.int(nops), b.work.ptr, C.size_t(b.work.size), &msg[0], C.int(len(msg))); rc != 0 {
		return fmt.Errorf("cpu: compute: %s", C.GoString(&msg[0]))
	}
	return nil
}

// fill describes t to C.
func fill(ct *C.ir_tensor, t *compute.Tensor, addr func(*compute.Tensor) (unsafe.Pointer, error)) error {
	p, err := addr(t)
	if err != nil {
		return err
	}
	s := t.Shape()
	ct.data = p
	ct._type = C.int32_t(t.DType())
	for i := 0; i < 4; i++ {
		ct.ne[i] = C.int64_t(s[i])
	}
	return nil
}

// params sets the op's scalar parameters and returns the scratch bytes it
// needs.
func (b *backend) params(op *C.ir_op, n *compute.Tensor) (int64, error) {
	switch n.Op() {
	case compute.OpMulMat:
		w, x := n.Src(0), n.Src(1)
		vdt := int(kernelsOf(w.DType()).vdt)
		if vdt == int(compute.F32) {
			return 0, nil
		}
		size := int64(C.ir_work_size(C.int(vdt), C.int64_t(x.Shape()[0]), C.int64_t(x.Shape().Rows())))
		if size < 0 {
			return 0, fmt.Errorf("cpu: %v: row length %d is not a whole number of %s blocks", n, x.Shape()[0], compute.DType(vdt))
		}
		return size, nil
	case compute.OpMulMatID:
		w, ids := n.Src(0), n.Src(2)
		s := w.Shape()
		vdt := kernelsOf(w.DType()).vdt
		size := int64(C.ir_mul_mat_id_work(C.int(vdt), C.int64_t(s[0]), C.int64_t(ids.Shape().Elements()), C.int64_t(s[2]), C.int(b.threads)))
		if size < 0 {
			return 0, fmt.Errorf("cpu: %v: row length %d is not a whole number of %s blocks", n, s[0], vdt)
		}
		return size, nil
	case compute.OpExpertWeights:
		op.f[0] = C.float(n.Param())
	case compute.OpGetRows:
		if C.ir_row_size(C.int(n.Src(0).DType()), C.int64_t(n.Src(0).Shape()[0])) < 0 {
			return 0, fmt.Errorf("cpu: %v: bad row length", n)
		}
	case compute.OpScale, compute.OpRMSNorm, compute.OpSoftcap, compute.OpLayerNorm:
		op.f[0] = C.float(n.Param())
	case compute.OpRope:
		p := n.RopeParams()
		op.f[0], op.f[1] = C.float(p.Base), C.float(p.FreqScale)
		op.i[0], op.i[1] = C.int32_t(p.Mode), C.int32_t(p.Dims)
		// Cosines and sines of one token per thread, at the end of the work
		// buffer (see Compute).
		return 0, nil
	case compute.OpAttention:
		p := n.AttentionParams()
		op.f[0], op.f[1] = C.float(p.Scale), C.float(p.Softcap)
		op.i[0] = C.int32_t(p.Window)
		if p.NonCausal { // Graph.Attention checked the positions against the cache
			op.i[1] = C.int32_t(maxPosition(n.Src(5)) + 1)
		}
		q, capacity := n.Src(0).Shape(), int64(n.Src(3).Shape()[2])
		hd, group := int64(q[0]), int64(q[1]/n.Src(1).Shape()[1])
		perThread := int64(C.ir_attn_work_floats(C.int64_t(hd), C.int64_t(group), C.int64_t(capacity)))
		partials := int64(C.ir_attn_partial_floats(C.int64_t(hd), C.int64_t(q[1]), C.int64_t(capacity), C.int64_t(q[2])))
		return (int64(b.threads)*perThread + partials) * 4, nil
	}
	return 0, nil
}

// singleThreadCost is the estimated work (multiply-adds) below which a graph
// runs on the calling thread alone: waking workers and meeting at a barrier
// after every op would cost more than it saves (a decode step of a model
// with a few hundred thousand parameters). Tests set it to 0 so that their
// small graphs exercise the thread pool.
var singleThreadCost int64 = 4 << 20

// graphCost roughly estimates the multiply-adds of a graph.
func graphCost(nodes []*compute.Tensor) int64 {
	var cost int64
	for _, n := range nodes {
		switch n.Op() {
		case compute.OpMulMat:
			cost += n.Src(0).Shape().Elements() * n.Src(1).Shape().Rows()
		case compute.OpMulMatID: // each (token, slot) pair with one expert's matrix
			w := n.Src(0).Shape()
			cost += int64(w[0]) * int64(w[1]) * n.Src(2).Shape().Elements()
		case compute.OpAttention:
			q := n.Src(0).Shape()
			cost += 2 * q.Elements() * int64(maxPosition(n.Src(5))+1)
		case compute.OpInput, compute.OpView, compute.OpLeaf:
		default:
			cost += n.Shape().Elements()
		}
	}
	return cost
}

// maxPosition is the largest value of an Int32s input.
func maxPosition(pos *compute.Tensor) int32 {
	data := pos.InputData()
	m := int32(0)
	for i := 0; i+4 <= len(data); i += 4 {
		m = max(m, int32(binary.LittleEndian.Uint32(data[i:])))
	}
	return m
}

// biasFusion pairs products with the Add of a bias that follows them; both
// are indexed by node ID.
type biasFusion struct {
	add   []*compute.Tensor // product -> its Add
	fused []bool            // Adds done by their product
}

func (f biasFusion) addOf(n *compute.Tensor) *compute.Tensor {
	if f.add == nil {
		return nil
	}
	return f.add[n.ID()]
}

func (f biasFusion) isFused(n *compute.Tensor) bool { return f.fused != nil && f.fused[n.ID()] }

// fuseBiases finds each MulMat whose only use is the next op, an Add of
// a one-row F32 bias with one float per output row (Qwen2's q, k and v),
// so that the product adds the bias itself. A product that reads float
// activations while it writes must not write over them: the Add's output
// may take the bytes of the product's input, which die at the product.
func fuseBiases(nodes []*compute.Tensor, addr func(*compute.Tensor) (unsafe.Pointer, error)) (biasFusion, error) {
	f := biasFusion{}
	uses := make([]int32, len(nodes))
	for _, n := range nodes {
		for j := 0; j < n.NumSrc(); j++ {
			if root, _ := n.Src(j).Root(); root.ID() >= 0 {
				uses[root.ID()]++
			}
		}
	}
	for i, n := range nodes {
		if n.Op() != compute.OpMulMat || uses[i] != 1 || n.IsOutput() {
			continue
		}
		j := i + 1 // the next op: inputs and views may come between
		for j < len(nodes) && !isOp(nodes[j]) {
			j++
		}
		if j == len(nodes) || nodes[j].Op() != compute.OpAdd || nodes[j].Src(0) != n {
			continue
		}
		add := nodes[j]
		bias, s := add.Src(1), n.Shape()
		if bias.DType() != compute.F32 || bias.Shape().Rows() != 1 || bias.Shape()[0] != s[0] {
			continue
		}
		if kernelsOf(n.Src(0).DType()).vdt == compute.F32 {
			out, err := addr(add)
			if err != nil {
				return f, err
			}
			in, err := addr(n.Src(1))
			if err != nil {
				return f, err
			}
			if overlap(out, add.Bytes(), in, n.Src(1).Bytes()) {
				continue
			}
		}
		if f.add == nil {
			f.add, f.fused = make([]*compute.Tensor, len(nodes)), make([]bool, len(nodes))
		}
		f.add[i], f.fused[j] = add, true
	}
	return f, nil
}

// isOp reports whether n is computed by an op (not an input, leaf or view).
func isOp(n *compute.Tensor) bool { return opCode[n.Op()] != 0 }

// overlap reports whether [a, a+na) and [b, b+nb) share a byte.
func overlap(a unsafe.Pointer, na int64, b unsafe.Pointer, nb int64) bool {
	return uintptr(a) < uintptr(b)+uintptr(nb) && uintptr(b) < uintptr(a)+uintptr(na)
}

// activations identifies the quantized input of a MulMat or MulMatID: the
// bytes it was made from (a root tensor and an offset, never reused within
// a graph while alive), the type it was converted to and, for MulMatID, the
// ids that ordered its rows.
type activations struct {
	root   *compute.Tensor
	off    int64
	shape  compute.Shape
	vdt    compute.DType
	packed bool // laid out for packed weights' kernels
	ids    *compute.Tensor
	idsOff int64
}

func activationsOf(n *compute.Tensor) activations {
	x := n.Src(1)
	root, off := x.Root()
	a := activations{root: root, off: off, shape: x.Shape(), vdt: kernelsOf(n.Src(0).DType()).vdt}
	if n.Op() == compute.OpMulMatID {
		a.ids, a.idsOff = n.Src(2).Root()
	}
	return a
}

// usePacked points op's weights at their packed copy where the weights are
// a leaf in CPU memory of a type with a packed kernel: a matrix (MulMat) or
// a stack of experts (MulMatID). made reports that the copy was made now.
func usePacked(op *C.ir_op, n *compute.Tensor) (packed, made bool, err error) {
	cb, key, ok := packable(n.Src(0))
	if !ok {
		return false, false, nil
	}
	if n.Op() == compute.OpMulMatID {
		s := n.Src(0).Shape()
		key.m, key.n = int64(s[1]), int64(s[2])
	}
	before := cb.packCount()
	p, ok, err := cb.packedOf(key.off, key.typ, key.k, key.m, key.n)
	if err != nil || !ok {
		return false, false, err
	}
	op.src[0].data = p
	op.i[1] = 1
	return true, cb.packCount() > before, nil
}

// packCount is the number of packed copies b holds.
func (b *buffer) packCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.packs)
}

// getPackedRows points a GetRows at the packed copy of its matrix where a
// product made one (a tied embedding): the file's pages of the matrix were
// given back, and reading them would bring them back.
func getPackedRows(op *C.ir_op, n *compute.Tensor) error {
	cb, key, ok := packable(n.Src(0))
	if !ok || !packWeights || !hasPacked(key.typ) {
		return nil
	}
	cb.mu.Lock()
	defer cb.mu.Unlock()
	if cb.ptr == nil {
		return fmt.Errorf("cpu: buffer used after Free")
	}
	if p := cb.packOf(key); p != nil {
		op.src[0].data = p
		op.i[1] = 1
	}
	return nil
}

// packable returns the CPU buffer of weights w and the key of w as one
// matrix, or ok false where w is not a leaf in CPU memory.
func packable(w *compute.Tensor) (cb *buffer, key packKey, ok bool) {
	root, off := w.Root()
	if root.Op() != compute.OpLeaf {
		return nil, key, false
	}
	buf, boff := root.Buffer()
	cb, ok = buf.(*buffer)
	if !ok {
		return nil, key, false
	}
	s := w.Shape()
	return cb, packKey{off: boff + off, typ: w.DType(), k: int64(s[0]), m: s.Rows(), n: 1}, true
}
