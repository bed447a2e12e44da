package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"inferenceruntime/backend/library"
	"inferenceruntime/inference"
)

var (
	logitsMmproj    string
	logitsImages    []string
	logitsAppendIDs string
)

func init() {
	f := logitsCmd.Flags()
	f.StringVar(&logitsMmproj, "mmproj", "", "vision projector for --image (default: a *mmproj*.gguf next to the model file)")
	f.StringArrayVar(&logitsImages, "image", nil, "image FILE for a <__media__> marker of --prompt (repeatable; markers missing go in front)")
	f.StringVar(&logitsAppendIDs, "append-ids", "", "comma-separated token ids evaluated after the prompt (teacher forcing)")
}

// logitsWithImages evaluates --prompt with --image files laid out as
// llama.cpp's mtmd does (BOS, each piece of text on its own, each image as
// its begin text, its vectors as one batch attending both ways, its end
// text), then --append-ids, and returns every position's logits in order.
func logitsWithImages(ctx context.Context, m *inference.Model, modelPath string) ([]float32, error) {
	proj := logitsMmproj
	if proj == "" {
		proj = library.FindProjector(modelPath, 0)
	}
	if proj == "" {
		return nil, fmt.Errorf("--image needs a vision projector: give --mmproj FILE")
	}
	if err := m.AttachProjector(proj); err != nil {
		return nil, err
	}
	var images []inference.Image
	for _, path := range logitsImages {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("--image: %w", err)
		}
		img, err := m.EncodeImage(data)
		if err != nil {
			return nil, fmt.Errorf("--image %s: %w", path, err)
		}
		images = append(images, img)
	}
	prompt := logitsPrompt
	if n := strings.Count(prompt, inference.MediaMarker); n > len(images) {
		return nil, fmt.Errorf("--prompt has %d image markers for %d images", n, len(images))
	} else {
		prompt = strings.Repeat(inference.MediaMarker, len(images)-n) + prompt
	}
	var appended []int32
	if logitsAppendIDs != "" {
		var err error
		if appended, err = logitsParseIDs(logitsAppendIDs); err != nil {
			return nil, err
		}
	}
	s, err := m.NewSession(inference.SessionOptions{})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	tok := m.Tokenizer()
	var pending []int32
	if bos := tok.BOS(); tok.AddBOS() && bos >= 0 {
		pending = append(pending, bos)
	}
	var out []float32
	addText := func(text string) error {
		if text == "" {
			return nil
		}
		ids, err := tok.Encode(text, false, true)
		pending = append(pending, ids...)
		return err
	}
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		rows, err := s.Logits(ctx, pending)
		out, pending = append(out, rows...), pending[:0]
		return err
	}
	for i, piece := range strings.Split(prompt, inference.MediaMarker) {
		if err := addText(piece); err != nil {
			return nil, err
		}
		if i == len(images) {
			break
		}
		if err := addText(images[i].Begin); err != nil {
			return nil, err
		}
		if err := flush(); err != nil {
			return nil, err
		}
		rows, err := s.ImageLogits(ctx, images[i])
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
		if err := addText(images[i].End); err != nil {
			return nil, err
		}
	}
	pending = append(pending, appended...)
	return out, flush()
}
