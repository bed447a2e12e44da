package inference_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"inferenceruntime/inference"
	"inferenceruntime/inference/internal/ref"
	"inferenceruntime/internal/testshared"
)

// imageRef is the part of a llama.cpp image-prompt reference
// (../shared/models/vision/ref/<model>.<mmproj>.<prompt>.json) the tests use.
type imageRef struct {
	Prompt    string   `json:"prompt"`
	Images    []string `json:"images"`
	PromptIDs []int32  `json:"prompt_ids"`
	Greedy    []int32  `json:"greedy_ids"`
	Vocab     int      `json:"n_vocab"`
	Logits    string   `json:"logits_file"`
	Layout    []struct {
		Type  string  `json:"type"`
		IDs   []int32 `json:"ids"`
		Image int     `json:"image_index"`
	} `json:"layout"`
}

// TestImageConformance feeds llama.cpp's image prompts (text chunks, then
// each image's vectors from our own projector run as one bidirectional
// batch, then the greedy reply) and compares every row of logits: within
// 3e-2 (F32 text model), argmax equal where the reference's top two are at
// least 5e-2 apart. It also checks that Generate lays the prompt out as
// mtmd does and replies with the same greedy tokens.
func TestImageConformance(t *testing.T) {
	dir := testshared.Dir(t, "models", "vision")
	m, err := inference.Load(filepath.Join(dir, "..", "conf-tiny", "tiny-gemma3-f32.gguf"), inference.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, c := range []struct{ mmproj, prompt string }{
		{"f32", "v1"}, {"f32", "v2"}, {"f32", "v3"}, {"F16", "v1"}, {"F16", "v2"},
	} {
		t.Run(c.mmproj+"/"+c.prompt, func(t *testing.T) {
			if err := m.AttachProjector(filepath.Join(dir, "tiny-gemma3-mmproj-"+c.mmproj+".gguf")); err != nil {
				t.Fatal(err)
			}
			base := filepath.Join(dir, "ref", "tiny-gemma3-f32.mmproj-"+c.mmproj+"."+c.prompt)
			raw, err := os.ReadFile(base + ".json")
			if err != nil {
				t.Fatal(err)
			}
			var imgRef imageRef
			if err := json.Unmarshal(raw, &imgRef); err != nil {
				t.Fatal(err)
			}
			var images []inference.Image
			for _, name := range imgRef.Images {
				data, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				img, err := m.EncodeImage(data)
				if err != nil {
					t.Fatal(err)
				}
				images = append(images, img)
			}
			s, err := m.NewSession(inference.SessionOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			var got []float32
			for _, chunk := range imgRef.Layout {
				var rows []float32
				if chunk.Type == "image" {
					rows, err = s.ImageLogits(ctx, images[chunk.Image])
				} else {
					rows, err = s.Logits(ctx, chunk.IDs)
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, rows...)
			}
			reply, err := s.Logits(ctx, imgRef.Greedy[:len(imgRef.Greedy)-1])
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, reply...)
			want := readFloats(t, filepath.Join(dir, "ref", imgRef.Logits))
			// The vision section's argmax exemption: rows closer than 5e-2.
			r, err := ref.Compare(got, want, imgRef.Vocab, ref.Tolerance{MaxAbs: 3e-2, MinGap: 5e-2})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%v", r)
			if r.MaxAbs > 3e-2 || r.ArgmaxAgree != r.ArgmaxRows {
				t.Errorf("logits: %v (tolerance 3e-2, argmax on every row with a gap of 5e-2)", r)
			}

			// The same prompt through Generate: mtmd's layout, llama.cpp's reply.
			g, err := m.NewSession(inference.SessionOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			var ids []int32
			st, err := g.Generate(ctx, inference.Request{Prompt: imgRef.Prompt, Images: images, Sampling: greedy(), MaxTokens: len(imgRef.Greedy)},
				func(tk inference.Token) error {
					if tk.ID >= 0 {
						ids = append(ids, tk.ID)
					}
					return nil
				})
			if err != nil {
				t.Fatal(err)
			}
			if st.PromptTokens != len(imgRef.PromptIDs) {
				t.Errorf("prompt of %d positions, mtmd has %d", st.PromptTokens, len(imgRef.PromptIDs))
			}
			if !slices.Equal(ids, imgRef.Greedy[:len(ids)]) || len(ids) == 0 {
				t.Errorf("greedy reply %v, llama.cpp %v", ids, imgRef.Greedy)
			}
		})
	}
}

// TestImageRefusals: an image for a model without a projector, and a
// projector of another embedding size, are refused by name.
func TestImageRefusals(t *testing.T) {
	dir := testshared.Dir(t, "models", "vision")
	m, err := inference.Load(filepath.Join(dir, "..", "stories260K-f32.gguf"), inference.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	png, _ := os.ReadFile(filepath.Join(dir, "img1-40x28.png"))
	if _, err := m.EncodeImage(png); !errors.Is(err, inference.ErrNoVision) {
		t.Errorf("image without a projector: %v", err)
	}
	if err := m.AttachProjector(filepath.Join(dir, "tiny-gemma3-mmproj-f32.gguf")); err == nil {
		t.Error("a projector of 128-wide vectors attached to a 64-wide model")
	}
	if err := m.AttachProjector(filepath.Join(dir, "..", "stories260K-f32.gguf")); err == nil {
		t.Error("a text model was taken for a projector")
	}
}

func readFloats(t *testing.T, path string) []float32 {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out
}
