package gguf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"inferenceruntime/inference/gguf/ggufcorrupt"
	"inferenceruntime/inference/quant"
)

// sameHeader describes how two parsed headers differ ("" when they agree).
func sameHeader(a, b *File) string {
	switch {
	case a.Version != b.Version || a.Alignment != b.Alignment || a.DataOffset != b.DataOffset:
		return fmt.Sprintf("version/alignment/data offset %d/%d/%d vs %d/%d/%d", a.Version, a.Alignment, a.DataOffset, b.Version, b.Alignment, b.DataOffset)
	case !reflect.DeepEqual(a.Tensors, b.Tensors):
		return "tensor infos differ"
	case len(a.KV) != len(b.KV):
		return fmt.Sprintf("%d vs %d keys", len(a.KV), len(b.KV))
	}
	for i := range a.KV {
		x, y := a.KV[i], b.KV[i]
		if x.Key != y.Key || x.Value.Type != y.Value.Type || !bytes.Equal(appendValue(nil, x.Value), appendValue(nil, y.Value)) {
			return fmt.Sprintf("key %d: %q vs %q", i, x.Key, y.Key)
		}
	}
	return ""
}

// checkPrefixParse asserts what ParseHeader must do with the first n bytes
// of data, given Parse's result for all of it: report a short header, or
// give exactly Parse's header or error.
func checkPrefixParse(t *testing.T, data []byte, n int, full *File, fullErr error) (short bool) {
	t.Helper()
	f, err := ParseHeader(data[:n], int64(len(data)))
	switch {
	case errors.Is(err, ErrShortHeader):
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("prefix %d: short header error does not match io.ErrUnexpectedEOF: %v", n, err)
		}
		if n == len(data) {
			t.Fatalf("the whole file was given, yet the header is short: %v", err)
		}
		return true
	case fullErr != nil:
		if err == nil || err.Error() != fullErr.Error() {
			t.Fatalf("prefix %d: error %v, whole file: %v", n, err, fullErr)
		}
	case err != nil:
		t.Fatalf("prefix %d of a valid file: %v", n, err)
	default:
		if d := sameHeader(f, full); d != "" {
			t.Fatalf("prefix %d: header differs from Parse's: %s", n, d)
		}
		if f.Size() != int64(len(data)) {
			t.Fatalf("prefix %d: Size %d, file %d", n, f.Size(), len(data))
		}
		for _, ti := range f.Tensors {
			if _, err := f.TensorData(ti); !errors.Is(err, ErrNoData) {
				t.Fatalf("TensorData(%s) = %v, want ErrNoData", ti.Name, err)
			}
		}
	}
	return false
}

// TestParseHeaderPrefixes gives ParseHeader every prefix of valid files'
// headers: short prefixes must say so, and from the end of the tensor
// infos on, the header must equal Parse's.
func TestParseHeaderPrefixes(t *testing.T) {
	files := validFiles(t)
	files["writer-empty"] = writeBytes(t, NewWriter())
	for name, data := range files {
		t.Run(name, func(t *testing.T) {
			full, err := Parse(data)
			must(t, err)
			// The header ends somewhere in the alignment padding before the
			// data section; every shorter prefix is short, every longer one
			// complete.
			firstFull := -1
			for n := 0; n <= len(data) && n <= int(full.DataOffset); n++ {
				short := checkPrefixParse(t, data, n, full, nil)
				switch {
				case !short && firstFull < 0:
					firstFull = n
				case short && firstFull >= 0:
					t.Fatalf("prefix %d is short, but %d was not", n, firstFull)
				}
			}
			if firstFull < 0 || int64(firstFull) <= full.DataOffset-int64(full.Alignment) {
				t.Fatalf("the header is complete from byte %d; the data section starts at %d (alignment %d)", firstFull, full.DataOffset, full.Alignment)
			}
			checkPrefixParse(t, data, len(data), full, nil)
		})
	}
}

// TestParseHeaderCorrupt checks that ParseHeader finds the same problems as
// Parse in every corrupt fixture, from the whole file or from any prefix
// that holds the problem.
func TestParseHeaderCorrupt(t *testing.T) {
	for _, c := range ggufcorrupt.Cases {
		t.Run(c.Name, func(t *testing.T) {
			data := c.Make()
			_, fullErr := Parse(data)
			if fullErr == nil {
				t.Fatal("Parse accepted a corrupt case")
			}
			for n := 0; n <= len(data) && n <= 4096; n++ {
				checkPrefixParse(t, data, n, nil, fullErr)
			}
			if _, err := ParseHeader(data, int64(len(data))); err == nil || !strings.Contains(err.Error(), c.Want) {
				t.Fatalf("ParseHeader of the whole file: %v, want %q", err, c.Want)
			}
		})
	}
}

// TestParseHeaderSizes checks validation against the declared file size,
// and that huge counts and lengths inside a large file ask for more bytes
// instead of allocating.
func TestParseHeaderSizes(t *testing.T) {
	w := NewWriter()
	must(t, w.SetKV("general.architecture", "llama"))
	must(t, w.AddTensor("a", quant.F32, []uint64{8}, make([]byte, 32)))
	must(t, w.AddTensor("b", quant.F32, []uint64{16}, make([]byte, 64)))
	data := writeBytes(t, w)
	full, err := Parse(data)
	must(t, err)
	head := data[:full.DataOffset]
	end := len(head) // where the tensor infos end, before the padding
	for end > 0 {
		if _, err := ParseHeader(head[:end-1], int64(len(data))); err != nil {
			break
		}
		end--
	}
	if int64(end) == full.DataOffset {
		t.Fatal("the header ends on the alignment: no padding to test with")
	}
	tests := []struct {
		name   string
		prefix []byte
		size   int64
		short  bool   // want ErrShortHeader
		want   string // else: want an error containing this ("" = success)
	}{
		{"exact", head, int64(len(data)), false, ""},
		{"larger file", head, 1 << 40, false, ""},
		{"tensor past the end", head, int64(len(data)) - 1, false, `tensor "b": data [32, +64) runs past the end of the file`},
		{"data section past the end", head[:end], full.DataOffset - 1, false, "tensor data section would start at"},
		{"prefix longer than the file", head, int64(len(head)) - 1, false, "longer than the file size"},
		{"tiny file", []byte("GG"), 2, false, "not a GGUF file: only 2 bytes"},
		{"tiny prefix", []byte("GG"), 1 << 20, true, ""},
		{"bad magic", []byte("GGML"), 1 << 20, false, `magic is "GGML"`},
		{"huge tensor count", ggufcorrupt.Header(1<<40, 0).B, 1 << 50, true, ""},
		{"tensor count past the file", ggufcorrupt.Header(1<<40, 0).B, 1 << 20, false, "tensor count is 1099511627776"},
		{"huge string", ggufcorrupt.Header(0, 1).KV("k", ggufcorrupt.String).U64(1 << 40).B, 1 << 50, true, ""},
		{"huge array", ggufcorrupt.Header(0, 1).KV("k", ggufcorrupt.Array).U32(ggufcorrupt.Float32).U64(1 << 40).B, 1 << 50, true, ""},
		{"array past the file", ggufcorrupt.Header(0, 1).KV("k", ggufcorrupt.Array).U32(ggufcorrupt.Float32).U64(1 << 40).B, 1 << 30, false, "array length is 1099511627776"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseHeader(tc.prefix, tc.size)
			switch {
			case tc.short:
				if !errors.Is(err, ErrShortHeader) {
					t.Fatalf("got %v, want ErrShortHeader", err)
				}
			case tc.want == "":
				if err != nil {
					t.Fatal(err)
				}
				if d := sameHeader(f, full); d != "" || f.Size() != tc.size {
					t.Fatalf("header differs (%s) or size %d != %d", d, f.Size(), tc.size)
				}
				if s := Summarize(f); s.FileSize != tc.size || s.TensorCount != 2 || s.Architecture != "llama" {
					t.Fatalf("summary %+v", s)
				}
			default:
				if err == nil || errors.Is(err, ErrShortHeader) || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("got %v, want an error containing %q", err, tc.want)
				}
			}
		})
	}
}

// FuzzParseHeader gives ParseHeader a prefix of arbitrary bytes (cut at
// cut), as the start of a file of the input's length and of a longer one.
// With the input's length, the answer must be a short header or exactly
// Parse's answer for the whole input; with any length, an error that is a
// *FormatError or ErrShortHeader, or a header whose tensors lie inside the
// declared size.
func FuzzParseHeader(f *testing.F) {
	for i, seed := range fuzzSeeds(f) {
		f.Add(seed, uint32(len(seed)), uint32(0))
		f.Add(seed, uint32(len(seed)*(i%7+1)/8), uint32(i*4099))
	}
	f.Fuzz(func(t *testing.T, data []byte, cut, grow uint32) {
		n := int(cut % uint32(len(data)+1))
		full, fullErr := Parse(data)
		checkPrefixParse(t, data, n, full, fullErr)

		size := int64(len(data)) + int64(grow)
		h, err := ParseHeader(data[:n], size)
		if err != nil {
			var fe *FormatError
			if !errors.Is(err, ErrShortHeader) && !errors.As(err, &fe) {
				t.Fatalf("error %q is neither ErrShortHeader nor a *FormatError", err)
			}
			return
		}
		for _, ti := range h.Tensors {
			if ti.Size < 0 || h.DataOffset+int64(ti.Offset)+ti.Size > size {
				t.Fatalf("tensor %q [%d+%d, +%d) outside a file of %d bytes", ti.Name, h.DataOffset, ti.Offset, ti.Size, size)
			}
		}
	})
}
