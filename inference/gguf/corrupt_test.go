package gguf

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"inferenceruntime/inference/gguf/ggufcorrupt"
)

// TestCorruptFiles: every corrupt file of ggufcorrupt fails to parse, from
// bytes and from a file on disk, with a *FormatError saying why (and, from
// a file, naming it).
func TestCorruptFiles(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range ggufcorrupt.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			_, err := Parse(tc.Make())
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			if !strings.Contains(err.Error(), tc.Want) {
				t.Errorf("error %q\ndoes not contain %q", err, tc.Want)
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Errorf("error %q is not a *FormatError", err)
			}
			path, err := tc.Write(dir)
			must(t, err)
			if _, err := Open(path); err == nil || !strings.Contains(err.Error(), tc.Want) || !strings.Contains(err.Error(), path) {
				t.Errorf("Open: %v", err)
			}
		})
	}
}

// TestCorruptConstants: ggufcorrupt's value type codes and limits are
// this package's.
func TestCorruptConstants(t *testing.T) {
	for _, c := range []struct{ ours, theirs uint64 }{
		{uint64(Uint8), ggufcorrupt.Uint8}, {uint64(Int8), ggufcorrupt.Int8}, {uint64(Int16), ggufcorrupt.Int16},
		{uint64(Uint32), ggufcorrupt.Uint32}, {uint64(Float32), ggufcorrupt.Float32}, {uint64(Bool), ggufcorrupt.Bool},
		{uint64(String), ggufcorrupt.String}, {uint64(Array), ggufcorrupt.Array}, {uint64(Uint64), ggufcorrupt.Uint64},
		{uint64(Float64), ggufcorrupt.Float64}, {DefaultAlignment, ggufcorrupt.Alignment},
	} {
		if c.ours != c.theirs {
			t.Errorf("gguf has %d where ggufcorrupt has %d", c.ours, c.theirs)
		}
	}
}

// validFiles are valid files to cut: a Writer file, and three real models
// (one per family of the shared models) when present.
func validFiles(t *testing.T) map[string][]byte {
	files := map[string][]byte{"writer-sample": writeBytes(t, sampleWriter(t))}
	if models, ok := sharedModelsIfPresent(t); ok {
		for _, name := range []string{"stories260K-Q4_0.gguf", "quants/zoo-Q4_K.gguf", "conf-tiny/tiny-qwen2-Q8_0.gguf"} {
			b, err := os.ReadFile(filepath.Join(models, name))
			must(t, err)
			files[name] = b
		}
	}
	return files
}

// TestTruncation cuts real files at every byte of their header (and at
// steps through their tensor data): every cut that loses part of the header
// or of a tensor must be an error.
func TestTruncation(t *testing.T) {
	for name, data := range validFiles(t) {
		f, err := Parse(data)
		must(t, err)
		// The data that must be present: through the end of the last tensor.
		need := f.DataOffset
		for _, ti := range f.Tensors {
			need = max(need, f.DataOffset+int64(ti.Offset)+ti.Size)
		}
		headerEnd := int(f.DataOffset)
		cuts := 0
		for n := 0; n < int(need); n++ {
			if n > headerEnd && (n-headerEnd)%97 != 0 {
				continue // sample the tensor data; every header byte is tried
			}
			cuts++
			if _, err := Parse(data[:n]); err == nil {
				t.Fatalf("%s cut at %d of %d bytes parsed without error", name, n, len(data))
			}
		}
		t.Logf("%s: %d cuts, header %d bytes", name, cuts, headerEnd)
	}
}
