package compute

import (
	"fmt"
	"strings"
	"sync"
	"unsafe"
)

// Layered is implemented by a device that spreads a model's layers over
// other devices (Split). Code that places weights and caches asks it where
// each layer goes; everything that belongs to no layer goes where the
// device itself allocates.
type Layered interface {
	// LayerDevice is the device of layer l's weights and KV cache.
	LayerDevice(l int) Device
}

// Split is a device made of several: each layer of a model lives on one of
// them, weights and KV cache together, and the rest (token embedding,
// output head, graph inputs) on the host device. Its backends run a graph
// whose leaves live on several devices by cutting it into runs of
// consecutive nodes that run on one device, and carrying the activations
// that cross a cut from one device to the next. A graph whose leaves all
// live on one device runs there as it is, with no copy.
//
// Where a node runs: a product, a row lookup or an expert product runs
// where its weight is, attention and Copy where their cache is, Add and Mul
// where their leaf operand (a bias, a norm weight) is, and every other node
// where its first computed operand ran. A leaf read on another device than
// its own (a model-wide vector such as RoPE frequency factors) is copied to
// that device once and kept until Close.
type Split struct {
	host   Device
	layers []Device

	mu      sync.Mutex
	mirrors map[mirrorKey]*Tensor
	bufs    []Buffer
}

type mirrorKey struct {
	buf Buffer
	off int64
	dt  DType
	s   Shape
	dev Device
}

// NewSplit returns a device that places layer l on layers[l] and the rest
// on host.
func NewSplit(host Device, layers []Device) (*Split, error) {
	if host == nil {
		return nil, fmt.Errorf("compute: NewSplit: no host device")
	}
	for l, d := range layers {
		if d == nil {
			return nil, fmt.Errorf("compute: NewSplit: no device for layer %d", l)
		}
	}
	return &Split{host: host, layers: layers, mirrors: map[mirrorKey]*Tensor{}}, nil
}

// LayerDevice returns the device of layer l; the host for a layer it was
// not given.
func (s *Split) LayerDevice(l int) Device {
	if l < 0 || l >= len(s.layers) {
		return s.host
	}
	return s.layers[l]
}

// Devices returns the distinct devices, the host first.
func (s *Split) Devices() []Device {
	out := []Device{s.host}
	for _, d := range s.layers {
		seen := false
		for _, o := range out {
			seen = seen || o == d
		}
		if !seen {
			out = append(out, d)
		}
	}
	return out
}

// Layers counts the layers placed on d.
func (s *Split) Layers(d Device) int {
	n := 0
	for _, l := range s.layers {
		if l == d {
			n++
		}
	}
	return n
}

// Name joins the devices' names, the host last: "vulkan0+cpu".
func (s *Split) Name() string {
	devs := s.Devices()
	names := make([]string, 0, len(devs))
	for _, d := range devs[1:] {
		names = append(names, d.Name())
	}
	return strings.Join(append(names, s.host.Name()), "+")
}

// Description says how many layers each device holds.
func (s *Split) Description() string {
	var parts []string
	for _, d := range s.Devices() {
		parts = append(parts, fmt.Sprintf("%d of %d layers on %s", s.Layers(d), len(s.layers), d.Name()))
	}
	return strings.Join(parts, ", ")
}

// Type is DeviceGPU when any of the devices is a GPU.
func (s *Split) Type() DeviceType {
	for _, d := range s.Devices() {
		if d.Type() == DeviceGPU {
			return DeviceGPU
		}
	}
	return s.host.Type()
}

// Memory reports the memory of the first device besides the host: the one
// whose room decided how many layers it holds.
func (s *Split) Memory() (free, total int64) {
	if devs := s.Devices(); len(devs) > 1 {
		return devs[1].Memory()
	}
	return s.host.Memory()
}

// Alloc allocates on the host.
func (s *Split) Alloc(size int64) (Buffer, error) { return s.host.Alloc(size) }

// WrapHost wraps on the host.
func (s *Split) WrapHost(data []byte) (Buffer, error) { return s.host.WrapHost(data) }

// Supports reports whether every device supports op on dt, since a layer's
// op may run on any of them.
func (s *Split) Supports(op Op, dt DType) bool {
	for _, d := range s.Devices() {
		if !d.Supports(op, dt) {
			return false
		}
	}
	return true
}

// NewBackend opens a backend that opens one on each device as graphs need
// them.
func (s *Split) NewBackend(opts Options) (Backend, error) {
	return &splitBackend{s: s, opts: opts, backends: map[Device]Backend{}}, nil
}

// Close frees the copies of leaves made for other devices. Backends of the
// device must be closed first.
func (s *Split) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.bufs {
		b.Free()
	}
	s.bufs, s.mirrors = nil, map[mirrorKey]*Tensor{}
	return nil
}

// mirror returns leaf t copied into dev's memory, copying it on first use.
func (s *Split) mirror(t *Tensor, dev Device) (*Tensor, error) {
	buf, off := t.Buffer()
	key := mirrorKey{buf, off, t.dtype, t.shape, dev}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.mirrors[key]; ok {
		return m, nil
	}
	raw := make([]byte, t.Bytes())
	if err := buf.Read(off, raw); err != nil {
		return nil, fmt.Errorf("compute: copying %v to %s: %w", t, dev.Name(), err)
	}
	nb, err := dev.Alloc(int64(len(raw)))
	if err != nil {
		return nil, fmt.Errorf("compute: copying %v to %s: %w", t, dev.Name(), err)
	}
	if err := nb.Write(0, raw); err != nil {
		nb.Free()
		return nil, fmt.Errorf("compute: copying %v to %s: %w", t, dev.Name(), err)
	}
	m, err := NewTensor(nb, 0, t.dtype, t.shape)
	if err != nil {
		nb.Free()
		return nil, err
	}
	s.bufs = append(s.bufs, nb)
	s.mirrors[key] = m.SetName(t.name)
	return m, nil
}

// splitBackend runs graphs on a Split, one backend per device.
type splitBackend struct {
	s        *Split
	opts     Options
	backends map[Device]Backend

	// Of the last graph: the backend that ran it whole, or its parts.
	whole Backend
	parts []*part
	where map[*Tensor]*part     // node of the graph -> the part that computed it
	kept  map[*Tensor][]float32 // outputs whose backend ran a later part
}

// part is a run of nodes on one device, rebuilt as a graph of its own.
type part struct {
	dev    Device
	g      *Graph
	clones map[*Tensor]*Tensor // node of the whole graph -> its clone here
	free   map[*Tensor]*Tensor // input, or view of a leaf or input, cloned here
	in     map[*Tensor]*Tensor // node of an earlier part -> the input carrying it
	// out are the nodes whose values later parts read.
	out []*Tensor
	be  Backend
}

func (b *splitBackend) Device() Device { return b.s }

func (b *splitBackend) backend(d Device) (Backend, error) {
	if be, ok := b.backends[d]; ok {
		return be, nil
	}
	be, err := d.NewBackend(b.opts)
	if err != nil {
		return nil, err
	}
	b.backends[d] = be
	return be, nil
}

func (b *splitBackend) Close() error {
	var first error
	for d, be := range b.backends {
		if err := be.Close(); err != nil && first == nil {
			first = err
		}
		delete(b.backends, d)
	}
	b.whole, b.parts, b.where, b.kept = nil, nil, nil, nil
	return first
}

// freeNode reports whether n holds no computed value: an input, or views
// of a leaf or an input. Such nodes are cloned into each part that reads
// them.
func freeNode(n *Tensor) bool {
	for n.op == OpView {
		n = n.src[0]
	}
	return n.op == OpInput || n.op == OpLeaf
}

// leafDevice is the device of the leaf under t's views, or nil.
func leafDevice(t *Tensor) Device {
	for t.op == OpView {
		t = t.src[0]
	}
	if t.op != OpLeaf || t.buf == nil {
		return nil
	}
	return t.buf.Device()
}

// anchor is the device an op must run on because of the leaf it reads or
// writes, or nil when it may run wherever its operands are.
func anchor(n *Tensor) Device {
	switch n.op {
	case OpMulMat, OpMulMatID, OpGetRows, OpCopy:
		return leafDevice(n.src[0])
	case OpAttention:
		return leafDevice(n.src[3])
	case OpAdd, OpMul:
		for _, s := range n.src[:n.nsrc] {
			if d := leafDevice(s); d != nil {
				return d
			}
		}
	}
	return nil
}

// assign returns the device of each node (nil for free nodes) and whether
// they all run on one device.
func (b *splitBackend) assign(g *Graph) ([]Device, Device, bool) {
	devs := make([]Device, len(g.nodes))
	var one Device
	single := true
	for i, n := range g.nodes {
		if freeNode(n) {
			continue
		}
		d := anchor(n)
		if d == nil {
			// The operand computed last is where the step is now: the
			// residual add after a layer on another device joins it there.
			latest := -1
			for _, s := range n.src[:n.nsrc] {
				if s.graph == g && !freeNode(s) && s.id > latest {
					latest, d = s.id, devs[s.id]
				}
			}
		}
		for _, s := range n.src[:n.nsrc] {
			if d == nil {
				d = leafDevice(s)
			}
		}
		if d == nil {
			d = b.s.host
		}
		devs[i] = d
		if one == nil {
			one = d
		}
		single = single && d == one
	}
	if one == nil {
		one = b.s.host
	}
	return devs, one, single
}

// Compute runs g whole where one device holds every leaf it computes with,
// else part by part.
func (b *splitBackend) Compute(g *Graph) error {
	if g == nil {
		return fmt.Errorf("compute: split: nil graph")
	}
	if err := g.Err(); err != nil {
		return err
	}
	b.whole, b.parts, b.where, b.kept = nil, nil, nil, nil
	devs, one, single := b.assign(g)
	if single {
		be, err := b.backend(one)
		if err != nil {
			return err
		}
		if err := be.Compute(g); err != nil {
			return err
		}
		b.whole = be
		return nil
	}
	parts, where, err := b.cut(g, devs)
	if err != nil {
		return err
	}
	// A backend keeps only its last graph's outputs: an output of a part
	// whose backend runs again later is read before that.
	lastOn := map[Backend]int{}
	for i, p := range parts {
		if p.be, err = b.backend(p.dev); err != nil {
			return err
		}
		lastOn[p.be] = i
	}
	kept := map[*Tensor][]float32{}
	for i, p := range parts {
		if err := p.be.Compute(p.g); err != nil {
			return fmt.Errorf("compute: split: part %d of %d on %s: %w", i+1, len(parts), p.dev.Name(), err)
		}
		for _, n := range p.out {
			vals := make([]float32, n.shape.Elements())
			if err := p.be.Read(p.clones[n], vals); err != nil {
				return fmt.Errorf("compute: split: carrying %v from %s: %w", n, p.dev.Name(), err)
			}
			raw := unsafe.Slice((*byte)(unsafe.Pointer(&vals[0])), 4*len(vals))
			for _, q := range parts[i+1:] {
				if in, ok := q.in[n]; ok {
					in.data = raw
				}
			}
		}
		if lastOn[p.be] == i {
			continue
		}
		for orig, c := range p.clones {
			if c.output && orig.output {
				vals := make([]float32, orig.shape.Elements())
				if orig.dtype == F32 {
					if err := p.be.Read(c, vals); err != nil {
						return err
					}
					kept[orig] = vals
				}
			}
		}
	}
	b.parts, b.where, b.kept = parts, where, kept
	return nil
}

// cut rebuilds g as parts of consecutive nodes on one device.
func (b *splitBackend) cut(g *Graph, devs []Device) ([]*part, map[*Tensor]*part, error) {
	var parts []*part
	where := map[*Tensor]*part{}
	var cur *part
	outSet := map[*Tensor]bool{}
	for i, n := range g.nodes {
		d := devs[i]
		if d == nil {
			continue
		}
		if cur == nil || cur.dev != d {
			cur = &part{dev: d, g: NewGraph(), clones: map[*Tensor]*Tensor{}, free: map[*Tensor]*Tensor{}, in: map[*Tensor]*Tensor{}}
			parts = append(parts, cur)
		}
		c := *n
		c.graph, c.src = cur.g, [6]*Tensor{}
		for j, s := range n.src[:n.nsrc] {
			o, err := b.operand(g, cur, s, where)
			if err != nil {
				return nil, nil, err
			}
			if o == nil { // s crosses from another part
				from := where[s]
				if s.dtype != F32 {
					return nil, nil, fmt.Errorf("compute: split: %v (%s) would cross from %s to %s; only F32 activations can", s, s.op, from.dev.Name(), d.Name())
				}
				in := &Tensor{op: OpInput, dtype: F32, shape: s.shape, graph: cur.g, id: len(cur.g.nodes), name: s.name}
				cur.g.nodes = append(cur.g.nodes, in)
				cur.in[s] = in
				if !outSet[s] {
					outSet[s] = true
					from.out = append(from.out, s)
					from.clones[s].output = true
				}
				o = in
			}
			c.src[j] = o
		}
		if c.op == OpRope && c.rope.Factors != nil {
			c.rope.Factors = c.src[2] // the factors as this part sees them
		}
		c.id = len(cur.g.nodes)
		cc := &c
		cur.g.nodes = append(cur.g.nodes, cc)
		cur.clones[n] = cc
		where[n] = cur
	}
	return parts, where, nil
}

// operand returns s as part p's graph sees it, or nil when s is computed by
// another part (the caller adds the input that carries it).
func (b *splitBackend) operand(g *Graph, p *part, s *Tensor, where map[*Tensor]*part) (*Tensor, error) {
	switch {
	case s.op == OpLeaf:
		if d := leafDevice(s); d == p.dev || d == nil {
			return s, nil
		}
		return b.s.mirror(s, p.dev)
	case s.graph == g && freeNode(s):
		if c, ok := p.free[s]; ok {
			return c, nil
		}
		c := *s
		c.graph, c.src = p.g, [6]*Tensor{}
		for j, ss := range s.src[:s.nsrc] {
			o, err := b.operand(g, p, ss, where)
			if err != nil {
				return nil, err
			}
			c.src[j] = o
		}
		c.id = len(p.g.nodes)
		c.output = false
		p.g.nodes = append(p.g.nodes, &c)
		p.free[s] = &c
		return &c, nil
	case where[s] == p:
		return p.clones[s], nil
	case where[s] != nil:
		if in, ok := p.in[s]; ok {
			return in, nil
		}
		return nil, nil
	}
	return nil, fmt.Errorf("compute: split: operand %v is not part of the graph", s)
}

// Read copies an F32 leaf or an output of the last graph into dst.
func (b *splitBackend) Read(t *Tensor, dst []float32) error {
	if b.whole != nil {
		return b.whole.Read(t, dst)
	}
	_, done, err := ReadLeaf(t, dst)
	if done || err != nil {
		return err
	}
	if v, ok := b.kept[t]; ok {
		copy(dst, v)
		return nil
	}
	p := b.where[t]
	if p == nil || !t.output {
		return fmt.Errorf("compute: split: Read: %v is not an output of the last computed graph (mark it with Graph.Output)", t)
	}
	return p.be.Read(p.clones[t], dst)
}
