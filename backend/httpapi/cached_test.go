package httpapi

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"inferenceruntime/backend/service"
)

func num(m map[string]any, path ...string) (float64, bool) {
	var cur any = m
	for _, k := range path {
		obj, ok := cur.(map[string]any)
		if !ok {
			return 0, false
		}
		cur = obj[k]
	}
	f, ok := cur.(float64)
	return f, ok
}

// The second of two identical requests finds its prompt in a session's
// cache but the last token: the counts say so in both dialects, streamed
// or not, and the prompt counts still count every prompt token.
func TestCachedTokenCounts(t *testing.T) {
	for _, parallel := range []int{1, 4} {
		t.Run(fmt.Sprint("parallel ", parallel), func(t *testing.T) {
			e := newEnv(t, envOptions{runner: service.RunnerOptions{Parallel: parallel}})
			chat := map[string]any{"model": "tiny", "max_tokens": 3, "temperature": 0,
				"messages": []map[string]any{{"role": "user", "content": "the cache test, a chat"}}}
			completion := map[string]any{"model": "tiny", "max_tokens": 3, "temperature": 0, "prompt": "a completion of its own"}
			for _, c := range []struct {
				path string
				body map[string]any
			}{{"/v1/chat/completions", chat}, {"/v1/completions", completion}} {
				for i, stream := range []bool{false, false, true} {
					c.body["stream"] = stream
					c.body["stream_options"] = map[string]any{"include_usage": true}
					r := e.do(http.MethodPost, c.path, c.body)
					if r.status != http.StatusOK {
						t.Fatalf("%s: %d %s", c.path, r.status, r.body)
					}
					var usage map[string]any
					if stream {
						events := sse(t, r.body)
						usage = events[len(events)-1]
					} else {
						usage = r.json(t)
					}
					prompt, ok1 := num(usage, "usage", "prompt_tokens")
					cached, ok2 := num(usage, "usage", "prompt_tokens_details", "cached_tokens")
					// The first request finds no cache, or one of
					// another prompt that shares its first tokens at most.
					bad := cached != prompt-1
					if i == 0 {
						bad = cached >= prompt-1 || c.path == "/v1/chat/completions" && cached != 0
					}
					if !ok1 || !ok2 || prompt < 2 || bad {
						t.Errorf("%s request %d (stream %v): prompt_tokens %v, cached_tokens %v", c.path, i, stream, prompt, cached)
					}
					if _, ok := usage["usage"].(map[string]any)["completion_tokens_details"]; ok {
						t.Errorf("%s: completion_tokens_details without speculative decoding", c.path)
					}
				}
			}
			gen := map[string]any{"model": "tiny", "prompt": "an Ollama prompt", "raw": true, "options": map[string]any{"num_predict": 3, "temperature": 0}}
			for i, stream := range []bool{false, false, true} {
				gen["stream"] = stream
				r := e.do(http.MethodPost, "/api/generate", gen)
				if r.status != http.StatusOK {
					t.Fatalf("/api/generate: %d %s", r.status, r.body)
				}
				var final map[string]any
				if stream {
					lines := ndjson(t, r.body)
					final = lines[len(lines)-1]
				} else {
					final = r.json(t)
				}
				count, _ := num(final, "prompt_eval_count")
				cached, has := num(final, "prompt_eval_cached_count")
				switch {
				case count < 2:
					t.Errorf("/api/generate request %d: prompt_eval_count %v", i, count)
				case i > 0 && cached != count-1:
					t.Errorf("/api/generate request %d: prompt_eval_cached_count %v (present %v), want %v", i, cached, has, count-1)
				}
			}
		})
	}
}

// Requests choose speculative decoding by name in both dialects; the
// counts of drafted and accepted tokens come back, and the reply is the
// same as without.
func TestDraftRequests(t *testing.T) {
	e := newEnv(t, envOptions{runner: service.RunnerOptions{Parallel: 2}})
	base := map[string]any{"model": "tiny", "max_tokens": 12, "temperature": 0,
		"messages": []map[string]any{{"role": "user", "content": "one two one two one two"}}}
	r := e.do(http.MethodPost, "/v1/chat/completions", base)
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.body)
	}
	want := r.json(t)["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)["content"]
	base["draft"] = "tiny2"
	r = e.do(http.MethodPost, "/v1/chat/completions", base)
	m := r.json(t)
	if got := m["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)["content"]; got != want {
		t.Errorf("with a draft model: %q, want %q", got, want)
	}
	acc, ok1 := num(m, "usage", "completion_tokens_details", "accepted_prediction_tokens")
	rej, ok2 := num(m, "usage", "completion_tokens_details", "rejected_prediction_tokens")
	if !ok1 || !ok2 || acc+rej == 0 {
		t.Errorf("usage %v: no drafted tokens counted", m["usage"])
	}

	gen := map[string]any{"model": "tiny", "prompt": "x y z x y z x y z", "raw": true, "stream": false,
		"options": map[string]any{"num_predict": 12, "temperature": 0}}
	plain := e.do(http.MethodPost, "/api/generate", gen).json(t)
	gen["options"].(map[string]any)["draft"] = "tiny"
	spec := e.do(http.MethodPost, "/api/generate", gen).json(t)
	drafted, _ := num(spec, "draft_count")
	accepted, _ := num(spec, "draft_accepted_count")
	if spec["response"] != plain["response"] || drafted == 0 || accepted != drafted {
		t.Errorf("options.draft the model itself: %q (%v drafted, %v accepted), want %q with every draft accepted",
			spec["response"], drafted, accepted, plain["response"])
	}
	if _, ok := plain["draft_count"]; ok {
		t.Errorf("draft_count without speculative decoding: %v", plain)
	}

	for _, path := range []string{"/api/generate", "/v1/completions"} {
		r := e.do(http.MethodPost, path, map[string]any{"model": "tiny", "prompt": "a", "stream": false, "draft": "no-such-model"})
		if msg := errorMessage(t, r); r.status != http.StatusBadRequest || !strings.Contains(msg, "draft") {
			t.Errorf("%s with a draft model that is not installed: %d %q", path, r.status, msg)
		}
	}
}
