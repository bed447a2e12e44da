package library

import (
	"fmt"
	"strings"

	"inferenceruntime/inference/gguf"
)

// Meta is what the library remembers about a model's GGUF header, so that
// listing, the store's fit estimate and the app need not open the file.
type Meta struct {
	Architecture string `json:"architecture"`
	ModelName    string `json:"modelName,omitempty"` // general.name
	ParamCount   int64  `json:"paramCount"`          // sum of all tensor elements
	// Quant lists the tensor types used, largest share of bytes first.
	Quant         []gguf.QuantUse `json:"quant"`
	FileType      string          `json:"fileType,omitempty"` // general.file_type by name (Q4_K_M, ...)
	ContextLength int64           `json:"contextLength"`
	ChatTemplate  string          `json:"chatTemplate,omitempty"`
	VocabSize     int64           `json:"vocabSize"`
	HParams       HParams         `json:"hparams"`
}

// HParams are the hyper-parameters that decide the memory a model needs
// beyond its weights.
type HParams struct {
	Layers      int64 `json:"layers"`
	Embd        int64 `json:"embd"`
	Heads       int64 `json:"heads"`
	HeadsKV     int64 `json:"headsKV"`
	KeyLength   int64 `json:"keyLength"`   // per head
	ValueLength int64 `json:"valueLength"` // per head
}

// ReadMeta extracts Meta from an opened GGUF file.
func ReadMeta(f *gguf.File) Meta {
	s := gguf.Summarize(f)
	m := Meta{
		Architecture:  s.Architecture,
		ModelName:     s.Name,
		ParamCount:    s.Parameters,
		Quant:         s.Quant,
		FileType:      s.FileType,
		ContextLength: int64(s.ContextLength),
		VocabSize:     int64(s.VocabSize),
	}
	if m.FileType == "" && len(s.Quant) > 0 {
		m.FileType = s.Quant[0].Type
	}
	m.ChatTemplate, _ = f.String("tokenizer.chat_template")
	hp := &m.HParams
	hp.Layers, hp.Embd, hp.Heads, hp.HeadsKV = int64(s.Layers), int64(s.EmbeddingLength), int64(s.Heads), int64(s.HeadsKV)
	if hp.HeadsKV == 0 {
		hp.HeadsKV = hp.Heads
	}
	if n, ok := f.Uint(s.Architecture + ".attention.key_length"); ok {
		hp.KeyLength = int64(n)
	}
	if n, ok := f.Uint(s.Architecture + ".attention.value_length"); ok {
		hp.ValueLength = int64(n)
	}
	if hp.KeyLength == 0 && hp.Heads > 0 {
		hp.KeyLength = hp.Embd / hp.Heads
	}
	if hp.ValueLength == 0 {
		hp.ValueLength = hp.KeyLength
	}
	return m
}

// QuantSummary renders the quant mix as "Q4_K 71%, Q6_K 22%, F32 1%" by
// share of bytes, largest first.
func (m Meta) QuantSummary() string {
	var total int64
	for _, q := range m.Quant {
		total += q.Bytes
	}
	parts := make([]string, 0, len(m.Quant))
	for _, q := range m.Quant {
		pct := 0.0
		if total > 0 {
			pct = 100 * float64(q.Bytes) / float64(total)
		}
		parts = append(parts, fmt.Sprintf("%s %.0f%%", q.Type, pct))
	}
	return strings.Join(parts, ", ")
}
