package modelstore

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"inferenceruntime/backend/library/fixture"
)

func TestCatalog(t *testing.T) {
	c, err := LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"smollm2-135m-instruct", "smollm2-360m-instruct", "smollm2-1.7b-instruct",
		"qwen2.5-0.5b-instruct", "qwen2.5-1.5b-instruct", "qwen2.5-3b-instruct", "qwen2.5-7b-instruct",
		"llama3.2-1b-instruct", "llama3.2-3b-instruct", "mistral-7b-instruct-v0.3", "phi-3.5-mini-instruct",
		"gemma-2-2b-it", "stories260k", "qwen3-0.6b", "qwen3-1.7b", "qwen3-4b", "qwen3-8b", "qwen3-30b-a3b",
		"gemma-3-1b-it", "gemma-3-4b-it", "phi-4-mini-instruct"} {
		m, ok := c.Find(id)
		if !ok {
			t.Errorf("catalog lacks %s", id)
			continue
		}
		if m.License == "" || m.Description == "" || m.HParams.Layers == 0 || m.VocabSize == 0 || len(m.Variants) == 0 {
			t.Errorf("%s is incomplete: %+v", id, m)
		}
	}
	if got := c.Search("qwen2.5 7b"); len(got) != 1 || got[0].ID != "qwen2.5-7b-instruct" {
		t.Errorf("Search(qwen2.5 7b) = %v", got)
	}
	if got := c.Search(""); len(got) != len(c.Models) {
		t.Errorf("Search(\"\") = %d models, want all %d", len(got), len(c.Models))
	}
	for _, bad := range []string{`{"models":[{"id":"a","repo":"x/y","default":"Q4","variants":[]}]}`,
		`{"models":[{"id":"../a","repo":"x/y","default":"Q4","variants":[{"quant":"Q4","file":"f","size":1}]}]}`,
		`{"models":[{"id":"a","repo":"x/y","default":"Q4","variants":[{"quant":"Q4","file":"f","size":1,"sha256":"ABC"}]}]}`,
		`{"models":[{"id":"a","repo":"xy","default":"Q4","variants":[{"quant":"Q4","file":"f","size":1}]}]}`} {
		if _, err := parseCatalog([]byte(bad)); err == nil {
			t.Errorf("parseCatalog accepted %s", bad)
		}
	}
}

// mirrorServer serves a temp folder as the repository org/repo through
// Mirror, holding a few fixture models.
func mirrorServer(t *testing.T, files ...string) (*Resolver, string) {
	t.Helper()
	dir := t.TempDir()
	for i, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := fixture.Model(p, 4096, byte(i)); err != nil {
			t.Fatal(err)
		}
	}
	ts := httptest.NewServer(&Mirror{Repos: map[string]string{"org/repo": dir}})
	t.Cleanup(ts.Close)
	cat, err := LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	return &Resolver{BaseURL: ts.URL, Client: NewClient(), Catalog: cat}, dir
}

func TestResolve(t *testing.T) {
	r, _ := mirrorServer(t, "Model-Q8_0.gguf", "Model-Q4_K_M.gguf", "Model-IQ4_XS.gguf", "sub/Model-F16.gguf",
		"Big-Q6_K-00001-of-00002.gguf", "mmproj-Model-F16.gguf")
	ctx := context.Background()
	cases := []struct{ ref, name, file string }{
		{"org/repo", "org/repo:Q4_K_M", "Model-Q4_K_M.gguf"},
		{"org/repo:q8_0", "org/repo:Q8_0", "Model-Q8_0.gguf"},
		{"org/repo:IQ4_XS", "org/repo:IQ4_XS", "Model-IQ4_XS.gguf"},
		{"org/repo:F16", "org/repo:F16", "sub/Model-F16.gguf"},
		{"org/repo/sub/Model-F16.gguf", "org/repo:F16", "sub/Model-F16.gguf"},
		{"org/repo:Model-Q8_0.gguf", "org/repo:Q8_0", "Model-Q8_0.gguf"},
		{"hf.co/org/repo:Q8_0", "org/repo:Q8_0", "Model-Q8_0.gguf"},
		{r.BaseURL + "/org/repo/resolve/main/Model-Q8_0.gguf", "org/repo:Q8_0", "Model-Q8_0.gguf"},
		{"https://huggingface.co/org/repo/blob/main/Model-Q8_0.gguf", "org/repo:Q8_0", "Model-Q8_0.gguf"},
	}
	for _, c := range cases {
		got, err := r.Resolve(ctx, c.ref)
		if err != nil {
			t.Errorf("Resolve(%q): %v", c.ref, err)
			continue
		}
		if got.Name != c.name || got.File != c.file || got.URL != r.FileURL("org/repo", c.file) {
			t.Errorf("Resolve(%q) = %+v, want name %s file %s", c.ref, got, c.name, c.file)
		}
		if got.SHA256 == "" || got.Size == 0 {
			t.Errorf("Resolve(%q) has no hash or size from the API: %+v", c.ref, got)
		}
	}
	for _, c := range []struct {
		ref  string
		want string
	}{
		{"org/repo:Q2_K", "available: "},
		{"org/repo:Q6_K", "split"},
		{"org/none", "404"},
		{"../etc/passwd", "bad repository"},
		{"org/repo/../x.gguf", "bad file"},
		{"org/repo:Q4 K", "bad quant"},
		{"no-such-model", "not in the catalog"},
		{"qwen2.5-0.5b-instruct:Q2_K", "available: Q4_K_M"},
	} {
		if _, err := r.Resolve(ctx, c.ref); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Resolve(%q) = %v, want an error with %q", c.ref, err, c.want)
		}
	}
	// Catalog entries need no API call.
	got, err := r.Resolve(ctx, "stories260k")
	if err != nil || got.Name != "stories260k:F32" || got.File != "tinyllamas/stories260K.gguf" ||
		got.SHA256 != "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d" ||
		got.URL != r.BaseURL+"/ggml-org/models-moved/resolve/main/tinyllamas/stories260K.gguf" {
		t.Errorf("Resolve(stories260k) = %+v, %v", got, err)
	}
	if got, err := r.Resolve(ctx, "Qwen2.5-0.5B-Instruct:q8_0"); err != nil || got.File != "qwen2.5-0.5b-instruct-q8_0.gguf" {
		t.Errorf("Resolve(catalog quant) = %+v, %v", got, err)
	}
	if !errors.Is(func() error { _, err := r.Resolve(ctx, "nope"); return err }(), ErrNoMatch) {
		t.Error("unknown catalog id is not ErrNoMatch")
	}
}

func TestMirrorConfinesRequests(t *testing.T) {
	r, dir := mirrorServer(t, "Model-Q8_0.gguf")
	secret := filepath.Join(filepath.Dir(dir), "secret.gguf")
	os.WriteFile(secret, []byte("secret"), 0o644)
	for _, p := range []string{"/org/repo/resolve/main/../secret.gguf", "/org/repo/resolve/main/%2e%2e/secret.gguf",
		"/org/other/resolve/main/Model-Q8_0.gguf", "/api/models/org/other"} {
		resp, err := http.Get(r.BaseURL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("GET %s = 200", p)
		}
	}
}

func TestFetchMeta(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "Big-Q8_0.gguf")
	if err := fixture.Model(path, 10<<20, 1); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(&Mirror{Repos: map[string]string{"org/repo": dir}})
	defer ts.Close()
	var fetched int64
	counting := &http.Client{Transport: roundTripFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err == nil {
			fetched += max(resp.ContentLength, 0)
		}
		return resp, err
	})}
	meta, total, err := FetchMeta(context.Background(), counting, ts.URL+"/org/repo/resolve/main/Big-Q8_0.gguf")
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if total != fi.Size() || meta.Architecture != "llama" || meta.ContextLength != 2048 || meta.HParams.Layers != 2 {
		t.Fatalf("FetchMeta = %+v, %d", meta, total)
	}
	if fetched >= total {
		t.Fatalf("fetched %d bytes of %d: the header fetch downloaded the whole file", fetched, total)
	}
	// Not a GGUF: a clear error.
	os.WriteFile(filepath.Join(dir, "junk.gguf"), []byte(strings.Repeat("x", 1000)), 0o644)
	if _, _, err := FetchMeta(context.Background(), NewClient(), ts.URL+"/org/repo/resolve/main/junk.gguf"); err == nil {
		t.Fatal("FetchMeta accepted junk")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
