package main

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	wruntime "github.com/wailsapp/wails/v2/pkg/runtime"

	"inferenceruntime/backend/library"
	"inferenceruntime/backend/modelfile"
	"inferenceruntime/backend/service"
)

// CustomModelRequest is what the Models view's Customize dialog sends: a new
// model on an installed one, with a system prompt, parameters (Ollama's
// names: temperature, top_k, num_ctx, ...) and optionally one LoRA adapter.
type CustomModelRequest struct {
	Name         string             `json:"name"`
	From         string             `json:"from"`
	System       string             `json:"system"`
	Parameters   map[string]float64 `json:"parameters"`
	Adapter      string             `json:"adapter"`
	AdapterScale float64            `json:"adapterScale"`
}

// CreateCustomModel makes a custom model (see `ir create`); chats can pick
// it like any model. A mistake names the field and creates nothing.
func (a *App) CreateCustomModel(req CustomModelRequest) (*library.Model, error) {
	svc, err := a.service()
	if err != nil {
		return nil, err
	}
	f := &modelfile.File{From: req.From}
	if s := strings.TrimSpace(req.System); s != "" {
		f.System = &s
	}
	names := make([]string, 0, len(req.Parameters))
	for k := range req.Parameters {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if err := f.Parameters.Set(k, fmt.Sprint(req.Parameters[k])); err != nil {
			return nil, err
		}
	}
	if req.Adapter != "" {
		scale := req.AdapterScale
		if scale == 0 {
			scale = 1
		}
		f.Adapters = []modelfile.Adapter{{Path: req.Adapter, Scale: scale}}
	}
	m, err := svc.CreateModel(a.context(), strings.TrimSpace(req.Name), f, service.CreateOptions{AllowPaths: true})
	var inv *service.InvalidError
	if errors.As(err, &inv) {
		// The dialog has fields, not Modelfile lines.
		return nil, errors.New(strings.TrimPrefix(inv.Msg, "ADAPTER "))
	}
	return m, err
}

// ChooseAdapterFile opens a file dialog for a LoRA adapter (.gguf) and
// returns its path ("" when cancelled).
func (a *App) ChooseAdapterFile() (string, error) {
	if a.ctx == nil {
		return "", errors.New("no window")
	}
	return wruntime.OpenFileDialog(a.ctx, wruntime.OpenDialogOptions{
		Title:   "Choose a LoRA adapter",
		Filters: []wruntime.FileFilter{{DisplayName: "LoRA adapters (*.gguf)", Pattern: "*.gguf"}, {DisplayName: "All files", Pattern: "*"}},
	})
}
