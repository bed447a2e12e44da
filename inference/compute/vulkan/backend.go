package vulkan

/*
#include <stdlib.h>
#include "ir_vk.h"
*/
import "C"

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync"
	"unsafe"

	"inferenceruntime/inference/compute"
)

// backend runs graphs on one device: a command buffer of its own, an arena
// for the graph's nodes and a host-visible buffer through which inputs go
// in and outputs come back.
type backend struct {
	dev    *device
	mu     sync.Mutex
	stream *C.ir_vk_stream

	arena     *C.ir_vk_buf
	arenaSize int64
	io        *C.ir_vk_buf
	ioSize    int64
	ioMem     []byte

	outputs map[*compute.Tensor]int64 // output node -> its bytes in io
	cmds    []C.ir_vk_cmd
}

func (b *backend) Device() compute.Device { return b.dev }

func (b *backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	d := b.dev
	d.mu.Lock()
	defer d.mu.Unlock()
	if b.stream != nil {
		C.ir_vk_stream_free(d.ctx, b.stream)
		b.stream = nil
	}
	C.ir_vk_buf_free(d.ctx, b.arena)
	C.ir_vk_buf_free(d.ctx, b.io)
	b.arena, b.io, b.ioMem, b.arenaSize, b.ioSize = nil, nil, nil, 0, 0
	b.outputs = nil
	return nil
}

// Read copies an F32 leaf or an output node of the last graph into dst.
func (b *backend) Read(t *compute.Tensor, dst []float32) error {
	out, done, err := compute.ReadLeaf(t, dst)
	if done || err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	off, ok := b.outputs[t]
	if !ok {
		return fmt.Errorf("vulkan: Read: %v is not an output of the last computed graph (mark it with Graph.Output)", t)
	}
	copy(out, b.ioMem[off:])
	return nil
}

// ensure grows one of the backend's buffers to at least size bytes. The
// caller holds b.dev.mu.
func (b *backend) ensure(buf **C.ir_vk_buf, have *int64, size int64, host bool) error {
	if size <= *have {
		return nil
	}
	size = max((size+4095)&^4095, 1<<16)
	C.ir_vk_buf_free(b.dev.ctx, *buf)
	*buf, *have = nil, 0
	var msg [256]C.char
	h := C.int(0)
	if host {
		h = 1
	}
	nb := C.ir_vk_buf_new(b.dev.ctx, C.uint64_t(size), h, &msg[0], C.int(len(msg)))
	if nb == nil {
		return fmt.Errorf("vulkan: %s: %d bytes of graph memory: %s", b.dev.name, size, C.GoString(&msg[0]))
	}
	*buf, *have = nb, size
	return nil
}

// Compute records every op of g into one command buffer, submits it once
// and waits.
func (b *backend) Compute(g *compute.Graph) error {
	if g == nil {
		return fmt.Errorf("vulkan: Compute: nil graph")
	}
	if err := g.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stream == nil {
		return fmt.Errorf("vulkan: Compute on a closed backend")
	}
	b.outputs = nil
	d := b.dev
	d.mu.Lock()
	defer d.mu.Unlock()

	nodes := g.Nodes()
	plan := compute.NewPlan(g, 64)
	// io holds the inputs, then the outputs.
	ioOff := make([]int64, len(nodes))
	var ioSize int64
	for i, n := range nodes {
		if n.Op() == compute.OpInput {
			ioOff[i] = ioSize
			ioSize += (int64(len(n.InputData())) + 15) &^ 15
		}
	}
	outputs := map[*compute.Tensor]int64{}
	for _, n := range nodes {
		if root, _ := n.Root(); n.IsOutput() && root.Op() != compute.OpLeaf {
			outputs[n] = ioSize
			ioSize += (n.Bytes() + 15) &^ 15
		}
	}
	if err := b.ensure(&b.arena, &b.arenaSize, plan.Size+16, false); err != nil {
		return err
	}
	if err := b.ensure(&b.io, &b.ioSize, ioSize+16, true); err != nil {
		return err
	}
	b.ioMem = unsafe.Slice((*byte)(C.ir_vk_buf_map(b.io)), b.ioSize)

	r := recorder{b: b, plan: plan, cmds: b.cmds[:0]}
	for i, n := range nodes {
		if n.Op() == compute.OpInput {
			data := n.InputData()
			copy(b.ioMem[ioOff[i]:], data)
			r.copy(b.io, ioOff[i], b.arena, plan.Offsets[i], int64(len(data)))
		}
	}
	for _, n := range nodes {
		if err := r.node(n); err != nil {
			return err
		}
	}
	for n, off := range outputs {
		ref, err := r.locate(n)
		if err != nil {
			return err
		}
		r.copy(ref.buf, ref.off, b.io, off, n.Bytes())
	}
	b.cmds = r.cmds
	if len(r.cmds) > 0 {
		var msg [512]C.char
		if rc := C.ir_vk_run(d.ctx, b.stream, &r.cmds[0], C.int(len(r.cmds)), &msg[0], C.int(len(msg))); rc != 0 {
			return fmt.Errorf("vulkan: %s: %s", d.name, C.GoString(&msg[0]))
		}
	}
	b.outputs = outputs
	return nil
}

// recorder turns graph nodes into commands.
type recorder struct {
	b    *backend
	plan compute.Plan
	cmds []C.ir_vk_cmd
	// The bytes read and written since the last barrier: a command that
	// touches them in a conflicting way needs a barrier first, others run
	// alongside (q, k and v products; gate and up).
	read, written []span
}

// span is a byte range of a buffer.
type span struct {
	buf    *C.ir_vk_buf
	lo, hi int64
}

func overlapsAny(list []span, s span) bool {
	for _, o := range list {
		if o.buf == s.buf && o.lo < s.hi && s.lo < o.hi {
			return true
		}
	}
	return false
}

// order adds a barrier when the reads rs or the writes ws conflict with
// what ran since the last barrier, then records them.
func (r *recorder) order(rs, ws []span) {
	need := false
	for _, s := range rs {
		need = need || overlapsAny(r.written, s)
	}
	for _, s := range ws {
		need = need || overlapsAny(r.written, s) || overlapsAny(r.read, s)
	}
	if need {
		r.barrier()
	}
	r.read = append(r.read, rs...)
	r.written = append(r.written, ws...)
}

// place is where a tensor's bytes are: a buffer, its allocated size and the
// byte offset.
type place struct {
	buf  *C.ir_vk_buf
	size int64
	off  int64
}

func (r *recorder) locate(t *compute.Tensor) (place, error) {
	root, off := t.Root()
	if root.Op() != compute.OpLeaf {
		return place{r.b.arena, r.b.arenaSize, r.plan.Offsets[root.ID()] + off}, nil
	}
	buf, boff := root.Buffer()
	vb, ok := buf.(*buffer)
	if !ok || vb.dev != r.b.dev {
		return place{}, fmt.Errorf("vulkan: %v lives in memory of %s, not of %s", t, buf.Device().Name(), r.b.dev.name)
	}
	if vb.b == nil {
		return place{}, fmt.Errorf("vulkan: %v: its buffer was freed", t)
	}
	return place{vb.b, vb.alloc, boff + off}, nil
}

func (r *recorder) copy(src *C.ir_vk_buf, soff int64, dst *C.ir_vk_buf, doff int64, size int64) {
	r.order([]span{{src, soff, soff + size}}, []span{{dst, doff, doff + size}})
	var c C.ir_vk_cmd
	c.kind = 2
	c.bufs[0], c.bufs[1] = src, dst
	c.offs[0], c.offs[1] = C.uint64_t(soff), C.uint64_t(doff)
	c.ranges[0] = C.uint64_t(size)
	r.cmds = append(r.cmds, c)
}

// barrier orders everything recorded so far before what follows; a second
// barrier in a row would add nothing.
func (r *recorder) barrier() {
	r.read, r.written = r.read[:0], r.written[:0]
	if n := len(r.cmds); n == 0 || r.cmds[n-1].kind == 1 {
		return
	}
	r.cmds = append(r.cmds, C.ir_vk_cmd{kind: 1})
}

// dispatch is one shader run being filled in: the command, the bytes of
// each binding, and which bindings it writes.
type dispatch struct {
	c     C.ir_vk_cmd
	spans [C.IR_VK_BINDINGS]span
	w     [C.IR_VK_BINDINGS]bool
	err   error
}

// writes marks the bindings the shader writes.
func (dp *dispatch) writes(slots ...int) {
	for _, s := range slots {
		dp.w[s] = true
	}
}

// bind puts tensor t in binding slot; word says that the shader indexes it
// as 32-bit words, so its offset must be a multiple of 4.
func (r *recorder) bind(dp *dispatch, slot int, t *compute.Tensor, word bool) {
	if dp.err != nil {
		return
	}
	p, err := r.locate(t)
	if err != nil {
		dp.err = err
		return
	}
	info := &r.b.dev.info
	align := int64(max(info.min_align, 4))
	base := p.off / align * align
	rem := p.off - base
	if word && rem%4 != 0 {
		dp.err = fmt.Errorf("vulkan: %v starts at byte %d, not on a 4-byte boundary", t, p.off)
		return
	}
	rng := p.size - base
	if maxRange := int64(info.max_range) &^ 3; rng > maxRange {
		rng = maxRange
		if rem+t.Bytes() > rng {
			dp.err = fmt.Errorf("vulkan: %v is larger than the device's storage buffer range (%d bytes)", t, maxRange)
			return
		}
	}
	dp.c.bufs[slot] = p.buf
	dp.c.offs[slot] = C.uint64_t(base)
	dp.c.ranges[slot] = C.uint64_t(rng)
	dp.c.push[slot] = C.uint32_t(rem)
	dp.spans[slot] = span{p.buf, p.off, p.off + t.Bytes()}
}

// bindAll binds word-indexed tensors to the slots 0, 1, ... in order.
func (r *recorder) bindAll(dp *dispatch, ts ...*compute.Tensor) {
	for i, t := range ts {
		r.bind(dp, i, t, true)
	}
}

func (dp *dispatch) ne(i int, v int64)  { dp.c.push[6+i] = C.uint32_t(int32(v)) }
func (dp *dispatch) f(i int, v float32) { dp.c.push[18+i] = C.uint32_t(math.Float32bits(v)) }
func (dp *dispatch) i(i int, v int64)   { dp.c.push[22+i] = C.uint32_t(int32(v)) }

// groups lays n workgroups over x and z (y = ny), since one dimension is
// limited to 65535 on many devices.
func (dp *dispatch) groups(n int64, ny int64) {
	if dp.err != nil {
		return
	}
	n = max(n, 1)
	gx := min(n, 65535)
	gz := (n + gx - 1) / gx
	if gz > 65535 || ny > 65535 {
		dp.err = fmt.Errorf("vulkan: %d x %d workgroups is too many", n, ny)
		return
	}
	dp.c.groups = [3]C.uint32_t{C.uint32_t(gx), C.uint32_t(max(ny, 1)), C.uint32_t(gz)}
}

// emit appends the dispatch after a barrier, with unused bindings pointed at
// the arena (every binding of the layout must hold a buffer).
func (r *recorder) emit(shader string, dp *dispatch) error {
	if dp.err != nil {
		return dp.err
	}
	p, err := r.b.dev.pipeline(shader)
	if err != nil {
		return err
	}
	dp.c.kind, dp.c.pipeline = 0, p
	for s := range dp.c.bufs {
		if dp.c.bufs[s] == nil {
			dp.c.bufs[s] = r.b.arena
			dp.c.ranges[s] = C.uint64_t(min(r.b.arenaSize, int64(r.b.dev.info.max_range)&^3))
		}
	}
	var rs, ws []span
	for s, sp := range dp.spans {
		switch {
		case sp.buf == nil:
		case dp.w[s]:
			ws = append(ws, sp)
		default:
			rs = append(rs, sp)
		}
	}
	if len(ws) == 0 {
		return fmt.Errorf("vulkan: shader %s writes nothing", shader)
	}
	r.order(rs, ws)
	r.cmds = append(r.cmds, dp.c)
	return nil
}

// elementwise op codes of elementwise.comp.
var elementwiseModes = map[compute.Op]int64{
	compute.OpAdd: 0, compute.OpMul: 1, compute.OpScale: 2, compute.OpSoftcap: 3,
	compute.OpSwiGLU: 4, compute.OpGeGLU: 5, compute.OpGELU: 6,
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

// node records the commands of one graph node.
func (r *recorder) node(n *compute.Tensor) error {
	op := n.Op()
	switch op {
	case compute.OpLeaf, compute.OpInput, compute.OpView:
		return nil
	}
	first := n.Src(0)
	if !r.b.dev.Supports(op, first.DType()) {
		return fmt.Errorf("vulkan: %s of %v is not supported", op, first)
	}
	var dp dispatch
	switch op {
	case compute.OpGetRows:
		w, ids := n.Src(0), n.Src(1)
		k, rows := int64(w.Shape()[0]), ids.Shape().Elements()
		rowBytes, err := w.DType().RowSize(k)
		if err != nil {
			return fmt.Errorf("vulkan: %v: %w", n, err)
		}
		r.bind(&dp, 0, w, w.DType() == compute.F32)
		r.bind(&dp, 1, ids, true)
		r.bind(&dp, 2, n, true)
		dp.ne(0, k)
		dp.ne(1, rows)
		dp.i(0, rowBytes)
		per := k
		if w.DType().BlockSize() > 1 {
			per = k / 32
		}
		dp.groups(ceilDiv(per*rows, 64), 1)
		dp.writes(2)
		return r.emit("get_rows_"+weightTypes[w.DType()], &dp)
	case compute.OpMulMat, compute.OpMulMatID:
		return r.product(n)
	case compute.OpTopK, compute.OpExpertWeights:
		ne, k, tokens := int64(first.Shape()[0]), int64(n.Shape()[0]), int64(n.Shape()[1])
		if op == compute.OpTopK {
			r.bindAll(&dp, first, n)
		} else {
			r.bindAll(&dp, first, n.Src(1), n)
			dp.i(0, 1)
			dp.f(0, n.Param())
		}
		dp.ne(0, ne)
		dp.ne(1, k)
		dp.ne(2, tokens)
		dp.writes(n.NumSrc())
		dp.groups(ceilDiv(tokens, 64), 1)
		return r.emit("experts", &dp)
	case compute.OpWeightedSum:
		a := first.Shape()
		r.bindAll(&dp, first, n.Src(1), n)
		dp.ne(0, n.Shape().Elements())
		dp.ne(1, int64(a[0]))
		dp.ne(2, int64(a[1]))
		dp.i(0, 7)
		dp.groups(ceilDiv(n.Shape().Elements(), 256), 1)
		dp.writes(2)
		return r.emit("elementwise", &dp)
	case compute.OpConcat:
		dst, err := r.locate(n)
		if err != nil {
			return err
		}
		off := dst.off
		for j := 0; j < n.NumSrc(); j++ {
			src, err := r.locate(n.Src(j))
			if err != nil {
				return err
			}
			r.copy(src.buf, src.off, dst.buf, off, n.Src(j).Bytes())
			off += n.Src(j).Bytes()
		}
		return nil
	case compute.OpAdd, compute.OpMul, compute.OpScale, compute.OpSoftcap, compute.OpSwiGLU, compute.OpGeGLU, compute.OpGELU:
		a := n.Src(0)
		bsrc := a
		if n.NumSrc() > 1 {
			bsrc = n.Src(1)
		}
		r.bindAll(&dp, a, bsrc, n)
		elems := n.Shape().Elements()
		dp.ne(0, elems)
		dp.ne(1, int64(a.Shape()[0]))
		dp.i(0, elementwiseModes[op])
		if bsrc.Shape().Elements() != elems {
			dp.i(1, 1)
		}
		dp.f(0, n.Param())
		dp.groups(ceilDiv(elems, 256), 1)
		dp.writes(2)
		return r.emit("elementwise", &dp)
	case compute.OpRMSNorm, compute.OpLayerNorm:
		r.bindAll(&dp, first, n)
		dp.ne(0, int64(first.Shape()[0]))
		dp.f(0, n.Param())
		if op == compute.OpLayerNorm {
			dp.i(0, 1)
		}
		dp.groups(first.Shape().Rows(), 1)
		dp.writes(1)
		return r.emit("norm", &dp)
	case compute.OpSoftmax:
		r.bindAll(&dp, first, n)
		dp.ne(0, int64(first.Shape()[0]))
		dp.groups(first.Shape().Rows(), 1)
		dp.writes(1)
		return r.emit("softmax", &dp)
	case compute.OpRope:
		p := n.RopeParams()
		s := first.Shape()
		r.bind(&dp, 0, first, true)
		r.bind(&dp, 1, n.Src(1), true)
		if p.Factors != nil {
			r.bind(&dp, 2, p.Factors, true)
			dp.i(2, 1)
		}
		r.bind(&dp, 3, n, true)
		dp.ne(0, int64(s[0]))
		dp.ne(1, int64(s[1]))
		dp.ne(2, int64(s[2]))
		dp.f(0, p.Base)
		dp.f(1, p.FreqScale)
		dp.i(0, int64(p.Mode))
		dp.i(1, int64(p.Dims))
		dp.groups(ceilDiv(s.Elements(), 256), 1)
		dp.writes(3)
		return r.emit("rope", &dp)
	case compute.OpAttention:
		return r.attention(n)
	case compute.OpCopy:
		dst, src := n.Src(0), n.Src(1)
		elems := src.Shape().Elements()
		if dst.DType() == compute.F16 && elems%2 != 0 {
			return fmt.Errorf("vulkan: %v: an odd number of values into F16 is not supported", n)
		}
		r.bindAll(&dp, src, dst)
		dp.ne(0, elems)
		if src.DType() == compute.F16 {
			dp.i(0, 1)
		}
		if dst.DType() == compute.F16 {
			dp.i(1, 1)
		}
		dp.groups(ceilDiv(ceilDiv(elems, 2), 256), 1)
		dp.writes(1)
		return r.emit("copy", &dp)
	}
	return fmt.Errorf("vulkan: %s is not supported", op)
}

// mmMinCols is the batch from which products use the tiled matrix-matrix
// shader: below it the weights are read once for every 4 tokens anyway.
const mmMinCols = 8

// product records MulMat, or MulMatID whose columns are (slot, token)
// pairs, each with its expert's matrix.
func (r *recorder) product(n *compute.Tensor) error {
	var dp dispatch
	w, x := n.Src(0), n.Src(1)
	ws := w.Shape()
	k, m, cols := int64(ws[0]), w.Shape().Rows(), x.Shape().Rows()
	rowBytes, err := w.DType().RowSize(k)
	if err != nil {
		return fmt.Errorf("vulkan: %v: %w", n, err)
	}
	shader, perGroup := "mul_mat_", int64(4) // columns per workgroup: mul_mat.comp's NC
	r.bind(&dp, 0, w, w.DType() == compute.F32)
	r.bind(&dp, 1, x, true)
	r.bind(&dp, 2, n, true)
	if n.Op() == compute.OpMulMatID {
		ids := n.Src(2)
		slots := int64(ids.Shape()[0])
		m, cols, perGroup, shader = int64(ws[1]), ids.Shape().Elements(), 1, "mul_mat_id_"
		if rowBytes*m > math.MaxInt32 {
			return fmt.Errorf("vulkan: %v: an expert of over 2 GiB", n)
		}
		r.bind(&dp, 3, ids, true)
		dp.ne(3, int64(ws[2]))
		dp.ne(4, slots)
		dp.i(1, rowBytes*m)
		if x.Shape().Rows() != cols { // one row per token, shared by its slots
			dp.i(2, 1)
		}
	}
	dp.ne(0, k)
	dp.ne(1, m)
	dp.ne(2, cols)
	dp.i(0, rowBytes)
	dp.writes(2)
	if n.Op() == compute.OpMulMat && cols >= mmMinCols {
		dp.groups(ceilDiv(m, 64), ceilDiv(cols, 64)) // mul_mm.comp's TM and TN
		return r.emit("mul_mm_"+weightTypes[w.DType()], &dp)
	}
	groups := m
	if r.b.dev.subgroups() {
		shader += "sg_"
		groups = ceilDiv(m, 8) // mul_mat.comp's ROWS
	}
	dp.groups(groups, ceilDiv(cols, perGroup))
	return r.emit(shader+weightTypes[w.DType()], &dp)
}

// maxHeadDim is attention.comp's MAX_HD.
const maxHeadDim = 256

// attention writes k and v into the caches, then attends.
func (r *recorder) attention(n *compute.Tensor) error {
	q, k, v, kc, vc, pos := n.Src(0), n.Src(1), n.Src(2), n.Src(3), n.Src(4), n.Src(5)
	qs := q.Shape()
	hd, nh, nt, nkv := int64(qs[0]), int64(qs[1]), int64(qs[2]), int64(k.Shape()[1])
	if hd > maxHeadDim {
		return fmt.Errorf("vulkan: %v: head size %d is over %d", n, hd, maxHeadDim)
	}
	if hd*nkv%2 != 0 {
		return fmt.Errorf("vulkan: %v: an odd number of kv values per token is not supported", n)
	}
	if !r.b.dev.Supports(compute.OpAttention, kc.DType()) || !r.b.dev.Supports(compute.OpAttention, vc.DType()) {
		return fmt.Errorf("vulkan: %v: a %s KV cache is not supported (f32 or f16)", n, kc.DType())
	}
	p := n.AttentionParams()
	f16 := func(t *compute.Tensor) int64 {
		if t.DType() == compute.F16 {
			return 1
		}
		return 0
	}
	var w dispatch
	r.bindAll(&w, k, v, kc, vc, pos)
	w.ne(0, hd*nkv)
	w.ne(1, nt)
	w.i(0, f16(kc))
	w.i(1, f16(vc))
	w.i(2, int64(p.BlockSize)) // paged: pos goes on with the block table
	w.groups(ceilDiv(hd*nkv*nt/2, 256), 1)
	w.writes(2, 3)
	if err := r.emit("kv_write", &w); err != nil {
		return err
	}
	var a dispatch
	r.bindAll(&a, q, kc, vc, pos, n)
	a.ne(0, hd)
	a.ne(1, nh)
	a.ne(2, nt)
	a.ne(3, nkv)
	a.f(0, p.Scale)
	a.f(1, p.Softcap)
	a.i(0, int64(p.Window))
	a.i(1, -1)
	if p.NonCausal {
		a.i(1, int64(maxPosition(pos)))
	}
	a.i(2, f16(kc))
	a.i(3, f16(vc))
	a.i(4, int64(p.BlockSize))
	a.groups(nh*nt, 1)
	a.writes(4)
	return r.emit("attention", &a)
}

// maxPosition is the largest value of an Int32s input.
func maxPosition(pos *compute.Tensor) int32 {
	root, off := pos.Root()
	data := root.InputData()[off:]
	m := int32(0)
	for i := 0; i+4 <= len(data) && i < 4*int(pos.Shape().Elements()); i += 4 {
		m = max(m, int32(binary.LittleEndian.Uint32(data[i:])))
	}
	return m
}
