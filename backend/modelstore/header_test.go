package modelstore

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"inferenceruntime/backend/library/fixture"
	"inferenceruntime/inference/gguf"
)

// TestFetchMetaGrows fetches headers larger than the first Range request:
// the fetch must grow until the header fits, fetch no byte twice, and
// validate the tensors against the whole file's size.
func TestFetchMetaGrows(t *testing.T) {
	dir := t.TempDir()
	// A header of about 5 MiB (a long merges list), then 20 MiB of data:
	// the fetches are [0, 1 MiB), [1, 4 MiB), [4, 16 MiB).
	w, err := fixture.Writer(20<<20, 3)
	if err != nil {
		t.Fatal(err)
	}
	merges := make([]string, 5<<20/40)
	for i := range merges {
		merges[i] = fmt.Sprintf("%015d %015d", i, i+1) // 31 bytes + 8 of length
	}
	if err := w.SetKV("tokenizer.ggml.merges", merges); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "Big-F32.gguf")
	if err := w.WriteFile(big); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(big)
	if err != nil {
		t.Fatal(err)
	}
	want, err := gguf.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	// The same file cut inside its header, and cut inside its data.
	if err := os.WriteFile(filepath.Join(dir, "CutHeader-F32.gguf"), data[:3<<20], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "CutData-F32.gguf"), data[:len(data)-1], 0o644); err != nil {
		t.Fatal(err)
	}
	mirror := &Mirror{Repos: map[string]string{"org/repo": dir}}

	tests := []struct {
		name      string
		file      string
		noRange   bool   // the server ignores Range
		wantErr   string // "" = success
		wantReqs  int
		wantBytes int64 // bytes received, when Range is honoured
	}{
		{name: "grows", file: "Big-F32.gguf", wantReqs: 3, wantBytes: 16 << 20},
		{name: "no Range support", file: "Big-F32.gguf", noRange: true, wantReqs: 3},
		{name: "header cut", file: "CutHeader-F32.gguf", wantErr: "file ends inside", wantReqs: 2, wantBytes: 3 << 20},
		{name: "data cut", file: "CutData-F32.gguf", wantErr: "runs past the end of the file", wantReqs: 3, wantBytes: 16 << 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var reqs int
			var received int64
			ts := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				if tc.noRange {
					r.Header.Del("Range")
				}
				mu.Lock()
				reqs++
				mu.Unlock()
				mirror.ServeHTTP(rw, r)
			}))
			defer ts.Close()
			counting := &http.Client{Transport: roundTripFunc(func(req *http.Request) (*http.Response, error) {
				resp, err := http.DefaultTransport.RoundTrip(req)
				if err == nil && resp.StatusCode == http.StatusPartialContent {
					mu.Lock()
					received += resp.ContentLength
					mu.Unlock()
				}
				return resp, err
			})}
			meta, total, err := FetchMeta(context.Background(), counting, ts.URL+"/org/repo/resolve/main/"+tc.file)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if total != int64(len(data)) || meta.Architecture != "llama" || meta.ContextLength != 2048 || meta.VocabSize != 8 ||
					meta.ParamCount != gguf.Summarize(want).Parameters {
					t.Fatalf("FetchMeta = %+v, %d bytes", meta, total)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if reqs != tc.wantReqs {
				t.Errorf("%d requests, want %d", reqs, tc.wantReqs)
			}
			if !tc.noRange && received != tc.wantBytes {
				t.Errorf("received %d bytes, want %d (each byte once)", received, tc.wantBytes)
			}
		})
	}
}
