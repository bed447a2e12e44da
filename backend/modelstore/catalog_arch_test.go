package modelstore

import (
	"slices"
	"testing"

	"inferenceruntime/inference/model"

	// The engine's public package pulls in every model family it can run,
	// so the registry below is the one the app and ir load models with.
	_ "inferenceruntime/inference"
)

// TestCatalogArchitecturesRun checks that the store tells the truth: every
// catalog entry names the general.architecture of its files, and that
// architecture is one the engine has registered. An entry for a family
// that cannot run here fails this test instead of a user's first chat.
func TestCatalogArchitecturesRun(t *testing.T) {
	c, err := LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	archs := model.Architectures()
	for _, m := range c.Models {
		if m.Family == "" {
			t.Errorf("%s: no architecture (family)", m.ID)
			continue
		}
		if !slices.Contains(archs, m.Family) {
			t.Errorf("%s: architecture %q is not registered with package model (registered: %v)", m.ID, m.Family, archs)
		}
		if got := m.Meta(m.Variants[0]).Architecture; got != m.Family {
			t.Errorf("%s: Meta architecture %q, want %q", m.ID, got, m.Family)
		}
	}
}

// TestCatalogHParams checks the hyper-parameters the fit estimate reads
// before a download: grouped-query heads divide evenly and every head size
// is given (Gemma and Qwen3 heads are not embd/heads wide).
func TestCatalogHParams(t *testing.T) {
	c, err := LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range c.Models {
		hp := m.HParams
		if hp.Layers <= 0 || hp.Embd <= 0 || hp.Heads <= 0 || hp.HeadsKV <= 0 || hp.Heads%hp.HeadsKV != 0 ||
			hp.KeyLength <= 0 || hp.ValueLength <= 0 || m.VocabSize <= 0 || m.Context <= 0 {
			t.Errorf("%s: hparams %+v, vocabulary %d, context %d", m.ID, hp, m.VocabSize, m.Context)
		}
		for _, v := range m.Variants {
			if v.Size <= 0 {
				t.Errorf("%s %s: size %d", m.ID, v.Quant, v.Size)
			}
		}
	}
}
