package gguf

import (
	"testing"

	"inferenceruntime/inference/quant"
)

func TestFormatCount(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0"}, {999, "999"}, {1000, "1K"}, {1234, "1.23K"}, {260000, "260K"}, {292800, "293K"},
		{999499, "999K"}, {999500, "1M"}, {12_500_000, "12.5M"}, {1_240_000_000, "1.24B"},
		{70_553_706_496, "70.6B"}, {1_000_000_000_000, "1T"},
	} {
		if got := FormatCount(tc.n); got != tc.want {
			t.Errorf("FormatCount(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	w := NewWriter()
	for k, v := range map[string]any{
		"general.architecture":          "qwen2",
		"general.file_type":             uint32(7),
		"qwen2.context_length":          uint32(32768),
		"qwen2.embedding_length":        uint32(64),
		"qwen2.block_count":             uint32(2),
		"qwen2.attention.head_count":    []uint32{4, 8}, // per-layer counts
		"qwen2.attention.head_count_kv": uint32(2),
		"tokenizer.ggml.model":          "gpt2",
		"tokenizer.ggml.tokens":         []string{"a", "b"},
	} {
		must(t, w.SetKV(k, v))
	}
	must(t, w.AddTensor("a", quant.Q8_0, []uint64{64, 2}, make([]byte, 4*34)))
	must(t, w.AddTensor("b", quant.Q8_0, []uint64{32}, make([]byte, 34)))
	must(t, w.AddTensor("n", quant.F32, []uint64{64}, make([]byte, 256)))
	f, err := Parse(writeBytes(t, w))
	must(t, err)
	s := Summarize(f)
	if s.Architecture != "qwen2" || s.FileType != "Q8_0" || s.FileTypeID != 7 || s.ContextLength != 32768 ||
		s.EmbeddingLength != 64 || s.Layers != 2 || s.Heads != 8 || s.HeadsKV != 2 || s.VocabModel != "gpt2" ||
		s.VocabSize != 2 || s.ChatTemplate || s.TensorCount != 3 || s.Parameters != 128+32+64 {
		t.Errorf("%+v", s)
	}
	want := []QuantUse{{"F32", 1, 64, 256}, {"Q8_0", 2, 160, 170}}
	if len(s.Quant) != 2 || s.Quant[0] != want[0] || s.Quant[1] != want[1] {
		t.Errorf("quant mix %+v, want %+v", s.Quant, want)
	}
	if FileTypeName(99) != "unknown(99)" {
		t.Error(FileTypeName(99))
	}
}

// TestFileTypeID checks that FileTypeID inverts FileTypeName.
func TestFileTypeID(t *testing.T) {
	for id := range int64(40) {
		name := FileTypeName(id)
		got, ok := FileTypeID(name)
		if _, known := fileTypes[id]; known != ok || (ok && got != id) {
			t.Errorf("FileTypeID(%q) = %d, %v; want %d, %v", name, got, ok, id, known)
		}
	}
	if _, ok := FileTypeID("Q4_K"); ok {
		t.Error(`FileTypeID("Q4_K") found an id; llama.cpp has only the _S and _M mixes`)
	}
}
