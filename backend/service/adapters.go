package service

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"sync"

	"inferenceruntime/inference"
	"inferenceruntime/inference/model"
)

// AdapterRef is a LoRA adapter file and the scale it is applied with.
type AdapterRef struct {
	Path  string  `json:"path"`
	Scale float64 `json:"scale"`
}

// LoraAdapter is one of the runner's own adapters (`--lora`), offered to
// every model it fits, with the scale requests use unless they name their
// own (llama-server's /lora-adapters).
type LoraAdapter struct {
	ID    int     `json:"id"`
	Path  string  `json:"path"`
	Scale float64 `json:"scale"`
}

// LoraScale is a request's scale for one of the runner's adapters, by id
// (llama-server's "lora": [{"id": 0, "scale": 0.5}]).
type LoraScale struct {
	ID    int     `json:"id"`
	Scale float64 `json:"scale"`
}

// entryAdapters are the adapters loaded for one loaded model: each file
// once, closed with the model. A file that does not fit the model is
// remembered as such.
type entryAdapters struct {
	mu     sync.Mutex
	loaded map[string]*inference.Adapter
	failed map[string]error
}

// SetLoraAdapters gives the runner its own adapters (replacing any), after
// checking that each is a LoRA adapter file. Whether one fits a model is
// only known when that model loads.
func (r *Runner) SetLoraAdapters(list []AdapterRef) error {
	out := make([]LoraAdapter, 0, len(list))
	for i, a := range list {
		if err := checkScale(a.Scale); err != nil {
			return fmt.Errorf("lora %s: %w", a.Path, err)
		}
		if err := checkAdapterFile(a.Path); err != nil {
			return fmt.Errorf("lora %s: %w", a.Path, err)
		}
		out = append(out, LoraAdapter{ID: i, Path: a.Path, Scale: a.Scale})
	}
	r.mu.Lock()
	r.loras = out
	r.mu.Unlock()
	return nil
}

// LoraAdapters lists the runner's own adapters and their scales.
func (r *Runner) LoraAdapters() []LoraAdapter {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]LoraAdapter{}, r.loras...)
}

// SetLoraScales sets the scales of the runner's adapters; adapters not
// listed get 0 (off), as in llama-server.
func (r *Runner) SetLoraScales(scales []LoraScale) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := checkLoraScales(scales, len(r.loras)); err != nil {
		return err
	}
	for i := range r.loras {
		r.loras[i].Scale = 0
	}
	for _, s := range scales {
		r.loras[s.ID].Scale = s.Scale
	}
	return nil
}

func checkLoraScales(scales []LoraScale, n int) error {
	for i, s := range scales {
		if s.ID < 0 || s.ID >= n {
			return Invalid(fmt.Sprintf("lora[%d].id", i), "there is no adapter %d (this server has %d; see GET /lora-adapters)", s.ID, n)
		}
		if err := checkScale(s.Scale); err != nil {
			return Invalid(fmt.Sprintf("lora[%d].scale", i), "%v", err)
		}
	}
	return nil
}

func checkScale(s float64) error {
	if math.IsNaN(s) || math.IsInf(s, 0) || math.Abs(s) > 100 {
		return fmt.Errorf("scale %v is not a number in [-100, 100]", s)
	}
	return nil
}

// adapterUses loads (once per loaded model) and returns the adapters a
// generation applies: the model's own (a custom model's ADAPTERs), then the
// runner's at the request's scales (or their global ones). A runner adapter
// that does not fit the model is left out, unless the request named it.
func (r *Runner) adapterUses(e *entry, own []AdapterRef, req []LoraScale) ([]model.AdapterUse, error) {
	r.mu.Lock()
	m := e.model
	global := append([]LoraAdapter(nil), r.loras...)
	r.mu.Unlock()
	if m == nil {
		return nil, fmt.Errorf("model %s is not loaded", e.ref.Name)
	}
	var uses []model.AdapterUse
	for _, a := range own {
		ad, err := e.adapters.get(m, a.Path)
		if err != nil {
			return nil, fmt.Errorf("model %s: adapter %s: %w", e.ref.Name, a.Path, err)
		}
		uses = append(uses, ad.Use(float32(a.Scale)))
	}
	named := map[int]bool{}
	if req != nil {
		for i := range global {
			global[i].Scale = 0
		}
		for _, s := range req {
			global[s.ID].Scale = s.Scale
			named[s.ID] = true
		}
	}
	for _, g := range global {
		if g.Scale == 0 {
			continue
		}
		ad, err := e.adapters.get(m, g.Path)
		if err != nil {
			if named[g.ID] {
				return nil, Invalid("lora", "adapter %d (%s) does not fit model %s: %v", g.ID, g.Path, e.ref.Name, err)
			}
			continue
		}
		uses = append(uses, ad.Use(float32(g.Scale)))
	}
	return uses, nil
}

func (ea *entryAdapters) get(m *inference.Model, path string) (*inference.Adapter, error) {
	ea.mu.Lock()
	defer ea.mu.Unlock()
	if a := ea.loaded[path]; a != nil {
		return a, nil
	}
	if err := ea.failed[path]; err != nil {
		return nil, err
	}
	a, err := m.LoadAdapter(path)
	if err != nil {
		// A missing file may come back; a misfit will not.
		if !errors.Is(err, os.ErrNotExist) {
			if ea.failed == nil {
				ea.failed = map[string]error{}
			}
			ea.failed[path] = err
		}
		return nil, err
	}
	if ea.loaded == nil {
		ea.loaded = map[string]*inference.Adapter{}
	}
	ea.loaded[path] = a
	return a, nil
}

// close frees the adapters; the model's sessions must be closed.
func (ea *entryAdapters) close() {
	ea.mu.Lock()
	defer ea.mu.Unlock()
	for _, a := range ea.loaded {
		a.Close()
	}
	ea.loaded, ea.failed = nil, nil
}

// LoadLoraAdapters loads the runner's adapters with a non-zero scale for
// the model name (loading it), so that one that does not fit is an error
// now rather than left out of every reply (`ir run --lora`).
func (r *Runner) LoadLoraAdapters(ctx context.Context, name string) error {
	ref, err := r.Resolve(ctx, name)
	if err != nil {
		return err
	}
	e, err := r.admit(ctx, ref, r.loadFor(GenerateOptions{}))
	if err != nil {
		return err
	}
	defer r.release(e, nil)
	if err := r.load(e); err != nil {
		return err
	}
	var named []LoraScale
	for _, a := range r.LoraAdapters() {
		if a.Scale != 0 {
			named = append(named, LoraScale{ID: a.ID, Scale: a.Scale})
		}
	}
	_, err = r.adapterUses(e, ref.Adapters, named)
	return err
}
