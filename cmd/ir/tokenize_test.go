package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"inferenceruntime/inference/gguf"
)

// tokenizeRun runs `ir tokenize args...` in-process and returns its stdout.
func tokenizeRun(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	rootCmd.SetOut(&out)
	rootCmd.SetArgs(append([]string{"tokenize"}, args...))
	reset := func() {
		rootCmd.SetArgs(nil)
		rootCmd.SetOut(nil)
		tokenizeModel, tokenizePieces, tokenizeNoBOS, tokenizeSpecial = "", false, false, false
	}
	t.Cleanup(reset)
	err := rootCmd.Execute()
	reset()
	return out.String(), err
}

// tokenizeVocabFile writes a GGUF with a tiny SentencePiece vocabulary.
func tokenizeVocabFile(t *testing.T) string {
	t.Helper()
	w := gguf.NewWriter()
	for k, v := range map[string]any{
		"general.architecture":      "llama",
		"tokenizer.ggml.model":      "llama",
		"tokenizer.ggml.tokens":     []string{"<unk>", "<s>", "</s>", "▁", "h", "i", "▁h", "▁hi", "<|x|>"},
		"tokenizer.ggml.scores":     []float32{0, 0, 0, -1, -1, -1, -2, -3, 0},
		"tokenizer.ggml.token_type": []int32{2, 3, 3, 1, 1, 1, 1, 1, 3},
	} {
		if err := w.SetKV(k, v); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "vocab.gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTokenize(t *testing.T) {
	model := tokenizeVocabFile(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", model, "hi hi"}, "1 7 7\n"},
		{[]string{"--model", model, "--no-bos", "hi hi"}, "7 7\n"},
		{[]string{"--model", model, "--no-bos", "--special", "hi<|x|>"}, "7 8\n"},
		{[]string{"--model", model, "--pieces", "hi"}, "1\t\"<s>\"\n7\t\" hi\"\n"},
	} {
		got, err := tokenizeRun(t, c.args...)
		if err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if got != c.want {
			t.Errorf("%v: got %q, want %q", c.args, got, c.want)
		}
	}
}

func TestTokenizeErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.gguf")
	if err := os.WriteFile(junk, []byte("GGUF\x03\x00\x00\x00garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	noVocab := filepath.Join(dir, "novocab.gguf")
	w := gguf.NewWriter()
	_ = w.SetKV("general.architecture", "llama")
	if err := w.WriteFile(noVocab); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"hi"}, // no --model
		{"--model", filepath.Join(dir, "missing.gguf"), "hi"},
		{"--model", junk, "hi"},
		{"--model", noVocab, "hi"},
	} {
		_, err := tokenizeRun(t, args...)
		if err == nil {
			t.Errorf("%v: no error", args)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error is not one line: %q", args, err)
		}
	}
}
