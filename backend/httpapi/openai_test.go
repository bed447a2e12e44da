package httpapi

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

func TestOpenAIChatCompletions(t *testing.T) {
	e := newEnv(t, envOptions{})
	req := map[string]any{"model": "tiny", "temperature": 0, "seed": 7, "max_tokens": 12,
		"messages": []map[string]any{{"role": "developer", "content": "Be brief."},
			{"role": "user", "content": []map[string]any{{"type": "text", "text": "Hello"}}}}}
	r := e.do("POST", "/v1/chat/completions", req)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	m := r.json(t)
	choice := m["choices"].([]any)[0].(map[string]any)
	msg := choice["message"].(map[string]any)
	usage := m["usage"].(map[string]any)
	if m["object"] != "chat.completion" || !strings.HasPrefix(m["id"].(string), "chatcmpl-") || msg["role"] != "assistant" {
		t.Fatalf("completion = %v", m)
	}
	if choice["finish_reason"] != "length" || usage["completion_tokens"].(float64) != 12 ||
		usage["total_tokens"].(float64) != usage["prompt_tokens"].(float64)+12 {
		t.Fatalf("finish %v, usage %v", choice["finish_reason"], usage)
	}
	text := msg["content"].(string)

	// Streamed: role first, then content deltas, the finish reason, the
	// usage chunk, [DONE].
	req["stream"] = true
	req["stream_options"] = map[string]any{"include_usage": true}
	r = e.do("POST", "/v1/chat/completions", req)
	if !strings.HasPrefix(r.header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("content type %q", r.header.Get("Content-Type"))
	}
	events := sse(t, r.body)
	var b strings.Builder
	var finish any
	for i, ev := range events {
		if ev["object"] != "chat.completion.chunk" || ev["id"] != events[0]["id"] {
			t.Fatalf("event %d = %v", i, ev)
		}
		choices := ev["choices"].([]any)
		if len(choices) == 0 {
			continue
		}
		c := choices[0].(map[string]any)
		d := c["delta"].(map[string]any)
		if i == 0 && d["role"] != "assistant" {
			t.Fatalf("first delta %v has no role", d)
		}
		if s, ok := d["content"].(string); ok {
			b.WriteString(s)
		}
		if c["finish_reason"] != nil {
			finish = c["finish_reason"]
		}
	}
	last := events[len(events)-1]
	if len(last["choices"].([]any)) != 0 || last["usage"].(map[string]any)["completion_tokens"].(float64) != 12 {
		t.Fatalf("usage chunk = %v", last)
	}
	if b.String() != text || finish != "length" {
		t.Fatalf("streamed %q (finish %v), non-streamed %q", b.String(), finish, text)
	}

	// Stop as a plain string.
	runes := []rune(text)
	if len(runes) >= 6 {
		stop := string(runes[len(runes)/2 : len(runes)/2+2])
		delete(req, "stream")
		delete(req, "stream_options")
		req["stop"] = stop
		m = e.do("POST", "/v1/chat/completions", req).json(t)
		c := m["choices"].([]any)[0].(map[string]any)
		if got := c["message"].(map[string]any)["content"]; got != text[:strings.Index(text, stop)] || c["finish_reason"] != "stop" {
			t.Fatalf("with stop %q: %q (%v)", stop, got, c["finish_reason"])
		}
	}
}

func TestOpenAICompletions(t *testing.T) {
	e := newEnv(t, envOptions{})
	req := map[string]any{"model": "tiny", "prompt": "Once upon a time", "temperature": 0, "max_completion_tokens": 10}
	m := e.do("POST", "/v1/completions", req).json(t)
	c := m["choices"].([]any)[0].(map[string]any)
	want, _ := e.runner.CountTokens(t.Context(), "tiny", "Once upon a time")
	if m["object"] != "text_completion" || c["finish_reason"] != "length" ||
		m["usage"].(map[string]any)["prompt_tokens"].(float64) != float64(want) {
		t.Fatalf("completion = %v (want %d prompt tokens)", m, want)
	}
	req["stream"] = true
	events := sse(t, e.do("POST", "/v1/completions", req).body)
	var b strings.Builder
	for _, ev := range events {
		for _, ch := range ev["choices"].([]any) {
			b.WriteString(ch.(map[string]any)["text"].(string))
		}
	}
	if b.String() != c["text"] {
		t.Fatalf("streamed %q, non-streamed %q", b.String(), c["text"])
	}
	if _, ok := events[len(events)-1]["usage"]; ok {
		t.Fatal("usage chunk sent without include_usage")
	}
	// A prompt in a one-element array is the same request.
	req["stream"] = false
	req["prompt"] = []string{"Once upon a time"}
	if m2 := e.do("POST", "/v1/completions", req).json(t); m2["choices"].([]any)[0].(map[string]any)["text"] != c["text"] {
		t.Fatalf("array prompt gave %v", m2)
	}
}

func TestOpenAIModels(t *testing.T) {
	e := newEnv(t, envOptions{})
	m := e.do("GET", "/v1/models", nil).json(t)
	var ids []string
	for _, d := range m["data"].([]any) {
		ids = append(ids, d.(map[string]any)["id"].(string))
	}
	if m["object"] != "list" || strings.Join(ids, ",") != "slow,tiny,tiny2" {
		t.Fatalf("models = %v", m)
	}
	if one := e.do("GET", "/v1/models/tiny", nil).json(t); one["id"] != "tiny" || one["object"] != "model" {
		t.Fatalf("model = %v", one)
	}
	r := e.do("GET", "/v1/models/nope", nil)
	if r.status != 404 || r.json(t)["error"].(map[string]any)["code"] != "model_not_found" {
		t.Fatalf("unknown model: %d %s", r.status, r.body)
	}
}

// goName matches a Go identifier such as ollamaCommon in a field path.
var goName = regexp.MustCompile(`\b[a-z]+[A-Z][A-Za-z]*\.`)

// TestValidation: bad requests get a 4xx in their dialect naming the
// problem, and nothing is loaded for them.
func TestValidation(t *testing.T) {
	e := newEnv(t, envOptions{})
	long := strings.Repeat("once upon a time ", 100)
	cases := []struct {
		name, path string
		body       any
		status     int
		mention    string
	}{
		{"malformed json", "/api/generate", `{"model": "tiny", "prompt": `, 400, "malformed JSON"},
		{"syntax error", "/api/chat", `{"model": tiny}`, 400, "malformed JSON"},
		{"not an object", "/api/generate", `[1,2]`, 400, "JSON object"},
		{"empty body", "/api/generate", ``, 400, "empty"},
		{"trailing data", "/api/generate", `{"model":"tiny","prompt":"a"} {}`, 400, "after the JSON object"},
		{"wrong type", "/api/generate", `{"model":"tiny","prompt":"a","options":{"temperature":"hot"}}`, 400, "options.temperature"},
		{"wrong type int", "/api/generate", `{"model":"tiny","prompt":"a","options":{"num_predict":1.5}}`, 400, "options.num_predict"},
		{"prompt not string", "/api/generate", `{"model":"tiny","prompt":5}`, 400, "prompt"},
		{"model not string", "/api/chat", `{"model":5,"messages":[]}`, 400, "model: expected a string"},
		{"options not object", "/api/generate", `{"model":"tiny","prompt":"a","options":"x"}`, 400, "options: expected an object"},
		{"stream not bool", "/api/generate", `{"model":"tiny","prompt":"a","stream":"yes"}`, 400, "stream: expected true or false"},
		{"unknown model", "/api/generate", map[string]any{"model": "nope", "prompt": "a"}, 404, "not found"},
		{"missing model", "/api/generate", map[string]any{"prompt": "a"}, 400, "model"},
		{"path as model", "/api/generate", map[string]any{"model": "/etc/passwd", "prompt": "a"}, 404, "not found"},
		{"negative temperature", "/api/generate", map[string]any{"model": "tiny", "prompt": "a", "options": map[string]any{"temperature": -1}}, 400, "options.temperature"},
		{"top_p above 1", "/api/generate", map[string]any{"model": "tiny", "prompt": "a", "options": map[string]any{"top_p": 1.5}}, 400, "options.top_p"},
		{"num_predict below -2", "/api/generate", map[string]any{"model": "tiny", "prompt": "a", "options": map[string]any{"num_predict": -3}}, 400, "options.num_predict"},
		{"absurd num_ctx", "/api/generate", map[string]any{"model": "tiny", "prompt": "a", "options": map[string]any{"num_ctx": 1 << 30}}, 400, "options.num_ctx"},
		{"negative top_k", "/api/generate", map[string]any{"model": "tiny", "prompt": "a", "options": map[string]any{"top_k": -5}}, 400, "options.top_k"},
		{"empty stop", "/api/generate", map[string]any{"model": "tiny", "prompt": "a", "options": map[string]any{"stop": []string{""}}}, 400, "options.stop"},
		{"bad keep_alive", "/api/generate", map[string]any{"model": "tiny", "prompt": "a", "keep_alive": "soon"}, 400, "keep_alive"},
		{"format", "/api/generate", map[string]any{"model": "tiny", "prompt": "a", "format": "xml"}, 400, "format"},
		{"images", "/api/chat", map[string]any{"model": "tiny", "messages": []map[string]any{{"role": "user", "content": "a", "images": []string{"AAAA"}}}}, 400, "images"},
		{"bad role", "/api/chat", map[string]any{"model": "tiny", "messages": []map[string]any{{"role": "wizard", "content": "a"}}}, 400, "messages[0].role"},
		{"prompt too long", "/api/generate", map[string]any{"model": "tiny", "prompt": long, "options": map[string]any{"num_ctx": 64}}, 400, "context"},
		{"prompt longer than the model", "/api/generate", map[string]any{"model": "tiny", "prompt": long + long}, 400, "context"},

		{"openai malformed", "/v1/chat/completions", `{"model":`, 400, "malformed JSON"},
		{"openai unknown model", "/v1/chat/completions", map[string]any{"model": "nope", "messages": []map[string]any{{"role": "user", "content": "a"}}}, 404, "not found"},
		{"openai no messages", "/v1/chat/completions", map[string]any{"model": "tiny", "messages": []any{}}, 400, "messages"},
		{"openai temperature", "/v1/chat/completions", map[string]any{"model": "tiny", "temperature": 3, "messages": []map[string]any{{"role": "user", "content": "a"}}}, 400, "temperature"},
		{"openai max_tokens 0", "/v1/completions", map[string]any{"model": "tiny", "prompt": "a", "max_tokens": 0}, 400, "max_tokens"},
		{"openai max_tokens type", "/v1/completions", `{"model":"tiny","prompt":"a","max_tokens":"10"}`, 400, "max_tokens"},
		{"openai temperature type", "/v1/chat/completions", `{"model":"tiny","messages":[{"role":"user","content":"a"}],"temperature":"hot"}`, 400, "temperature: expected a number"},
		{"openai stream_options type", "/v1/completions", `{"model":"tiny","prompt":"a","stream_options":{"include_usage":"yes"}}`, 400, "stream_options.include_usage: expected true or false"},
		{"openai n", "/v1/completions", map[string]any{"model": "tiny", "prompt": "a", "n": 2}, 400, "n:"},
		{"openai stop type", "/v1/completions", `{"model":"tiny","prompt":"a","stop":5}`, 400, "stop"},
		{"openai too many stops", "/v1/completions", map[string]any{"model": "tiny", "prompt": "a", "stop": strings.Split(strings.Repeat("x,", 17), ",")}, 400, "stop"},
		{"openai image part", "/v1/chat/completions", map[string]any{"model": "tiny", "messages": []map[string]any{{"role": "user", "content": []map[string]any{{"type": "image_url", "image_url": map[string]any{"url": "x"}}}}}}, 400, "messages[0].content"},
		{"openai text part without text", "/v1/chat/completions", `{"model":"tiny","messages":[{"role":"user","content":[{"type":"text"}]}]}`, 400, `messages[0].content: the content part of type "text" has no text`},
		{"openai content object", "/v1/chat/completions", `{"model":"tiny","messages":[{"role":"user","content":"a"},{"role":"user","content":{"a":1}}]}`, 400, "messages[1].content: expected a string or an array"},
		{"openai prompt batch", "/v1/completions", map[string]any{"model": "tiny", "prompt": []string{"a", "b"}}, 400, "prompt"},
		{"openai presence", "/v1/completions", map[string]any{"model": "tiny", "prompt": "a", "presence_penalty": 5}, 400, "presence_penalty"},
		{"openai too long", "/v1/completions", map[string]any{"model": "tiny", "prompt": long + long}, 400, "context"},
	}
	for _, c := range cases {
		r := e.do("POST", c.path, c.body)
		if r.status != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.name, r.status, c.status, r.body)
			continue
		}
		msg := errorMessage(t, r)
		if !strings.Contains(msg, c.mention) {
			t.Errorf("%s: message %q does not mention %q", c.name, msg, c.mention)
		}
		if goName.MatchString(msg) {
			t.Errorf("%s: message %q names a field by its Go type, not its JSON path", c.name, msg)
		}
		if strings.HasPrefix(c.path, "/v1/") {
			if _, ok := r.json(t)["error"].(map[string]any)["type"].(string); !ok {
				t.Errorf("%s: OpenAI error without a type: %s", c.name, r.body)
			}
		}
	}
	if l := e.runner.Loaded(); len(l) != 0 {
		t.Fatalf("bad requests loaded models: %+v", l)
	}
}
