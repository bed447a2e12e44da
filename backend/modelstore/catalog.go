// Package modelstore is the model store: a curated catalog of popular GGUF
// models on Hugging Face, the resolution of any Hugging Face repository and
// quant tag to a file, and resumable, verified downloads that end as models
// in the library.
//
// Downloads write to downloads/<id>.partial in the library's store, resume
// with Range and If-Range, retry with backoff on drops and stalls, hash
// while they write, and are checked against the catalog's SHA-256 or the
// server's content hash before the library adopts the file. Their state is
// kept in SQLite, so a download interrupted by a restart, or a kill,
// continues where it stopped.
package modelstore

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"

	"inferenceruntime/backend/library"
)

//go:embed catalog.json
var catalogJSON []byte

// CatalogModel is one curated model with its quantized variants.
type CatalogModel struct {
	ID          string          `json:"id"` // short name: "qwen2.5-0.5b-instruct"
	Name        string          `json:"name"`
	Family      string          `json:"family"` // general.architecture of its files (must be registered with package model)
	Params      string          `json:"params"` // "0.5B"
	Repo        string          `json:"repo"`   // Hugging Face repository
	License     string          `json:"license"`
	Description string          `json:"description"`
	HParams     library.HParams `json:"hparams"`
	VocabSize   int64           `json:"vocabSize"`
	Context     int64           `json:"contextLength"`
	Default     string          `json:"default"` // quant pulled when none is named
	Variants    []Variant       `json:"variants"`
	// Projector is the vision projector pulled with every variant; nil for
	// a text-only model.
	Projector *Projector `json:"projector,omitempty"`
}

// Variant is one file of a catalog model.
type Variant struct {
	Quant  string `json:"quant"` // "Q4_K_M"
	File   string `json:"file"`  // path inside the repository
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256,omitempty"`
	// SizeExact is false for sizes rounded from the model page.
	SizeExact bool `json:"sizeExact,omitempty"`
}

// Catalog is the curated list.
type Catalog struct {
	Models []CatalogModel `json:"models"`
}

// LoadCatalog returns the catalog compiled into the binary, after checking
// it (unique ids, known default quants, well-formed hashes).
func LoadCatalog() (*Catalog, error) {
	return parseCatalog(catalogJSON)
}

func parseCatalog(data []byte) (*Catalog, error) {
	var c Catalog
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	seen := map[string]bool{}
	for _, m := range c.Models {
		if m.ID == "" || seen[m.ID] || library.ValidateName(m.ID) != nil {
			return nil, fmt.Errorf("catalog: bad or duplicate id %q", m.ID)
		}
		seen[m.ID] = true
		if _, _, err := splitRepo(m.Repo); err != nil {
			return nil, fmt.Errorf("catalog %s: %w", m.ID, err)
		}
		if _, ok := m.Variant(m.Default); !ok {
			return nil, fmt.Errorf("catalog %s: default quant %q has no variant", m.ID, m.Default)
		}
		for _, v := range m.Variants {
			if v.File == "" || v.Size <= 0 || (v.SHA256 != "" && !library.ValidDigest(v.SHA256)) {
				return nil, fmt.Errorf("catalog %s: bad variant %+v", m.ID, v)
			}
		}
		if p := m.Projector; p != nil && (cleanFile(p.File) != nil || p.Size <= 0 || (p.SHA256 != "" && !library.ValidDigest(p.SHA256))) {
			return nil, fmt.Errorf("catalog %s: bad projector %+v", m.ID, *p)
		}
	}
	return &c, nil
}

// Variant returns the variant with the quant tag (any case).
func (m CatalogModel) Variant(quant string) (Variant, bool) {
	for _, v := range m.Variants {
		if strings.EqualFold(v.Quant, quant) {
			return v, true
		}
	}
	return Variant{}, false
}

// Meta is the metadata the catalog knows for a variant, enough for a fit
// estimate before anything is downloaded.
func (m CatalogModel) Meta(v Variant) library.Meta {
	return library.Meta{Architecture: m.Family, ContextLength: m.Context, VocabSize: m.VocabSize,
		HParams: m.HParams, FileType: v.Quant}
}

// Find returns the catalog model with the id (any case).
func (c *Catalog) Find(id string) (CatalogModel, bool) {
	for _, m := range c.Models {
		if strings.EqualFold(m.ID, id) {
			return m, true
		}
	}
	return CatalogModel{}, false
}

// Search returns, in catalog order, the models whose id, name, family,
// repository or description contain every word of query (any case); all
// for "".
func (c *Catalog) Search(query string) []CatalogModel {
	words := strings.Fields(strings.ToLower(query))
	var out []CatalogModel
	for _, m := range c.Models {
		hay := strings.ToLower(strings.Join([]string{m.ID, m.Name, m.Family, m.Repo, m.Description, m.Params}, " "))
		ok := true
		for _, w := range words {
			if !strings.Contains(hay, w) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, m)
		}
	}
	return out
}
