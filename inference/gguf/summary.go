package gguf

import (
	"fmt"
	"sort"
	"strconv"

	"inferenceruntime/inference/quant"
)

// Summary is what a person wants to know about a model file at a glance:
// the basis of `ir info` and of the library's model list. Numbers that the
// file does not state are 0 (or "" for strings).
type Summary struct {
	Version      uint32 `json:"version"`
	FileSize     int64  `json:"file_size"`
	Architecture string `json:"architecture"`
	Name         string `json:"name,omitempty"`
	// Parameters is the sum of the element counts of all tensors.
	Parameters int64 `json:"parameters"`
	// FileType is the label of general.file_type (e.g. "Q4_K_M"), or "".
	FileType   string `json:"file_type,omitempty"`
	FileTypeID int64  `json:"file_type_id"` // -1 when absent
	// Quant lists the tensor types used, largest share of bytes first.
	Quant           []QuantUse `json:"quant"`
	ContextLength   uint64     `json:"context_length"`
	EmbeddingLength uint64     `json:"embedding_length"`
	Layers          uint64     `json:"layers"`
	Heads           uint64     `json:"heads"`
	HeadsKV         uint64     `json:"heads_kv"`
	// VocabModel is tokenizer.ggml.model ("llama", "gpt2", …).
	VocabModel         string `json:"vocab_model,omitempty"`
	VocabSize          int    `json:"vocab_size"`
	ChatTemplate       bool   `json:"chat_template"`
	ChatTemplateLength int    `json:"chat_template_length"`
	TensorCount        int    `json:"tensor_count"`
	Alignment          uint64 `json:"alignment"`
}

// QuantUse is how many tensors, elements and bytes one tensor type takes.
type QuantUse struct {
	Type     string `json:"type"`
	Tensors  int    `json:"tensors"`
	Elements int64  `json:"elements"`
	Bytes    int64  `json:"bytes"`
}

// Summarize gathers a Summary from a parsed file.
func Summarize(f *File) Summary {
	arch := f.Architecture()
	s := Summary{
		Version:      f.Version,
		FileSize:     f.Size(),
		Architecture: arch,
		FileTypeID:   -1,
		TensorCount:  len(f.Tensors),
		Alignment:    f.Alignment,
	}
	s.Name, _ = f.String("general.name")
	if id, ok := f.Int("general.file_type"); ok {
		s.FileTypeID = id
		s.FileType = FileTypeName(id)
	}
	s.ContextLength = f.archUint(arch, "context_length")
	s.EmbeddingLength = f.archUint(arch, "embedding_length")
	s.Layers = f.archUint(arch, "block_count")
	s.Heads = f.archUint(arch, "attention.head_count")
	s.HeadsKV = f.archUint(arch, "attention.head_count_kv")
	s.VocabModel, _ = f.String("tokenizer.ggml.model")
	if v, ok := f.Get("tokenizer.ggml.tokens"); ok && v.Type == Array {
		s.VocabSize = v.Len()
	} else if n := f.archUint(arch, "vocab_size"); n > 0 && n <= 1<<31 {
		s.VocabSize = int(n)
	}
	if tmpl, ok := f.String("tokenizer.chat_template"); ok {
		s.ChatTemplate, s.ChatTemplateLength = true, len(tmpl)
	}
	uses := map[quant.Type]*QuantUse{}
	for _, t := range f.Tensors {
		u := uses[t.Type]
		if u == nil {
			u = &QuantUse{Type: t.Type.String()}
			uses[t.Type] = u
		}
		n := t.Elements()
		u.Tensors++
		u.Elements += n
		u.Bytes += t.Size
		s.Parameters += n // each <= 2^56 and bounded by the file's bytes in total
	}
	for _, u := range uses {
		s.Quant = append(s.Quant, *u)
	}
	sort.Slice(s.Quant, func(i, j int) bool {
		a, b := s.Quant[i], s.Quant[j]
		if a.Bytes != b.Bytes {
			return a.Bytes > b.Bytes
		}
		return a.Type < b.Type
	})
	return s
}

// archUint reads "<arch>.<key>"; a per-layer array (as some architectures
// store head counts) gives its largest element.
func (f *File) archUint(arch, key string) uint64 {
	v, ok := f.Get(arch + "." + key)
	if !ok {
		return 0
	}
	if n, ok := v.AsUint(); ok {
		return n
	}
	var most uint64
	for i := range v.Len() {
		if e, ok := v.Index(i); ok {
			n, _ := e.AsUint()
			most = max(most, n)
		}
	}
	return most
}

// fileTypes are llama.cpp's names for the values of general.file_type (its
// llama_ftype enum, without the MOSTLY_ prefix). Missing ids were retired.
var fileTypes = map[int64]string{
	0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1",
	10: "Q2_K", 11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M",
	16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S",
	22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M",
	28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0",
	37: "TQ2_0", 38: "MXFP4_MOE",
}

// FileTypeName is the label of a general.file_type value, or "unknown(N)".
func FileTypeName(id int64) string {
	if s, ok := fileTypes[id]; ok {
		return s
	}
	return fmt.Sprintf("unknown(%d)", id)
}

// FileTypeID is the general.file_type value llama.cpp uses for a label
// such as "Q4_K_M" (the inverse of FileTypeName).
func FileTypeID(name string) (int64, bool) {
	for id, s := range fileTypes {
		if s == name {
			return id, true
		}
	}
	return 0, false
}

// FormatCount writes a count with three significant digits and a K, M, B or
// T suffix: 1240000000 -> "1.24B", 260000 -> "260K", 999 -> "999".
func FormatCount(n int64) string {
	units := []struct {
		div    float64
		suffix string
	}{{1e12, "T"}, {1e9, "B"}, {1e6, "M"}, {1e3, "K"}}
	for _, u := range units {
		if float64(n) >= u.div*0.9995 {
			v, _ := strconv.ParseFloat(strconv.FormatFloat(float64(n)/u.div, 'g', 3, 64), 64)
			return strconv.FormatFloat(v, 'f', -1, 64) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}
