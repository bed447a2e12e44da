package gguf

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"inferenceruntime/inference/gguf/ggufcorrupt"
)

// seedPrefix is how much of a large real file seeds the fuzzer: enough for
// the whole header of the small models, and the start of a vocabulary.
const seedPrefix = 64 << 10

// FuzzParse feeds arbitrary bytes to Parse. Every input must give either an
// error that is a *FormatError or a File whose tensors all lie inside the
// input and which survives a write/parse round trip unchanged.
func FuzzParse(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %q is not a *FormatError", err)
			}
			return
		}
		checkParsed(t, file, data)
	})
}

// fuzzSeeds are the inputs the GGUF fuzzers start from: Writer files, the
// corrupt files of ggufcorrupt, and the headers of the shared models when present.
func fuzzSeeds(f *testing.F) [][]byte {
	seeds := [][]byte{writeBytes(f, sampleWriter(f)), writeBytes(f, NewWriter())}
	for _, c := range ggufcorrupt.Cases {
		seeds = append(seeds, c.Make())
	}
	if models, ok := sharedModelsIfPresent(f); ok {
		_ = filepath.WalkDir(models, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || filepath.Ext(p) != ".gguf" {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			seeds = append(seeds, b[:min(len(b), seedPrefix)])
			if small, ok := shrinkTensors(b); ok && len(small) <= seedPrefix {
				seeds = append(seeds, small)
			}
			return nil
		})
	}
	return seeds
}

// shrinkTensors rebuilds a valid file with the metadata and tensor names and
// types of data, but each tensor cut to one block, so that a real model's
// whole header fits in a small seed.
func shrinkTensors(data []byte) ([]byte, bool) {
	f, err := Parse(data)
	if err != nil {
		return nil, false
	}
	w := NewWriter()
	for _, kv := range f.KV {
		if w.SetKV(kv.Key, kv.Value) != nil {
			return nil, false
		}
	}
	for _, t := range f.Tensors {
		if w.AddTensor(t.Name, t.Type, []uint64{uint64(t.Type.BlockSize())}, make([]byte, t.Type.TypeSize())) != nil {
			return nil, false
		}
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		return nil, false
	}
	return buf.Bytes(), true
}

// checkParsed asserts the invariants of a successfully parsed file.
func checkParsed(t *testing.T, file *File, data []byte) {
	w := NewWriter()
	for _, kv := range file.KV {
		if err := w.SetKV(kv.Key, kv.Value); err != nil {
			t.Fatalf("parsed key %q cannot be written back: %v", kv.Key, err)
		}
	}
	for _, ti := range file.Tensors {
		d, err := file.TensorData(ti)
		if err != nil {
			t.Fatalf("tensor %q: %v", ti.Name, err)
		}
		if file.DataOffset+int64(ti.Offset)+ti.Size > int64(len(data)) || int64(len(d)) != ti.Size {
			t.Fatalf("tensor %q: %d bytes at %d+%d in a %d byte input", ti.Name, len(d), file.DataOffset, ti.Offset, len(data))
		}
		if err := w.AddTensor(ti.Name, ti.Type, ti.Dims, d); err != nil {
			t.Fatalf("parsed tensor %q cannot be written back: %v", ti.Name, err)
		}
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	again, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatalf("re-written file does not parse: %v", err)
	}
	if len(again.KV) != len(file.KV) || len(again.Tensors) != len(file.Tensors) || again.Alignment != file.Alignment {
		t.Fatalf("round trip changed the header: %d/%d keys, %d/%d tensors", len(again.KV), len(file.KV), len(again.Tensors), len(file.Tensors))
	}
	for i, kv := range file.KV {
		a, b := again.KV[i].Value, kv.Value
		if again.KV[i].Key != kv.Key || a.Type != b.Type || !bytes.Equal(appendValue(nil, a), appendValue(nil, b)) {
			t.Fatalf("round trip changed key %q", kv.Key)
		}
	}
}
