package httpapi

import (
	"net/http"
	"strings"
	"testing"
)

// checkGreedyLogprobs checks a list of token logprobs in OpenAI's chat (and
// Ollama's) shape: under greedy decoding each sampled token is the most
// likely one, so its logprob is the first alternative's.
func checkGreedyLogprobs(t *testing.T, list []any, top int) string {
	t.Helper()
	var text strings.Builder
	for i, x := range list {
		tok := x.(map[string]any)
		alts := tok["top_logprobs"].([]any)
		lp := tok["logprob"].(float64)
		if len(alts) != top || lp > 0 {
			t.Fatalf("token %d: %v", i, tok)
		}
		best := alts[0].(map[string]any)
		if best["token"] != tok["token"] || best["logprob"].(float64) != lp {
			t.Fatalf("token %d %v is not the most likely %v", i, tok, best)
		}
		for _, a := range alts[1:] {
			if a.(map[string]any)["logprob"].(float64) > lp {
				t.Fatalf("token %d: an alternative %v beats the greedy choice %v", i, a, lp)
			}
		}
		text.WriteString(tok["token"].(string))
	}
	return text.String()
}

func TestLogprobs(t *testing.T) {
	e := newEnv(t, envOptions{})
	chat := map[string]any{"model": "tiny", "temperature": 0, "max_tokens": 6, "logprobs": true, "top_logprobs": 3,
		"messages": []map[string]any{{"role": "user", "content": "Hello"}}}
	r := e.do("POST", "/v1/chat/completions", chat)
	if r.status != http.StatusOK {
		t.Fatalf("chat: %d %s", r.status, r.body)
	}
	choice := r.json(t)["choices"].([]any)[0].(map[string]any)
	content := choice["logprobs"].(map[string]any)["content"].([]any)
	if len(content) != 6 {
		t.Fatalf("%d tokens with logprobs, want 6", len(content))
	}
	checkGreedyLogprobs(t, content, 3)

	chat["stream"] = true
	var streamed []any
	for _, ev := range sse(t, e.do("POST", "/v1/chat/completions", chat).body) {
		for _, c := range ev["choices"].([]any) {
			if lp, ok := c.(map[string]any)["logprobs"].(map[string]any); ok {
				streamed = append(streamed, lp["content"].([]any)...)
			}
		}
	}
	if len(streamed) != 6 {
		t.Fatalf("streamed %d tokens with logprobs, want 6", len(streamed))
	}

	r = e.do("POST", "/v1/completions", map[string]any{"model": "tiny", "prompt": "Once", "temperature": 0, "max_tokens": 4, "logprobs": 2})
	lp := r.json(t)["choices"].([]any)[0].(map[string]any)["logprobs"].(map[string]any)
	if len(lp["tokens"].([]any)) != 4 || len(lp["top_logprobs"].([]any)[0].(map[string]any)) < 1 {
		t.Fatalf("completion logprobs %v", lp)
	}

	gen := map[string]any{"model": "tiny", "prompt": "Once", "raw": true, "stream": false, "logprobs": true, "top_logprobs": 2,
		"options": map[string]any{"temperature": 0, "num_predict": 5}}
	m := e.do("POST", "/api/generate", gen).json(t)
	list, _ := m["logprobs"].([]any)
	if len(list) != 5 {
		t.Fatalf("/api/generate logprobs %v", m["logprobs"])
	}
	if text := checkGreedyLogprobs(t, list, 2); text != m["response"] {
		t.Errorf("logprob tokens spell %q, the response is %q", text, m["response"])
	}
	gen["stream"] = true
	n := 0
	for _, msg := range ndjson(t, e.do("POST", "/api/generate", gen).body) {
		l, _ := msg["logprobs"].([]any)
		n += len(l)
	}
	if n != 5 {
		t.Errorf("streamed /api/generate: %d logprobs, want 5", n)
	}

	for _, c := range []struct {
		path string
		body map[string]any
	}{
		{"/v1/chat/completions", map[string]any{"model": "tiny", "logprobs": true, "top_logprobs": 21, "messages": []map[string]any{{"role": "user", "content": "x"}}}},
		{"/v1/chat/completions", map[string]any{"model": "tiny", "top_logprobs": 2, "messages": []map[string]any{{"role": "user", "content": "x"}}}},
		{"/api/chat", map[string]any{"model": "tiny", "logprobs": true, "top_logprobs": -1, "messages": []map[string]any{{"role": "user", "content": "x"}}}},
	} {
		if r := e.do("POST", c.path, c.body); r.status != http.StatusBadRequest || !strings.Contains(errorMessage(t, r), "top_logprobs") {
			t.Errorf("%s %v: %d %s", c.path, c.body, r.status, r.body)
		}
	}
}
