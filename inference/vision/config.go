package vision

import (
	"fmt"
	"math"

	"inferenceruntime/inference/gguf"
)

// Config is the vision tower's hyper-parameters, from the clip.vision.* keys.
type Config struct {
	ProjectorType     string     // clip.projector_type, e.g. "gemma3"
	ImageSize         int        // S: the encoder sees S x S pixels
	PatchSize         int        // P: one patch is P x P pixels
	EmbeddingLength   int        // D: width of the encoder
	FeedForwardLength int        // F: width of its MLP
	BlockCount        int        // encoder blocks
	HeadCount         int        // attention heads (head_dim = D / heads)
	Eps               float32    // layer_norm_epsilon, also the projector's RMS norm's
	ImageMean         [3]float32 // per channel R, G, B
	ImageStd          [3]float32
	ProjectionDim     int // embedding size of the text model the vectors feed
	// ScaleFactor is clip.vision.projector.scale_factor: the side of the
	// pooling kernel of a Gemma 3 projector (0 when the file has none).
	ScaleFactor int
}

// Grid is the number of patches along one side of the image.
func (c *Config) Grid() int { return c.ImageSize / c.PatchSize }

// Patches is the number of patches, Grid².
func (c *Config) Patches() int { return c.Grid() * c.Grid() }

// HeadDim is the width of one attention head.
func (c *Config) HeadDim() int { return c.EmbeddingLength / c.HeadCount }

// Limits on what a projector file may declare: far above every published
// vision tower (SigLIP so400m: 1152 wide, 27 blocks, 896 pixels), low
// enough that a hostile file cannot make us allocate without bound.
const (
	maxImageSize = 4096
	maxPatches   = 1 << 16
	maxWidth     = 1 << 14
	maxBlocks    = 256
)

// ReadConfig reads and validates the vision hyper-parameters of a projector
// file: general.architecture "clip" with a vision encoder.
func ReadConfig(f *gguf.File) (Config, error) {
	var c Config
	if a := f.Architecture(); a != "clip" {
		return c, fmt.Errorf("vision: general.architecture is %q, a projector file has \"clip\"", a)
	}
	if has, ok := f.Bool("clip.has_vision_encoder"); ok && !has {
		return c, fmt.Errorf("vision: the file has no vision encoder (clip.has_vision_encoder false)")
	}
	c.ProjectorType, _ = f.String("clip.projector_type")
	if c.ProjectorType == "" {
		return c, fmt.Errorf("vision: clip.projector_type is missing")
	}
	ints := []struct {
		key      string
		dst      *int
		min, max int
	}{
		{"clip.vision.image_size", &c.ImageSize, 1, maxImageSize},
		{"clip.vision.patch_size", &c.PatchSize, 1, maxImageSize},
		{"clip.vision.embedding_length", &c.EmbeddingLength, 1, maxWidth},
		{"clip.vision.feed_forward_length", &c.FeedForwardLength, 1, 4 * maxWidth},
		{"clip.vision.block_count", &c.BlockCount, 1, maxBlocks},
		{"clip.vision.attention.head_count", &c.HeadCount, 1, maxWidth},
		{"clip.vision.projection_dim", &c.ProjectionDim, 1, 4 * maxWidth},
	}
	for _, k := range ints {
		v, ok := f.Uint(k.key)
		if !ok {
			return c, fmt.Errorf("vision: %s is missing or not a non-negative integer", k.key)
		}
		if v < uint64(k.min) || v > uint64(k.max) {
			return c, fmt.Errorf("vision: %s = %d is outside [%d, %d]", k.key, v, k.min, k.max)
		}
		*k.dst = int(v)
	}
	if v, ok := f.Get("clip.vision.projector.scale_factor"); ok {
		n, ok := v.AsUint()
		if !ok || n < 1 || n > maxImageSize {
			return c, fmt.Errorf("vision: clip.vision.projector.scale_factor is not an integer in [1, %d]", maxImageSize)
		}
		c.ScaleFactor = int(n)
	}
	eps, ok := f.Float("clip.vision.attention.layer_norm_epsilon")
	if !ok {
		eps = 1e-6
	}
	if !(eps > 0 && eps < 1) {
		return c, fmt.Errorf("vision: clip.vision.attention.layer_norm_epsilon = %v", eps)
	}
	c.Eps = float32(eps)
	for _, k := range []struct {
		key string
		dst *[3]float32
	}{{"clip.vision.image_mean", &c.ImageMean}, {"clip.vision.image_std", &c.ImageStd}} {
		vals, ok := f.Float32s(k.key)
		if !ok || len(vals) != 3 {
			return c, fmt.Errorf("vision: %s must be 3 numbers (R, G, B)", k.key)
		}
		for i, v := range vals {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return c, fmt.Errorf("vision: %s[%d] = %v", k.key, i, v)
			}
		}
		copy(k.dst[:], vals)
	}
	for i, s := range c.ImageStd {
		if !(s > 0) {
			return c, fmt.Errorf("vision: clip.vision.image_std[%d] = %v must be positive", i, s)
		}
	}
	if c.ImageSize%c.PatchSize != 0 {
		return c, fmt.Errorf("vision: image size %d is not a multiple of the patch size %d", c.ImageSize, c.PatchSize)
	}
	if c.Patches() > maxPatches {
		return c, fmt.Errorf("vision: %d patches per image is more than %d", c.Patches(), maxPatches)
	}
	if c.EmbeddingLength%c.HeadCount != 0 {
		return c, fmt.Errorf("vision: embedding length %d is not a multiple of %d heads", c.EmbeddingLength, c.HeadCount)
	}
	return c, nil
}
