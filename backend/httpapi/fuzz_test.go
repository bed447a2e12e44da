package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"inferenceruntime/backend/service"
)

// FuzzRequestBody sends arbitrary bodies to every JSON endpoint through the
// whole handler chain: the answer is a well-formed response in the
// endpoint's dialect, never a panic or a 5xx. Generations are kept short by
// a small context, so valid bodies that reach the model finish quickly.
func FuzzRequestBody(f *testing.F) {
	seeds := []string{
		`{"model":"tiny","prompt":"a","stream":false,"options":{"num_predict":2}}`,
		`{"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":2}`,
		`{"model":"tiny","prompt":["a"],"max_tokens":2,"stop":"x"}`,
		`{"model":"tiny","keep_alive":"-1","prompt":""}`,
		`{"model":"tiny","options":{"temperature":"x"}}`,
		`{"source":"tiny","destination":"t2"}`,
		`{"model":"nope"}`, `{`, `[]`, `null`, `""`, `{"model":1}`,
		`{"model":"tiny","messages":[{"role":"user","content":[{"type":"text","text":"a"}]}],"max_tokens":1}`,
	}
	for _, s := range seeds {
		for i := range 5 {
			f.Add(s, uint8(i))
		}
	}
	paths := []string{"/api/generate", "/api/chat", "/api/show", "/v1/chat/completions", "/v1/completions"}
	e := newEnv(f, envOptions{runner: service.RunnerOptions{ContextLength: 24, Parallel: 1, Queue: 4}})
	f.Fuzz(func(t *testing.T, body string, which uint8) {
		path := paths[int(which)%len(paths)]
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Host = "localhost"
		w := httptest.NewRecorder()
		e.srv.Handler().ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%s %q: %d %s", path, body, w.Code, w.Body)
		}
		if w.Code == http.StatusOK {
			return
		}
		var m map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil || m["error"] == nil {
			t.Fatalf("%s %q: %d with a body that is not an error object: %s", path, body, w.Code, w.Body)
		}
	})
}
