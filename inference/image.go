package inference

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/engine"
	"inferenceruntime/inference/vision"
)

// Image is one encoded image of a request (see engine.Image); put
// MediaMarker in the prompt where it goes.
type Image = engine.Image

// MediaMarker stands for one image in a prompt.
const MediaMarker = engine.MediaMarker

// ErrNoVision is returned for an image sent to a model without a projector.
var ErrNoVision = errors.New("inference: the model has no vision projector")

// ErrImage marks an image that cannot be decoded or is too large.
var ErrImage = vision.ErrImage

// AttachProjector loads the vision projector ("mmproj" file) at path for
// the model, so that prompts may carry images. The projector must feed
// vectors of the model's embedding size. Attaching again replaces the
// previous projector once no image is being encoded.
func (m *Model) AttachProjector(path string) error {
	p, err := vision.Open(path, m.dev)
	if err != nil {
		return fmt.Errorf("inference: %w", err)
	}
	if want := m.net.Config().EmbeddingLength; p.Dim() != want {
		p.Close()
		return fmt.Errorf("inference: projector %s makes vectors of %d values; the model's embeddings have %d", path, p.Dim(), want)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closing {
		p.Close()
		return fmt.Errorf("inference: model %s is closed", m.path)
	}
	old := m.vision
	m.vision = p
	if old != nil {
		return old.Close()
	}
	return nil
}

// HasVision reports whether a projector is attached.
func (m *Model) HasVision() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.vision != nil
}

// EncodeImage decodes an image (PNG, JPEG, GIF or WebP) and runs it through
// the projector. A bad image is an error wrapping ErrImage; a model without
// a projector gives ErrNoVision.
func (m *Model) EncodeImage(data []byte) (Image, error) {
	m.mu.Lock()
	p := m.vision
	m.mu.Unlock()
	if p == nil {
		return Image{}, ErrNoVision
	}
	img, err := vision.DecodeImage(data)
	if err != nil {
		return Image{}, err
	}
	emb, err := p.Encode(img, compute.Options{Threads: m.opts.Threads})
	if err != nil {
		return Image{}, fmt.Errorf("inference: %w", err)
	}
	h := fnv.New64a()
	h.Write(data)
	begin, end := p.Wrap()
	return Image{Embeddings: emb.Data, Tokens: emb.Tokens, Key: h.Sum64(), Begin: begin, End: end}, nil
}

// ImageLogits evaluates an image's vectors after what the session holds,
// as one batch in which they attend to one another both ways, and returns
// one row of n_vocab logits per vector. The caller puts the image's Begin
// and End text around it.
func (s *Session) ImageLogits(ctx context.Context, img Image) ([]float32, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seq == nil {
		return nil, fmt.Errorf("inference: session is closed")
	}
	ids := make([]int32, img.Tokens)
	for i := range ids {
		ids[i] = -1 - int32(i)
	}
	out, err := s.seq.EvalImage(ctx, ids, img.Embeddings, true)
	if err != nil {
		return nil, fmt.Errorf("inference: %w", err)
	}
	return append([]float32(nil), out...), nil
}
