package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"inferenceruntime/backend/service"
	"inferenceruntime/inference/sample"
)

// holdSlots starts n generations on the runner whose token callback blocks
// until release is closed, so they keep their slots (or their queue
// places) for as long as the test needs. It returns once each holder has
// either produced a token (running) or is counted as waiting.
func holdSlots(t *testing.T, e *env, model string, running, waiting int) (release func()) {
	t.Helper()
	ch := make(chan struct{})
	var wg sync.WaitGroup
	started := make(chan struct{}, running+waiting)
	for range running + waiting {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			e.runner.Generate(context.Background(), service.GenerateRequest{Model: model, Prompt: "hold", Raw: true,
				Options: service.GenerateOptions{Sampling: sample.Params{Temperature: 0}, MaxTokens: 50}},
				func(string) error {
					if first {
						first = false
						started <- struct{}{}
					}
					<-ch
					return nil
				})
		}()
	}
	for range running {
		select {
		case <-started:
		case <-time.After(30 * time.Second):
			t.Fatal("holders did not start")
		}
	}
	waitFor(t, "queued holders", func() bool { r, w := e.runner.Load(); return r == running && w == waiting })
	var once sync.Once
	release = func() {
		once.Do(func() { close(ch) })
		wg.Wait()
	}
	t.Cleanup(release)
	return release
}

// TestQueueFull: with every slot and queue place taken, a new request is
// refused at once: 503 in the Ollama dialect, 429 in OpenAI's, both with
// Retry-After.
func TestQueueFull(t *testing.T) {
	e := newEnv(t, envOptions{runner: service.RunnerOptions{Parallel: 2, Queue: 1}})
	release := holdSlots(t, e, "tiny", 2, 1)

	r := e.do("POST", "/api/generate", map[string]any{"model": "tiny", "prompt": "a"})
	if r.status != http.StatusServiceUnavailable || !strings.Contains(errorMessage(t, r), "busy") {
		t.Fatalf("ollama: %d %s", r.status, r.body)
	}
	if got := r.header.Get("Retry-After"); got != "1" {
		t.Fatalf("ollama: Retry-After %q, want 1", got)
	}
	r = e.do("POST", "/v1/chat/completions", map[string]any{"model": "tiny", "stream": true,
		"messages": []map[string]any{{"role": "user", "content": "a"}}})
	if r.status != http.StatusTooManyRequests || r.json(t)["error"].(map[string]any)["code"] != "rate_limit_exceeded" {
		t.Fatalf("openai: %d %s", r.status, r.body)
	}
	if got := r.header.Get("Retry-After"); got != "1" {
		t.Fatalf("openai: Retry-After %q, want 1", got)
	}
	// Another model has its own slots.
	if r := e.do("POST", "/api/generate", map[string]any{"model": "tiny2", "prompt": "a", "stream": false, "options": map[string]any{"num_predict": 2}}); r.status != 200 {
		t.Fatalf("other model while tiny is full: %d %s", r.status, r.body)
	}
	release()
	if r := e.do("POST", "/api/generate", map[string]any{"model": "tiny", "prompt": "a", "stream": false, "options": map[string]any{"num_predict": 2}}); r.status != 200 {
		t.Fatalf("after the holders finished: %d %s", r.status, r.body)
	}
	metrics := string(e.do("GET", "/metrics", nil).body)
	for _, want := range []string{`ir_requests_rejected_total{reason="queue_full"} 2`,
		`ir_http_requests_total{endpoint="/api/generate",code="503"} 1`,
		`ir_http_requests_total{endpoint="/v1/chat/completions",code="429"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q:\n%s", want, metrics)
		}
	}
}

// TestParallelSessions: requests beyond one run at the same time on one
// loaded model, each in its own session, and give the same text as alone.
func TestParallelSessions(t *testing.T) {
	e := newEnv(t, envOptions{runner: service.RunnerOptions{Parallel: 3, Queue: 8}})
	prompts := []string{"Once upon a time", "The cat sat", "Hello there", "A B C", "one two three", "zzz"}
	gen := func(p string) string {
		r := e.do("POST", "/api/generate", map[string]any{"model": "tiny", "prompt": p, "stream": false,
			"options": greedy(map[string]any{"num_predict": 20})})
		if r.status != 200 {
			t.Errorf("%q: %d %s", p, r.status, r.body)
			return ""
		}
		return r.json(t)["response"].(string)
	}
	alone := map[string]string{}
	for _, p := range prompts {
		alone[p] = gen(p)
	}
	var mu sync.Mutex
	together := map[string]string{}
	var wg sync.WaitGroup
	for _, p := range prompts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := gen(p)
			mu.Lock()
			together[p] = s
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, p := range prompts {
		if alone[p] != together[p] {
			t.Errorf("%q: alone %q, concurrently %q", p, alone[p], together[p])
		}
	}
	loaded := e.runner.Loaded()
	// On the CPU the batched sessions' caches are blocks of the model's
	// pool, which keeps them: no idle session is kept besides.
	if len(loaded) != 1 || loaded[0].Sessions != 0 {
		t.Fatalf("loaded = %+v; want one model keeping no idle session", loaded)
	}
}

// TestDisconnectCancels: a streaming client that goes away stops its
// generation at once, freeing the slot; the log records the cancellation.
func TestDisconnectCancels(t *testing.T) {
	e := newEnv(t, envOptions{runner: service.RunnerOptions{Parallel: 1, Queue: 1}})
	for _, c := range []struct {
		path string
		body map[string]any
	}{
		{"/api/generate", map[string]any{"model": "slow", "prompt": "a", "options": map[string]any{"num_predict": 2000}}},
		{"/v1/completions", map[string]any{"model": "slow", "prompt": "a", "stream": true, "max_tokens": 2000}},
	} {
		data, _ := json.Marshal(c.body)
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "POST", e.url+c.path, strings.NewReader(string(data)))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != 200 {
			t.Fatalf("%s: status %d", c.path, res.StatusCode)
		}
		line, err := bufio.NewReader(res.Body).ReadString('\n')
		if err != nil || len(line) < 2 {
			t.Fatalf("%s: first chunk %q, %v", c.path, line, err)
		}
		cancel()
		res.Body.Close()
		waitFor(t, "the slot to be freed", func() bool { r, w := e.runner.Load(); return r == 0 && w == 0 })
		waitFor(t, "the log line", func() bool { return strings.Count(e.logs.String(), `"done_reason":"cancelled"`) >= 1 })
	}
	// The generations stopped early: far fewer tokens than asked for.
	for _, line := range strings.Split(strings.TrimSpace(e.logs.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil || m["model"] != "slow" {
			continue
		}
		if m["done_reason"] != "cancelled" || m["generated_tokens"].(float64) >= 1000 {
			t.Errorf("log line %s: want cancelled well before 2000 tokens", line)
		}
		if m["status"].(float64) != statusClientClosed {
			t.Errorf("log status %v, want %d", m["status"], statusClientClosed)
		}
	}
	// The model serves the next request normally.
	if r := e.do("POST", "/api/generate", map[string]any{"model": "slow", "prompt": "a", "stream": false, "options": map[string]any{"num_predict": 3}}); r.status != 200 {
		t.Fatalf("after cancellation: %d %s", r.status, r.body)
	}
}

// TestWaitingRequestLeaves: a request waiting in the queue whose client
// goes away leaves the queue.
func TestWaitingRequestLeaves(t *testing.T) {
	e := newEnv(t, envOptions{runner: service.RunnerOptions{Parallel: 1, Queue: 2}})
	holdSlots(t, e, "tiny", 1, 0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "POST", e.url+"/api/generate", strings.NewReader(`{"model":"tiny","prompt":"a"}`))
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
		}
		done <- err
	}()
	waitFor(t, "the request to queue", func() bool { _, w := e.runner.Load(); return w == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("client error %v", err)
	}
	waitFor(t, "the queue to empty", func() bool { _, w := e.runner.Load(); return w == 0 })
}

// TestEvictionAndKeepAlive: with room for one model, using another unloads
// the idle one (least recently used); keep-alive expiry unloads too.
func TestEvictionAndKeepAlive(t *testing.T) {
	e := newEnv(t, envOptions{runner: service.RunnerOptions{MaxLoaded: 1, KeepAlive: time.Hour}})
	names := func() string {
		var n []string
		for _, l := range e.runner.Loaded() {
			n = append(n, l.Ref.Name)
		}
		return strings.Join(n, ",")
	}
	gen := func(model string, keep any) {
		body := map[string]any{"model": model, "prompt": "a", "stream": false, "options": map[string]any{"num_predict": 2}}
		if keep != nil {
			body["keep_alive"] = keep
		}
		if r := e.do("POST", "/api/generate", body); r.status != 200 {
			t.Fatalf("%s: %d %s", model, r.status, r.body)
		}
	}
	gen("tiny", nil)
	if names() != "tiny" {
		t.Fatalf("loaded %q", names())
	}
	gen("tiny2", nil)
	if names() != "tiny2" {
		t.Fatalf("after tiny2: loaded %q; want tiny evicted", names())
	}
	// A short keep-alive unloads by itself.
	gen("tiny", "50ms")
	waitFor(t, "keep-alive expiry", func() bool { return names() == "" })
	// keep_alive -1 keeps it; ps shows no expiry soon.
	gen("tiny", -1)
	time.Sleep(100 * time.Millisecond)
	if names() != "tiny" {
		t.Fatalf("keep_alive -1: loaded %q", names())
	}
}

// TestMemoryLimitBusy: a model that does not fit while the loaded one is
// busy is refused with 503 rather than waiting forever.
func TestMemoryLimitBusy(t *testing.T) {
	e := newEnv(t, envOptions{runner: service.RunnerOptions{MaxLoaded: 1, Parallel: 1}})
	holdSlots(t, e, "tiny", 1, 0)
	r := e.do("POST", "/v1/completions", map[string]any{"model": "tiny2", "prompt": "a"})
	if r.status != http.StatusServiceUnavailable || !strings.Contains(errorMessage(t, r), "memory") {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
}

// TestStreamOutlivesReadTimeout: ReadTimeout bounds reading the request,
// not the response: a stream longer than it completes.
func TestStreamOutlivesReadTimeout(t *testing.T) {
	e := newEnv(t, envOptions{cfg: Config{ReadTimeout: 150 * time.Millisecond}})
	start := time.Now()
	r := e.do("POST", "/api/generate", map[string]any{"model": "slow", "prompt": "a",
		"options": map[string]any{"num_predict": 400, "temperature": 0}})
	lines := ndjson(t, r.body)
	last := lines[len(lines)-1]
	if r.status != 200 || last["done"] != true {
		t.Fatalf("status %d, last line %v", r.status, last)
	}
	if time.Since(start) < 150*time.Millisecond {
		t.Skip("the generation was faster than the read timeout; nothing shown")
	}
}

// TestClientGoneMidStream: a client that closes its connection while a fast
// model streams is logged as cancelled (499) whether the server notices it
// by the request's context or by a failed write (which used to be logged as
// a 200 with done_reason "error").
func TestClientGoneMidStream(t *testing.T) {
	e := newEnv(t, envOptions{runner: service.RunnerOptions{Parallel: 1, Queue: 1}})
	host := strings.TrimPrefix(e.url, "http://")
	const rounds = 6
	for i := range rounds {
		path, body := "/api/generate", `{"model":"tiny","prompt":"a","options":{"num_predict":100000,"num_ctx":512}}`
		if i%2 == 1 {
			path, body = "/v1/completions", `{"model":"tiny","prompt":"a","stream":true,"max_tokens":100000}`
		}
		conn, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", path, len(body), body)
		if _, err := bufio.NewReader(conn).ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		conn.(*net.TCPConn).SetLinger(0) // reset: the server's next write fails at once
		conn.Close()
		waitFor(t, "the slot to be freed", func() bool { r, w := e.runner.Load(); return r == 0 && w == 0 })
		waitFor(t, "the log line", func() bool { return strings.Count(e.logs.String(), `"model":"tiny"`) >= i+1 })
	}
	cancelled := 0
	for _, line := range strings.Split(strings.TrimSpace(e.logs.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil || m["model"] != "tiny" {
			continue
		}
		switch {
		case m["done_reason"] == "cancelled" && m["status"].(float64) == statusClientClosed:
			cancelled++
		case (m["done_reason"] == "stop" || m["done_reason"] == "length") && m["status"].(float64) == 200:
			// The random model ended its reply before the client left.
		default:
			t.Errorf("log line %s: want done_reason cancelled, status %d", line, statusClientClosed)
		}
	}
	if cancelled == 0 {
		t.Error("no request was logged as cancelled")
	}
}
