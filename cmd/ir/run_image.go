package main

import (
	"fmt"
	"os"
	"path/filepath"

	"inferenceruntime/backend/service"
)

var (
	runMmproj string
	runImages []string
)

func init() {
	f := runCmd.Flags()
	f.StringVar(&runMmproj, "mmproj", "", "vision projector (mmproj GGUF) for the model; default: one with \"mmproj\" in its name next to the model file")
	f.StringArrayVar(&runImages, "image", nil, "image FILE (PNG, JPEG, GIF, WebP) for the prompt, needs PROMPT and a vision projector (repeatable; each goes where PROMPT says <__media__>, else in front)")
}

// runVision pairs the model with --mmproj and reads the --image files into
// the request.
func runVision(runner *service.Runner, ref service.ModelRef, req *service.GenerateRequest, oneShot bool) error {
	if runMmproj != "" {
		abs, err := filepath.Abs(runMmproj)
		if err != nil {
			return fmt.Errorf("--mmproj: %w", err)
		}
		if _, err := os.Stat(abs); err != nil {
			return fmt.Errorf("--mmproj: %w", err)
		}
		runner.SetProjector(ref.Path, abs)
	}
	if len(runImages) == 0 {
		return nil
	}
	if !oneShot {
		return fmt.Errorf("--image needs a PROMPT")
	}
	for _, path := range runImages {
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("--image: %w", err)
		}
		req.Images = append(req.Images, data)
	}
	return nil
}
