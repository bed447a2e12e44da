package service

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"

	"inferenceruntime/backend/library"
	"inferenceruntime/inference"
	"inferenceruntime/inference/vision"
)

// SetProjector pairs the model file at modelPath with the vision projector
// ("mmproj") file at projPath; "" removes the pairing. A model loaded
// before the call keeps what it had until it is loaded again.
func (r *Runner) SetProjector(modelPath, projPath string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.projectors == nil {
		r.projectors = map[string]string{}
	}
	if projPath == "" {
		delete(r.projectors, modelPath)
		return
	}
	r.projectors[modelPath] = projPath
}

// projectorFor is the projector of a model: the one SetProjector paired
// with it (a --mmproj flag), else the library's pairing, else one found
// next to its file (FindProjector); "" when none.
// explicit tells whether the pairing was asked for (its errors count).
func (r *Runner) projectorFor(ref ModelRef) (path string, explicit bool) {
	r.mu.Lock()
	p, ok := r.projectors[ref.Path]
	r.mu.Unlock()
	if ok {
		return p, true
	}
	if ref.Projector != "" {
		return ref.Projector, true
	}
	return FindProjector(ref.Path, int(ref.Meta.HParams.Embd)), false
}

// FindProjector looks in the folder of a model file for a vision projector
// that fits it (see library.FindProjector); "" when there is none.
func FindProjector(modelPath string, nEmbd int) string {
	return library.FindProjector(modelPath, nEmbd)
}

// attachProjector gives a freshly loaded model its projector, if it has
// one. A projector found by looking around that does not load is ignored;
// one that was asked for is an error.
func (r *Runner) attachProjector(ref ModelRef, m *inference.Model) error {
	path, explicit := r.projectorFor(ref)
	if path == "" {
		return nil
	}
	if err := m.AttachProjector(path); err != nil && explicit {
		return fmt.Errorf("vision projector for %s: %w", ref.Name, err)
	}
	return nil
}

// withMarkers returns the prompt with one media marker per image: as
// given when it already holds them all, else with the missing ones put in
// front (clients send images beside the text, not inside it).
func withMarkers(prompt string, images int) (string, error) {
	n := strings.Count(prompt, inference.MediaMarker)
	if n > images {
		return "", Invalid("images", "the prompt has %d image markers for %d images", n, images)
	}
	return strings.Repeat(inference.MediaMarker, images-n) + prompt, nil
}

// encodeImages runs a request's images through the model's projector.
func encodeImages(m *inference.Model, name string, images [][]byte) ([]inference.Image, error) {
	if !m.HasVision() {
		return nil, Invalid("images", "model %s has no vision projector, so it cannot take images", name)
	}
	out := make([]inference.Image, 0, len(images))
	for i, data := range images {
		img, err := m.EncodeImage(data)
		switch {
		case errors.Is(err, inference.ErrImage):
			return nil, Invalid("images", "image %d: %v", i, err)
		case err != nil:
			return nil, fmt.Errorf("image %d: %w", i, err)
		}
		out = append(out, img)
	}
	return out, nil
}

// placeImages checks that the model can take a request's images and puts
// a media marker for each image that has none in the text.
func (r *Runner) placeImages(ref ModelRef, req GenerateRequest) (GenerateRequest, error) {
	if path, _ := r.projectorFor(ref); path == "" {
		return req, Invalid("images", "model %s has no vision projector, so it cannot take images", ref.Name)
	}
	var err error
	if req.Messages == nil {
		req.Prompt, err = withMarkers(req.Prompt, len(req.Images))
		return req, err
	}
	have := 0
	for _, m := range req.Messages {
		have += strings.Count(m.Content, inference.MediaMarker)
	}
	if have >= len(req.Images) {
		_, err = withMarkers(strings.Repeat(inference.MediaMarker, have), len(req.Images))
		return req, err
	}
	msgs := slices.Clone(req.Messages)
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == "user" || i == 0 {
			msgs[i].Content = strings.Repeat(inference.MediaMarker, len(req.Images)-have) + msgs[i].Content
			break
		}
	}
	req.Messages = msgs
	return req, nil
}

// imageTokenCache remembers the positions per image of projector files,
// by path and size, so that checking a request does not reopen the file.
var imageTokenCache sync.Map // projectorKey -> int

type projectorKey struct {
	path string
	size int64
}

// imageTokens is how many context positions n images take with the
// model's projector: the vectors each becomes plus the two it is wrapped
// in (begin and end of image), known before anything is queued or loaded.
func (r *Runner) imageTokens(ref ModelRef, n int) (int, error) {
	if n == 0 {
		return 0, nil
	}
	path, _ := r.projectorFor(ref)
	info, err := os.Stat(path)
	if err != nil {
		return 0, Invalid("images", "model %s has no vision projector, so it cannot take images", ref.Name)
	}
	key := projectorKey{path, info.Size()}
	per, ok := imageTokenCache.Load(key)
	if !ok {
		t, err := vision.ImageTokens(path)
		if err != nil {
			return 0, fmt.Errorf("vision projector of %s: %w", ref.Name, err)
		}
		per, _ = imageTokenCache.LoadOrStore(key, t)
	}
	return n * (per.(int) + 2), nil
}
