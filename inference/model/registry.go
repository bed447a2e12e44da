package model

import (
	"fmt"
	"slices"
	"sync"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/gguf"
)

// Architecture builds runnable models of one family (or several closely
// related ones). Implementations register themselves with Register from an
// init function, as database/sql drivers do.
type Architecture interface {
	// New binds the weights of f for a model with the (already validated)
	// hyper-parameters cfg, checks every tensor shape against them and
	// places the weights on dev. The model reads f's mapping: keep f open
	// until the model is closed.
	New(f *gguf.File, cfg Config, dev compute.Device) (Model, error)
}

var (
	registryMu sync.RWMutex
	registry   = map[string]Architecture{}
	duplicates = map[string]bool{}
)

// Register makes an architecture available under the general.architecture
// name arch. Registering a name twice is a programming error: the first
// registration stays and Open reports the conflict.
func Register(arch string, a Architecture) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[arch]; dup || a == nil {
		duplicates[arch] = true
		return
	}
	registry[arch] = a
}

// Architectures lists the registered names, sorted.
func Architectures() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Open reads the hyper-parameters of f and binds its weights on dev with
// the architecture registered for general.architecture.
func Open(f *gguf.File, dev compute.Device) (Model, error) {
	cfg, err := ReadConfig(f)
	if err != nil {
		return nil, err
	}
	registryMu.RLock()
	a, ok := registry[cfg.Arch]
	dup := duplicates[cfg.Arch]
	registryMu.RUnlock()
	if dup {
		return nil, fmt.Errorf("model: architecture %q was registered more than once", cfg.Arch)
	}
	if !ok {
		return nil, fmt.Errorf("model: architecture %q is not supported (supported: %v)", cfg.Arch, Architectures())
	}
	m, err := a.New(f, cfg, dev)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Arch, err)
	}
	return m, nil
}
