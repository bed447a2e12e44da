package main

import (
	"fmt"
	"path/filepath"

	"inferenceruntime/backend/modelfile"
	"inferenceruntime/backend/service"
)

// loraSet gives the runner the adapters of the --lora FILE[:SCALE] flags.
func loraSet(r *service.Runner, args []string) error {
	if len(args) == 0 {
		return nil
	}
	var list []service.AdapterRef
	for _, a := range args {
		path, scale, err := modelfile.SplitScale(a)
		if err != nil {
			return fmt.Errorf("--lora %s: %w", a, err)
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return fmt.Errorf("--lora %s: %w", a, err)
		}
		list = append(list, service.AdapterRef{Path: abs, Scale: scale})
	}
	return r.SetLoraAdapters(list)
}
