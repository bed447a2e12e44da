package synth

import (
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"inferenceruntime/inference/compute"
	_ "inferenceruntime/inference/compute/cpu"
	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/quant"
	"inferenceruntime/inference/vision"
)

// TestProjectorShape: the real Gemma 3 4B projector's plan has its keys
// and tensor shapes (not written: 850 MB).
func TestProjectorShape(t *testing.T) {
	s, ok := ProjectorShapeByName("gemma3-4b-mmproj")
	if !ok {
		t.Fatal("gemma3-4b-mmproj is not a projector shape")
	}
	p, err := NewProjectorPlan(s, "F16")
	if err != nil {
		t.Fatal(err)
	}
	if want := 3 + 16*27 + 2 + 2; len(p.Tensors) != want {
		t.Errorf("%d tensors, want %d", len(p.Tensors), want)
	}
	for name, dims := range map[string][]uint64{
		"v.patch_embd.weight":        {14, 14, 3, 1152},
		"v.position_embd.weight":     {1152, 4096},
		"v.blk.26.ffn_up.weight":     {1152, 4304},
		"v.blk.26.ffn_down.weight":   {4304, 1152},
		"mm.input_projection.weight": {2560, 1152},
	} {
		if tt := p.Tensor(name); tt == nil || !slices.Equal(tt.Dims, dims) {
			t.Errorf("%s: %v, want %v", name, tt, dims)
		}
	}
	var keys []string
	for _, kv := range p.KV {
		keys = append(keys, kv.Key)
	}
	if got := strings.Join(keys, " "); strings.Contains(got, "scale_factor") || !strings.Contains(got, "clip.vision.projection_dim") {
		t.Errorf("keys: %s", got)
	}
	if _, err := NewProjectorPlan(s, "Q4_0"); err == nil {
		t.Error("Q4_0 projector weights accepted")
	}
}

// TestProjectorWrite writes the tiny projector in F32 and F16, reads it
// back with the vision package and encodes an image with it.
func TestProjectorWrite(t *testing.T) {
	s, _ := ProjectorShapeByName("tiny-gemma3-mmproj")
	dev, err := compute.FirstDevice("cpu")
	if err != nil {
		t.Fatal(err)
	}
	img := &vision.RGB{W: 40, H: 28, Pix: make([]byte, 3*40*28)}
	for i := range img.Pix {
		img.Pix[i] = byte(i * 37)
	}
	for _, typ := range []string{"F32", "F16"} {
		p, err := NewProjectorPlan(s, typ)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "mmproj-"+typ+".gguf")
		if err := p.WriteFile(path, 1); err != nil {
			t.Fatal(err)
		}
		f, err := gguf.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if a, _ := f.String("general.type"); a != "mmproj" || f.Architecture() != "clip" {
			t.Errorf("%s: architecture %q, type %q", typ, f.Architecture(), a)
		}
		for _, ti := range f.Tensors {
			want := quant.F32
			if typ == "F16" && len(ti.Dims) == 2 && ti.Name != "v.position_embd.weight" {
				want = quant.F16
			}
			if ti.Type != want {
				t.Errorf("%s: %s is %s, want %s", typ, ti.Name, ti.Type, want)
			}
		}
		f.Close()

		proj, err := vision.Open(path, dev)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		c := proj.Config()
		if c.ProjectorType != "gemma3" || c.ImageSize != 32 || c.PatchSize != 4 || c.EmbeddingLength != 64 ||
			c.FeedForwardLength != 96 || c.BlockCount != 2 || c.HeadCount != 4 || c.ProjectionDim != 64 ||
			c.ImageMean != [3]float32{0.5, 0.5, 0.5} || c.ImageStd != [3]float32{0.5, 0.5, 0.5} || c.ScaleFactor != 0 {
			t.Errorf("%s: config %+v", typ, c)
		}
		emb, err := proj.Encode(img, compute.Options{Threads: 1})
		proj.Close()
		if err != nil {
			t.Fatalf("%s: encode: %v", typ, err)
		}
		if emb.Tokens != 4 || emb.Dim != 64 || len(emb.Data) != 4*64 {
			t.Fatalf("%s: %d x %d vectors (%d values), want 4 x 64", typ, emb.Tokens, emb.Dim, len(emb.Data))
		}
		var sum float64
		for _, v := range emb.Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("%s: non-finite output %v", typ, v)
			}
			sum += math.Abs(float64(v))
		}
		if sum == 0 {
			t.Errorf("%s: all-zero output", typ)
		}
	}
}
