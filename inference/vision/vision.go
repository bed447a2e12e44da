// Package vision reads vision projector files ("mmproj" GGUF files,
// general.architecture "clip", as llama.cpp publishes them next to vision
// language models) and turns images into vectors that a text model takes
// in place of token embeddings.
//
// An image goes through DecodeImage (PNG, JPEG, GIF, WebP, with a pixel
// bound), Preprocess (llama.cpp's resize, padding and normalisation), the
// ViT encoder built from compute ops, and the projector of the file's
// clip.projector_type. Projector types register a constructor
// (registerProjector); each binds its own mm.* tensors, chooses the order
// in which the encoder lays out patches, and adds its ops after the
// encoder. Gemma 3 ("gemma3") is the first.
//
//	p, err := vision.Open("mmproj.gguf", dev)
//	img, err := vision.DecodeImage(data)
//	emb, err := p.Encode(img, compute.Options{Threads: 4})
//	// emb.Data is float32 [emb.Tokens][emb.Dim]
package vision

import (
	"encoding/binary"
	"fmt"
	"math"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/model"
	"inferenceruntime/inference/quant"
)

// projector is what one clip.projector_type adds after the encoder.
type projector interface {
	// Tokens is the number of vectors one image becomes.
	Tokens() int
	// PatchOrder is the order of the encoder's patches the projector wants
	// (row-major grid indices); its length is the number of patches.
	PatchOrder() []int32
	// Forward maps the encoder states, F32 [D, n_patches] in PatchOrder,
	// to F32 [ProjectionDim, Tokens].
	Forward(g *compute.Graph, x *compute.Tensor) *compute.Tensor
	// Wrap is the text the model expects before and after an image's
	// vectors.
	Wrap() (begin, end string)
}

// newProjector binds a projector type's tensors.
type newProjector func(b *model.Binder, p *model.Placer, c *Config, f fileTensors) (projector, error)

var projectors = map[string]newProjector{}

// registerProjector makes a clip.projector_type loadable; for init functions.
func registerProjector(name string, f newProjector) { projectors[name] = f }

// fileTensors answers questions about a file's tensors before binding.
type fileTensors struct{ f *gguf.File }

// rowLength is ne0 of the named tensor, or 0 when it is absent.
func (t fileTensors) rowLength(name string) int {
	if info, ok := t.f.Tensor(name); ok && len(info.Dims) > 0 {
		return int(info.Dims[0])
	}
	return 0
}

// Projector is a loaded projector file: the encoder and projector weights
// on one device. It is immutable and safe for concurrent use; each Encode
// runs on a backend of its own.
type Projector struct {
	cfg  Config
	file *gguf.File
	own  bool // Close closes file
	dev  compute.Device
	p    *model.Placer
	enc  *encoder
	proj projector
}

// Open maps a projector file and places its weights on dev.
func Open(path string, dev compute.Device) (*Projector, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("vision: %w", err)
	}
	p, err := New(f, dev)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	p.own = true
	return p, nil
}

// New validates a parsed projector file and places its weights on dev.
// The file must stay open while the projector is used; Close leaves it
// open.
func New(f *gguf.File, dev compute.Device) (*Projector, error) {
	cfg, err := ReadConfig(f)
	if err != nil {
		return nil, err
	}
	mk, ok := projectors[cfg.ProjectorType]
	if !ok {
		return nil, fmt.Errorf("vision: projector type %q is not supported (supported: %v)", cfg.ProjectorType, supported())
	}
	b := model.NewBinder(f, model.Config{})
	pl := model.NewPlacer(dev)
	ft := fileTensors{f}
	enc := bindEncoder(b, pl, &cfg, ft)
	proj, err := mk(b, pl, &cfg, ft)
	if err == nil {
		if err = b.Err(); err == nil {
			err = pl.Err()
		}
	}
	if err == nil && len(proj.PatchOrder()) != cfg.Patches() {
		err = fmt.Errorf("vision: %s orders %d patches of %d", cfg.ProjectorType, len(proj.PatchOrder()), cfg.Patches())
	}
	if err == nil {
		err = checkOrder(proj.PatchOrder(), cfg.Patches())
	}
	if err != nil {
		pl.Free()
		return nil, fmt.Errorf("vision: %w", err)
	}
	return &Projector{cfg: cfg, file: f, dev: dev, p: pl, enc: enc, proj: proj}, nil
}

func supported() []string {
	var names []string
	for n := range projectors {
		names = append(names, n)
	}
	return names
}

// checkOrder makes sure a patch order is a permutation of the grid, since
// the position lookup and the unfolding index by it.
func checkOrder(order []int32, n int) error {
	seen := make([]bool, n)
	for _, p := range order {
		if p < 0 || int(p) >= n || seen[p] {
			return fmt.Errorf("vision: patch order is not a permutation of %d patches", n)
		}
		seen[p] = true
	}
	return nil
}

// Config returns the vision hyper-parameters.
func (p *Projector) Config() Config { return p.cfg }

// Tokens is the number of vectors each image becomes.
func (p *Projector) Tokens() int { return p.proj.Tokens() }

// Dim is the length of each vector: the text model's embedding size.
func (p *Projector) Dim() int { return p.cfg.ProjectionDim }

// Wrap is the text that goes before and after an image's vectors in a
// prompt (Gemma 3: "<start_of_image>" and "<end_of_image>").
func (p *Projector) Wrap() (begin, end string) { return p.proj.Wrap() }

// Close frees the weights (and the file when Open mapped it).
func (p *Projector) Close() error {
	err := p.p.Free()
	if p.own {
		if e := p.file.Close(); err == nil {
			err = e
		}
	}
	return err
}

// Embeddings are the vectors of one image, float32 [Tokens][Dim].
type Embeddings struct {
	Tokens, Dim int
	Data        []float32
}

// Encode preprocesses img and runs the encoder and the projector on a
// backend of its own.
func (p *Projector) Encode(img *RGB, opts compute.Options) (*Embeddings, error) {
	pixels, err := Preprocess(img, &p.cfg)
	if err != nil {
		return nil, err
	}
	out, _, err := p.run(pixels, opts, false)
	return out, err
}

// run computes the embeddings of preprocessed pixels; with encoderOnly
// it returns instead the encoder's states [n_patches][D] in row-major patch
// order (for conformance tests).
func (p *Projector) run(pixels []float32, opts compute.Options, encoderOnly bool) (*Embeddings, []float32, error) {
	c := &p.cfg
	if len(pixels) != 3*c.ImageSize*c.ImageSize {
		return nil, nil, fmt.Errorf("vision: %d pixel values for a %dx%d image", len(pixels), c.ImageSize, c.ImageSize)
	}
	be, err := p.dev.NewBackend(opts)
	if err != nil {
		return nil, nil, fmt.Errorf("vision: %w", err)
	}
	defer be.Close()
	// Attention scratch: the encoder's blocks run in order, so one pair
	// of caches serves them all.
	n, hd := c.Patches(), c.HeadDim()
	shape := compute.Shape{hd, c.HeadCount, n}
	size, err := compute.ByteSize(compute.F32, shape)
	if err != nil {
		return nil, nil, fmt.Errorf("vision: %w", err)
	}
	var caches [2]*compute.Tensor
	for i := range caches {
		buf, err := p.dev.Alloc(size)
		if err != nil {
			return nil, nil, fmt.Errorf("vision: attention scratch: %w", err)
		}
		defer buf.Free()
		if caches[i], err = compute.NewTensor(buf, 0, compute.F32, shape); err != nil {
			return nil, nil, fmt.Errorf("vision: %w", err)
		}
	}
	g := compute.NewGraph()
	order := p.proj.PatchOrder()
	x := p.enc.forward(g, pixels, order, caches[0], caches[1])
	out := x
	if !encoderOnly {
		out = p.proj.Forward(g, x)
	}
	g.Output(out)
	if err := be.Compute(g); err != nil {
		return nil, nil, fmt.Errorf("vision: %w", err)
	}
	vals := make([]float32, out.Shape().Elements())
	if err := be.Read(out, vals); err != nil {
		return nil, nil, fmt.Errorf("vision: reading the output: %w", err)
	}
	if encoderOnly {
		d := c.EmbeddingLength
		grid := make([]float32, len(vals))
		for i, pi := range order {
			copy(grid[int(pi)*d:(int(pi)+1)*d], vals[i*d:(i+1)*d])
		}
		return nil, grid, nil
	}
	for i, v := range vals {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, nil, fmt.Errorf("vision: the projector produced %v at %d", v, i)
		}
	}
	return &Embeddings{Tokens: p.proj.Tokens(), Dim: c.ProjectionDim, Data: vals}, nil, nil
}

// transpose returns a 2-D matrix with rows and columns swapped. F32, F16
// and BF16 keep their type (exact); other types become F32.
func transpose(t *model.Tensor) (*model.Tensor, error) {
	cols, rows := t.Shape[0], t.Rows()
	out := &model.Tensor{Name: t.Name, Shape: []int{rows, cols}}
	switch t.Type {
	case quant.F32, quant.F16, quant.BF16:
		es := t.Type.TypeSize()
		out.Type = t.Type
		out.Data = make([]byte, len(t.Data))
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				copy(out.Data[(c*rows+r)*es:(c*rows+r+1)*es], t.Data[(r*cols+c)*es:(r*cols+c+1)*es])
			}
		}
	default:
		vals := make([]float32, cols*rows)
		if err := quant.Dequantize(t.Type, t.Data, vals); err != nil {
			return nil, fmt.Errorf("vision: tensor %s: %w", t.Name, err)
		}
		out.Type = quant.F32
		out.Data = make([]byte, 4*len(vals))
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				binary.LittleEndian.PutUint32(out.Data[4*(c*rows+r):], math.Float32bits(vals[r*cols+c]))
			}
		}
	}
	return out, nil
}
