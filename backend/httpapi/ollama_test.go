package httpapi

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"inferenceruntime/backend/modelstore"
)

// greedy are options that make the tiny model deterministic.
func greedy(extra map[string]any) map[string]any {
	o := map[string]any{"temperature": 0, "seed": 1}
	for k, v := range extra {
		o[k] = v
	}
	return o
}

func TestOllamaGenerate(t *testing.T) {
	e := newEnv(t, envOptions{})
	req := map[string]any{"model": "tiny", "prompt": "Once upon a time", "stream": false,
		"options": greedy(map[string]any{"num_predict": 24})}
	r := e.do("POST", "/api/generate", req)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	m := r.json(t)
	text, _ := m["response"].(string)
	if m["done"] != true || m["model"] != "tiny" || m["done_reason"] != "length" || text == "" {
		t.Fatalf("response = %v", m)
	}
	want, err := e.runner.CountTokens(t.Context(), "tiny", "Once upon a time")
	if err != nil {
		t.Fatal(err)
	}
	if got := m["prompt_eval_count"].(float64); int(got) != want {
		t.Errorf("prompt_eval_count = %v, want %d", got, want)
	}
	if m["eval_count"].(float64) != 24 {
		t.Errorf("eval_count = %v, want 24", m["eval_count"])
	}
	for _, k := range []string{"total_duration", "load_duration", "prompt_eval_duration", "eval_duration"} {
		if _, ok := m[k].(float64); !ok {
			t.Errorf("%s missing from %v", k, m)
		}
	}
	if m["total_duration"].(float64) <= 0 || m["eval_duration"].(float64) <= 0 {
		t.Errorf("durations not positive: %v", m)
	}

	// Streaming gives the same text in pieces, then a final message with
	// the statistics.
	req["stream"] = true
	r = e.do("POST", "/api/generate", req)
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "application/x-ndjson") {
		t.Fatalf("stream: status %d, type %q", r.status, r.header.Get("Content-Type"))
	}
	lines := ndjson(t, r.body)
	var b strings.Builder
	for _, l := range lines[:len(lines)-1] {
		if l["done"] != false {
			t.Fatalf("chunk before the end has done=%v", l["done"])
		}
		b.WriteString(l["response"].(string))
	}
	last := lines[len(lines)-1]
	if last["done"] != true || last["eval_count"].(float64) != 24 || last["done_reason"] != "length" {
		t.Fatalf("last line = %v", last)
	}
	if b.String() != text {
		t.Fatalf("streamed %q, non-streamed %q", b.String(), text)
	}

	// A stop sequence from the middle of the greedy text ends it there.
	runes := []rune(text)
	if len(runes) < 8 {
		t.Skipf("greedy text %q too short to pick a stop sequence", text)
	}
	stop := string(runes[len(runes)/2 : len(runes)/2+2])
	req["stream"] = false
	req["options"] = greedy(map[string]any{"num_predict": 24, "stop": []string{stop}})
	m = e.do("POST", "/api/generate", req).json(t)
	want2 := text[:strings.Index(text, stop)]
	if m["response"] != want2 || m["done_reason"] != "stop" {
		t.Fatalf("with stop %q: response %q (%v), want %q", stop, m["response"], m["done_reason"], want2)
	}
}

func TestOllamaChat(t *testing.T) {
	e := newEnv(t, envOptions{})
	req := map[string]any{"model": "tiny", "stream": false,
		"messages": []map[string]any{{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}},
		"options":  greedy(map[string]any{"num_predict": 16})}
	m := e.do("POST", "/api/chat", req).json(t)
	msg, _ := m["message"].(map[string]any)
	if msg["role"] != "assistant" || m["done"] != true || m["eval_count"] == nil {
		t.Fatalf("chat = %v", m)
	}
	// The prompt is the rendered template, longer than the messages.
	info, err := e.runner.Describe(t.Context(), "tiny")
	if err != nil || info.ChatTemplate == "" {
		t.Fatalf("describe: %+v, %v", info, err)
	}
	if m["prompt_eval_count"].(float64) <= 4 {
		t.Errorf("prompt_eval_count %v: template not applied?", m["prompt_eval_count"])
	}
	req["stream"] = true
	lines := ndjson(t, e.do("POST", "/api/chat", req).body)
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l["message"].(map[string]any)["content"].(string))
	}
	if b.String() != msg["content"] {
		t.Fatalf("streamed %q, non-streamed %q", b.String(), msg["content"])
	}
	if lines[len(lines)-1]["done"] != true {
		t.Fatalf("last line %v", lines[len(lines)-1])
	}
}

func TestOllamaModelEndpoints(t *testing.T) {
	e := newEnv(t, envOptions{})
	tags := e.do("GET", "/api/tags", nil).json(t)
	models := tags["models"].([]any)
	var names []string
	for _, m := range models {
		mm := m.(map[string]any)
		names = append(names, mm["name"].(string))
		if mm["details"].(map[string]any)["family"] != "llama" || mm["size"].(float64) <= 0 {
			t.Errorf("model entry %v", mm)
		}
	}
	if strings.Join(names, ",") != "slow,tiny,tiny2" {
		t.Fatalf("tags = %v", names)
	}

	show := e.do("POST", "/api/show", map[string]any{"model": "tiny"})
	if show.status != 200 {
		t.Fatalf("show: %d %s", show.status, show.body)
	}
	sm := show.json(t)
	if sm["template"] == "" || sm["model_info"].(map[string]any)["llama.context_length"].(float64) != 512 {
		t.Fatalf("show = %v", sm)
	}
	if r := e.do("POST", "/api/show", map[string]any{"model": "nope"}); r.status != 404 {
		t.Fatalf("show unknown: %d", r.status)
	}

	// ps: nothing loaded, then the model after a request with keep_alive.
	if ps := e.do("GET", "/api/ps", nil).json(t); len(ps["models"].([]any)) != 0 {
		t.Fatalf("ps before = %v", ps)
	}
	e.do("POST", "/api/generate", map[string]any{"model": "tiny", "keep_alive": "1h"})
	ps := e.do("GET", "/api/ps", nil).json(t)["models"].([]any)
	if len(ps) != 1 || ps[0].(map[string]any)["name"] != "tiny" {
		t.Fatalf("ps after load = %v", ps)
	}
	exp, err := time.Parse(time.RFC3339Nano, ps[0].(map[string]any)["expires_at"].(string))
	if err != nil || exp.Before(time.Now().Add(50*time.Minute)) {
		t.Fatalf("expires_at %v, %v; want about an hour from now", ps[0].(map[string]any)["expires_at"], err)
	}
	// keep_alive 0 with no prompt unloads.
	un := e.do("POST", "/api/generate", map[string]any{"model": "tiny", "keep_alive": 0}).json(t)
	if un["done_reason"] != "unload" {
		t.Fatalf("unload = %v", un)
	}
	if ps := e.do("GET", "/api/ps", nil).json(t); len(ps["models"].([]any)) != 0 {
		t.Fatalf("ps after unload = %v", ps)
	}

	// copy, then delete the copy; the original stays.
	if r := e.do("POST", "/api/copy", map[string]any{"source": "tiny", "destination": "tiny-copy"}); r.status != 200 {
		t.Fatalf("copy: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/copy", map[string]any{"source": "nope", "destination": "x"}); r.status != 404 {
		t.Fatalf("copy unknown: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/copy", map[string]any{"source": "tiny", "destination": "bad name!"}); r.status != 400 {
		t.Fatalf("copy to a bad name: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/generate", map[string]any{"model": "tiny-copy", "prompt": "a", "stream": false, "options": map[string]any{"num_predict": 2}}); r.status != 200 {
		t.Fatalf("generate on the copy: %d %s", r.status, r.body)
	}
	if r := e.do("DELETE", "/api/delete", map[string]any{"model": "tiny-copy"}); r.status != 200 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := e.do("DELETE", "/api/delete", map[string]any{"model": "tiny-copy"}); r.status != 404 {
		t.Fatalf("delete again: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/show", map[string]any{"model": "tiny"}); r.status != 200 {
		t.Fatalf("original gone after deleting its copy: %d", r.status)
	}

	if v := e.do("GET", "/api/version", nil).json(t); v["version"] == "" {
		t.Fatalf("version = %v", v)
	}
	if h := e.do("GET", "/api/health", nil).json(t); h["status"] != "ok" {
		t.Fatalf("health = %v", h)
	}
	if r := e.do("GET", "/api/generate", nil); r.status != http.StatusMethodNotAllowed || errorMessage(t, r) == "" {
		t.Fatalf("GET /api/generate: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/nothing", nil); r.status != 404 {
		t.Fatalf("unknown path: %d", r.status)
	}
}

func TestOllamaManageSwitchedOff(t *testing.T) {
	e := newEnv(t, envOptions{cfg: Config{NoManage: true}})
	for _, c := range []struct{ method, path string }{{"POST", "/api/pull"}, {"DELETE", "/api/delete"}, {"POST", "/api/copy"}} {
		r := e.do(c.method, c.path, map[string]any{"model": "tiny", "source": "tiny", "destination": "x"})
		if r.status != http.StatusForbidden || !strings.Contains(errorMessage(t, r), "switched off") {
			t.Errorf("%s %s: %d %s", c.method, c.path, r.status, r.body)
		}
	}
	if r := e.do("POST", "/api/show", map[string]any{"model": "tiny"}); r.status != 200 {
		t.Fatalf("show with management off: %d", r.status)
	}
}

func TestOllamaPull(t *testing.T) {
	repo := t.TempDir()
	data, err := os.ReadFile(filepath.Join(synthModels(t), "tiny2.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "Tiny-F32.gguf"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	mirror := httptest.NewServer(&modelstore.Mirror{Repos: map[string]string{"org/tiny": repo}})
	defer mirror.Close()
	e := newEnv(t, envOptions{storeURL: mirror.URL})

	r := e.do("POST", "/api/pull", map[string]any{"model": "org/tiny"})
	if r.status != 200 {
		t.Fatalf("pull: %d %s", r.status, r.body)
	}
	lines := ndjson(t, r.body)
	if lines[0]["status"] != "pulling manifest" || lines[len(lines)-1]["status"] != "success" {
		t.Fatalf("pull stream = %v", lines)
	}
	name := "org/tiny:F32"
	g := e.do("POST", "/api/generate", map[string]any{"model": name, "prompt": "hi", "stream": false, "options": map[string]any{"num_predict": 3}})
	if g.status != 200 {
		t.Fatalf("generate on the pulled model: %d %s", g.status, g.body)
	}
	// Pulling again finds it installed; not streamed gives one object.
	again := e.do("POST", "/api/pull", map[string]any{"model": "org/tiny", "stream": false}).json(t)
	if again["status"] != "success" {
		t.Fatalf("second pull = %v", again)
	}
	// References that cannot name anything in the store are the client's
	// mistake: 400, not a server error.
	for _, ref := range []string{"../../etc/passwd", "file:///etc/passwd", "http://127.0.0.1:22/x.gguf", "org/tiny:Q4 K", "org/tiny/../x.gguf"} {
		if r := e.do("POST", "/api/pull", map[string]any{"model": ref, "stream": false}); r.status != 400 {
			t.Errorf("pull %q: %d %s, want 400", ref, r.status, r.body)
		}
	}
	if r := e.do("POST", "/api/pull", map[string]any{"model": "org/missing"}); r.status != 404 && r.status != 500 {
		t.Fatalf("pull of a missing repo: %d %s", r.status, r.body)
	} else if errorMessage(t, r) == "" {
		t.Fatal("no error message")
	}
}
