package httpapi

import (
	"net/http"
	"strings"
	"testing"

	"inferenceruntime/backend/service"
	"inferenceruntime/inference/compute"
)

// generateOnce asks for one token of model with the given options and
// returns the reply.
func (e *env) generateOnce(t *testing.T, model string, options map[string]any) map[string]any {
	t.Helper()
	r := e.do("POST", "/api/generate", map[string]any{"model": model, "prompt": "a", "stream": false,
		"keep_alive": "1h", "options": options})
	if r.status != http.StatusOK {
		t.Fatalf("generate %s %v: %d %s", model, options, r.status, r.body)
	}
	return r.json(t)
}

// psOf is the /api/ps entry of model.
func (e *env) psOf(t *testing.T, model string) map[string]any {
	t.Helper()
	for _, m := range e.do("GET", "/api/ps", nil).json(t)["models"].([]any) {
		if m := m.(map[string]any); m["name"] == model {
			return m
		}
	}
	t.Fatalf("%s is not loaded", model)
	return nil
}

func reloaded(reply map[string]any) bool { return reply["load_duration"].(float64) > 0 }

// TestNumGPU: options.num_gpu places a request's model. On a model that
// runs on the CPU, num_gpu 0 changes nothing (no reload); out of range is
// a 400 naming it. With a Vulkan device (lavapipe in CI), num_gpu 1 loads
// the model again with one layer there, /api/ps says so, a request without
// num_gpu goes back to the server's placement, and a custom model's
// PARAMETER num_gpu places its requests.
func TestNumGPU(t *testing.T) {
	e := newEnv(t, envOptions{})
	if !reloaded(e.generateOnce(t, "tiny", map[string]any{"num_predict": 1})) {
		t.Fatal("the first request did not load the model")
	}
	ps := e.psOf(t, "tiny")
	if ps["device"] != "cpu" || ps["gpu_layers"].(float64) != 0 || ps["layers"].(float64) != 2 || ps["size_vram"].(float64) != 0 {
		t.Fatalf("ps on the CPU: %v", ps)
	}
	if reloaded(e.generateOnce(t, "tiny", map[string]any{"num_predict": 1, "num_gpu": 0})) {
		t.Error("num_gpu 0 reloaded a model that runs on the CPU")
	}
	if r := e.do("POST", "/api/generate", map[string]any{"model": "tiny", "prompt": "a", "options": map[string]any{"num_gpu": -2}}); r.status != http.StatusBadRequest || !strings.Contains(errorMessage(t, r), "options.num_gpu") {
		t.Errorf("num_gpu -2: %d %s", r.status, r.body)
	}

	if devs, err := compute.Devices("vulkan"); err != nil || len(devs) == 0 {
		t.Skipf("no Vulkan device for num_gpu 1 (%v); the CPU part passed", err)
	}
	// A server on the CPU by default (num_gpu 0 for every request), the
	// Vulkan device there for requests that ask.
	v := newEnv(t, envOptions{runner: service.RunnerOptions{Backend: "vulkan", GPULayers: service.GPULayersNone}})
	v.generateOnce(t, "tiny", map[string]any{"num_predict": 1})
	if ps := v.psOf(t, "tiny"); ps["device"] != "cpu" {
		t.Fatalf("default placement: %v", ps)
	}
	if !reloaded(v.generateOnce(t, "tiny", map[string]any{"num_predict": 1, "num_gpu": 1})) {
		t.Fatal("num_gpu 1 did not reload the model")
	}
	ps = v.psOf(t, "tiny")
	if ps["device"] != "vulkan0+cpu" || ps["gpu_layers"].(float64) != 1 || ps["size_vram"].(float64) <= 0 {
		t.Fatalf("ps with num_gpu 1: %v", ps)
	}
	if reloaded(v.generateOnce(t, "tiny", map[string]any{"num_predict": 1, "num_gpu": 1})) {
		t.Error("the same num_gpu reloaded the model")
	}
	if !reloaded(v.generateOnce(t, "tiny", map[string]any{"num_predict": 1})) || v.psOf(t, "tiny")["device"] != "cpu" {
		t.Errorf("a request without num_gpu did not go back to the CPU: %v", v.psOf(t, "tiny"))
	}

	// PARAMETER num_gpu of a custom model (the same file: one entry).
	if r := v.do("POST", "/api/create", map[string]any{"model": "tiny-gpu", "from": "tiny",
		"parameters": map[string]any{"num_gpu": 2}}); r.status != http.StatusOK {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	v.generateOnce(t, "tiny-gpu", map[string]any{"num_predict": 1})
	if ps := v.psOf(t, "tiny-gpu"); ps["gpu_layers"].(float64) != 2 || !strings.HasPrefix(ps["device"].(string), "vulkan0") {
		t.Errorf("PARAMETER num_gpu 2: %v", ps)
	}
}

// TestUseMmapOption: Ollama's options.use_mmap and use_mlock reach the
// load: a model loaded otherwise loads again, the same options keep it,
// and a non-boolean is a 400.
func TestUseMmapOption(t *testing.T) {
	e := newEnv(t, envOptions{})
	for i, c := range []struct {
		options map[string]any
		reload  bool
	}{
		{map[string]any{}, true},
		{map[string]any{"use_mmap": true, "use_mlock": false}, false},
		{map[string]any{"use_mmap": false}, true},
		{map[string]any{"use_mmap": false}, false},
		{map[string]any{}, true},
	} {
		c.options["num_predict"] = 1
		if got := reloaded(e.generateOnce(t, "tiny", c.options)); got != c.reload {
			t.Errorf("request %d %v: loaded again %v, want %v", i, c.options, got, c.reload)
		}
	}
	if r := e.do("POST", "/api/generate", map[string]any{"model": "tiny", "prompt": "a", "options": map[string]any{"use_mmap": "no"}}); r.status != http.StatusBadRequest {
		t.Errorf("use_mmap \"no\": %d %s", r.status, r.body)
	}
}
