package httpapi

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"net/http"
	"strings"
	"testing"
)

// floats reads a JSON array of numbers.
func floats(t *testing.T, v any) []float64 {
	t.Helper()
	arr, ok := v.([]any)
	if !ok {
		t.Fatalf("%v is not an array", v)
	}
	out := make([]float64, len(arr))
	for i, x := range arr {
		out[i] = x.(float64)
	}
	return out
}

func checkUnit(t *testing.T, v []float64, n int) {
	t.Helper()
	ss := 0.0
	for _, x := range v {
		ss += x * x
	}
	if len(v) != n || math.Abs(ss-1) > 1e-4 {
		t.Fatalf("vector of %d components with squared norm %v; want %d and 1", len(v), ss, n)
	}
}

func TestEmbedEndpoints(t *testing.T) {
	e := newEnv(t, envOptions{})
	n := tinyShape.Embd

	r := e.do("POST", "/api/embed", map[string]any{"model": "tiny", "input": []string{"Hello world", "Bonjour"}})
	if r.status != http.StatusOK {
		t.Fatalf("/api/embed: %d %s", r.status, r.body)
	}
	m := r.json(t)
	embs := m["embeddings"].([]any)
	if len(embs) != 2 || m["prompt_eval_count"].(float64) < 2 {
		t.Fatalf("/api/embed = %v", m)
	}
	first := floats(t, embs[0])
	checkUnit(t, first, n)

	r = e.do("POST", "/api/embeddings", map[string]any{"model": "tiny", "prompt": "Hello world"})
	legacy := floats(t, r.json(t)["embedding"])
	checkUnit(t, legacy, n)

	r = e.do("POST", "/v1/embeddings", map[string]any{"model": "tiny", "input": "Hello world"})
	m = r.json(t)
	data := m["data"].([]any)[0].(map[string]any)
	oai := floats(t, data["embedding"])
	if m["object"] != "list" || data["object"] != "embedding" || data["index"].(float64) != 0 || m["usage"] == nil {
		t.Fatalf("/v1/embeddings = %v", m)
	}
	for i := range first {
		if math.Abs(first[i]-legacy[i]) > 1e-6 || math.Abs(first[i]-oai[i]) > 1e-6 {
			t.Fatalf("component %d: /api/embed %v, /api/embeddings %v, /v1/embeddings %v", i, first[i], legacy[i], oai[i])
		}
	}

	// base64, token arrays, dimensions.
	r = e.do("POST", "/v1/embeddings", map[string]any{"model": "tiny", "input": [][]int{{1, 5, 9}, {7}},
		"encoding_format": "base64", "dimensions": 16})
	m = r.json(t)
	if len(m["data"].([]any)) != 2 || m["usage"].(map[string]any)["prompt_tokens"].(float64) != 4 {
		t.Fatalf("token arrays: %v", m)
	}
	raw, err := base64.StdEncoding.DecodeString(m["data"].([]any)[1].(map[string]any)["embedding"].(string))
	if err != nil || len(raw) != 16*4 {
		t.Fatalf("base64 embedding: %d bytes, %v", len(raw), err)
	}
	vec := make([]float64, 16)
	for i := range vec {
		vec[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])))
	}
	checkUnit(t, vec, 16)

	// Too long: Ollama truncates by default, OpenAI refuses.
	long := strings.Repeat("word ", 40)
	r = e.do("POST", "/api/embed", map[string]any{"model": "tiny", "input": long, "options": map[string]any{"num_ctx": 8}})
	if r.status != http.StatusOK || r.json(t)["prompt_eval_count"].(float64) != 8 {
		t.Fatalf("truncated /api/embed: %d %s", r.status, r.body)
	}
	for _, c := range []struct {
		path string
		body map[string]any
		want string
	}{
		{"/api/embed", map[string]any{"model": "tiny", "input": long, "truncate": false, "options": map[string]any{"num_ctx": 8}}, "truncate"},
		{"/v1/embeddings", map[string]any{"model": "tiny", "input": long, "num_ctx": 8}, "context"},
		{"/v1/embeddings", map[string]any{"model": "tiny", "input": "x", "encoding_format": "hex"}, "encoding_format"},
		{"/v1/embeddings", map[string]any{"model": "tiny", "input": []any{}}, "input"},
		{"/v1/embeddings", map[string]any{"model": "tiny", "input": [][]int{{1, 99999}}}, "vocabulary"},
		{"/api/embed", map[string]any{"model": "tiny", "input": "x", "dimensions": n + 1}, "dimensions"},
		{"/api/embed", map[string]any{"model": "tiny", "input": "x", "pooling": "none"}, "pooling"},
		{"/api/embed", map[string]any{"model": "tiny", "input": map[string]any{}}, "input"},
		{"/api/embeddings", map[string]any{"model": "tiny"}, "prompt"},
	} {
		r := e.do("POST", c.path, c.body)
		if msg := errorMessage(t, r); r.status != http.StatusBadRequest || !strings.Contains(msg, c.want) {
			t.Errorf("%s %v: %d %q, want 400 naming %s", c.path, c.body, r.status, msg, c.want)
		}
	}
	if r := e.do("POST", "/v1/embeddings", map[string]any{"model": "nope", "input": "x"}); r.status != http.StatusNotFound {
		t.Errorf("unknown model: %d", r.status)
	}
}
