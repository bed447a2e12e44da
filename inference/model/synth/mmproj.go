package synth

import (
	"fmt"

	"inferenceruntime/inference/quant"
)

// ProjectorShape is the architecture of a synthetic vision projector
// ("mmproj" GGUF, general.architecture "clip"), as llama.cpp's converter
// writes it for Gemma 3: a SigLIP encoder and the Gemma 3 projector.
type ProjectorShape struct {
	Name      string
	ImageSize int     // clip.vision.image_size
	PatchSize int     // clip.vision.patch_size
	Embd      int     // clip.vision.embedding_length
	FF        int     // clip.vision.feed_forward_length (keep != Embd: llama.cpp swaps up/down otherwise)
	Layers    int     // clip.vision.block_count
	Heads     int     // clip.vision.attention.head_count
	Eps       float32 // clip.vision.attention.layer_norm_epsilon
	Mean, Std [3]float32
	// TextEmbd is clip.vision.projection_dim: the embedding size of the
	// text model the image vectors feed.
	TextEmbd int
}

// ProjectorShapes are the named projector shapes.
var ProjectorShapes = []ProjectorShape{
	// Gemma 3 4B's projector (SigLIP so400m at 896 pixels, 256 image
	// tokens of 2560).
	{Name: "gemma3-4b-mmproj", ImageSize: 896, PatchSize: 14, Embd: 1152, FF: 4304, Layers: 27, Heads: 16,
		Eps: 1e-6, Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.5, 0.5, 0.5}, TextEmbd: 2560},
	// A small one for tests, feeding tiny-gemma3 (8x8 patches pooled to 2x2
	// = 4 image tokens of 64).
	{Name: "tiny-gemma3-mmproj", ImageSize: 32, PatchSize: 4, Embd: 64, FF: 96, Layers: 2, Heads: 4,
		Eps: 1e-6, Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.5, 0.5, 0.5}, TextEmbd: 64},
}

// ProjectorShapeByName finds a named projector shape.
func ProjectorShapeByName(name string) (ProjectorShape, bool) {
	for _, s := range ProjectorShapes {
		if s.Name == name {
			return s, true
		}
	}
	return ProjectorShape{}, false
}

// ProjectorShapeNames lists the projector shape names.
func ProjectorShapeNames() []string {
	var n []string
	for _, s := range ProjectorShapes {
		n = append(n, s.Name)
	}
	return n
}

// NewProjectorPlan plans a Gemma 3 projector file of shape s whose
// matrices (attention, MLP, mm.input_projection) have the named type, F32
// or F16 as llama.cpp's converter writes them; the patch and position
// embeddings, norms and biases are F32. No projector.scale_factor key is
// written, as in real Gemma 3 files (pooling kernel 4).
func NewProjectorPlan(s ProjectorShape, typeName string) (*Plan, error) {
	t, ok := quant.ParseType(typeName)
	if !ok || (t != quant.F32 && t != quant.F16) {
		return nil, fmt.Errorf("synth: projector weights of type %q (want F32 or F16)", typeName)
	}
	ftype, err := fileType(typeName)
	if err != nil {
		return nil, err
	}
	if s.PatchSize <= 0 || s.ImageSize%s.PatchSize != 0 || (s.ImageSize/s.PatchSize)%4 != 0 ||
		s.Heads <= 0 || s.Embd%s.Heads != 0 || s.FF == s.Embd {
		return nil, fmt.Errorf("synth: projector shape %s is not a valid Gemma 3 projector", s.Name)
	}
	n := s.ImageSize / s.PatchSize
	p := &Plan{Shape: Shape{Name: s.Name, Arch: "clip", Embd: s.Embd, Layers: s.Layers, Heads: s.Heads, FF: s.FF, Eps: s.Eps}}
	p.KV = []KV{
		{"general.architecture", "clip"},
		{"general.type", "mmproj"},
		{"general.name", "synthetic " + s.Name + " " + typeName},
		{"general.file_type", ftype},
		{"clip.has_vision_encoder", true},
		{"clip.projector_type", "gemma3"},
		{"clip.vision.projection_dim", uint32(s.TextEmbd)},
		{"clip.vision.image_size", uint32(s.ImageSize)},
		{"clip.vision.patch_size", uint32(s.PatchSize)},
		{"clip.vision.embedding_length", uint32(s.Embd)},
		{"clip.vision.feed_forward_length", uint32(s.FF)},
		{"clip.vision.block_count", uint32(s.Layers)},
		{"clip.vision.attention.head_count", uint32(s.Heads)},
		{"clip.vision.image_mean", s.Mean[:]},
		{"clip.vision.image_std", s.Std[:]},
		{"clip.vision.attention.layer_norm_epsilon", s.Eps},
		{"clip.use_gelu", true},
	}
	add := func(name string, tt quant.Type, k kind, fanIn int, dims ...int) {
		d := make([]uint64, len(dims))
		for i, v := range dims {
			d[i] = uint64(v)
		}
		p.Tensors = append(p.Tensors, Tensor{Name: name, Type: tt, Dims: d, kind: k, fanIn: fanIn})
	}
	// mat is a weight of rows of cols, ggml order {cols, rows}.
	mat := func(name string, cols, rows int) { add(name, t, matrix, cols, cols, rows) }
	vec := func(name string, size int, k kind) { add(name, quant.F32, k, 0, size) }
	D := s.Embd
	add("v.patch_embd.weight", quant.F32, matrix, s.PatchSize*s.PatchSize*3, s.PatchSize, s.PatchSize, 3, D)
	vec("v.patch_embd.bias", D, bias)
	add("v.position_embd.weight", quant.F32, matrix, D, D, n*n)
	for l := range s.Layers {
		b := func(x string) string { return fmt.Sprintf("v.blk.%d.%s", l, x) }
		vec(b("ln1.weight"), D, norm)
		vec(b("ln1.bias"), D, bias)
		for _, m := range []string{"attn_q", "attn_k", "attn_v", "attn_out"} {
			mat(b(m+".weight"), D, D)
			vec(b(m+".bias"), D, bias)
		}
		vec(b("ln2.weight"), D, norm)
		vec(b("ln2.bias"), D, bias)
		mat(b("ffn_up.weight"), D, s.FF)
		vec(b("ffn_up.bias"), s.FF, bias)
		mat(b("ffn_down.weight"), s.FF, D)
		vec(b("ffn_down.bias"), D, bias)
	}
	vec("v.post_ln.weight", D, norm)
	vec("v.post_ln.bias", D, bias)
	vec("mm.soft_emb_norm.weight", D, norm)
	// ne {n_embd_text, D}: numpy (D, n_embd_text), output = x @ W, so each
	// output sums D inputs.
	add("mm.input_projection.weight", t, matrix, D, s.TextEmbd, D)
	return p, nil
}
