package inference

import (
	"fmt"

	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/model"
)

// Adapter is a LoRA adapter file opened for one model. Apply it to a
// request with Use; any number of requests may use it at once.
type Adapter struct {
	*model.Adapter
	Path string
	file *gguf.File
}

// LoadAdapter opens the LoRA adapter at path for m, checking that it was
// made for m's architecture and fits the weights it targets. The base
// weights are not touched: the adapter's products are added beside them.
func (m *Model) LoadAdapter(path string) (*Adapter, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("inference: %w", err)
	}
	a, err := model.OpenAdapter(f, m.net, m.dev)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("inference: %s: %w", path, err)
	}
	return &Adapter{Adapter: a, Path: path, file: f}, nil
}

// Use is the adapter applied with scale (1 as trained; 0 turns it off).
func (a *Adapter) Use(scale float32) model.AdapterUse {
	return model.AdapterUse{Adapter: a.Adapter, Scale: scale}
}

// Close frees the adapter. No request may use it any more.
func (a *Adapter) Close() error {
	err := a.Adapter.Close()
	if cerr := a.file.Close(); err == nil {
		err = cerr
	}
	return err
}

// SetAdapters applies uses to what the session evaluates from now on
// (Eval, Feed, Logits); Generate sets its request's own. A change empties
// the cache, which was computed with the previous ones.
func (s *Session) SetAdapters(uses ...model.AdapterUse) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seq != nil {
		s.seq.SetAdapters(uses)
	}
}
