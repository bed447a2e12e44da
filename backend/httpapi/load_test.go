package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"inferenceruntime/backend/service"
)

// loadResult is what one client of the load test saw.
type loadResult struct {
	status    int
	ttft      time.Duration // to the first streamed chunk (accepted requests)
	refusal   time.Duration // to the refusal (rejected requests)
	completed bool          // the stream ended with its final message
	left      bool          // the client disconnected on purpose
	err       string
}

// TestLoad sends several times the server's capacity (slots + queue) in
// concurrent streaming requests, in waves, with every fourth client
// disconnecting after its first chunk. Every accepted request must finish
// with a correct final message, every refused one must get 503/429 in its
// dialect, the runner must end idle with at most Parallel sessions kept, and
// the heap must not grow from wave to wave. The figures (requests/s, time to
// first token p50/p99, refusal latency) are logged: run with -v -run Load.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped in -short mode")
	}
	const (
		parallel = 2
		queue    = 4
		clients  = 4 * (parallel + queue) // four times the capacity
		waves    = 3
		tokens   = 24
	)
	e := newEnv(t, envOptions{runner: service.RunnerOptions{Parallel: parallel, Queue: queue}})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}

	one := func(i int) loadResult {
		openai := i%2 == 1
		leave := i%4 == 3
		var path string
		var body map[string]any
		if openai {
			path = "/v1/completions"
			body = map[string]any{"model": "slow", "prompt": fmt.Sprintf("request %d", i), "stream": true,
				"max_tokens": tokens, "temperature": 0.7, "seed": i}
		} else {
			path = "/api/generate"
			body = map[string]any{"model": "slow", "prompt": fmt.Sprintf("request %d", i),
				"options": map[string]any{"num_predict": tokens, "temperature": 0.7, "seed": i}}
		}
		data, _ := json.Marshal(body)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		start := time.Now()
		req, _ := http.NewRequestWithContext(ctx, "POST", e.url+path, strings.NewReader(string(data)))
		res, err := client.Do(req)
		if err != nil {
			return loadResult{err: err.Error()}
		}
		defer res.Body.Close()
		r := loadResult{status: res.StatusCode}
		if res.StatusCode != 200 {
			r.refusal = time.Since(start)
			b, _ := io.ReadAll(res.Body)
			want := http.StatusServiceUnavailable
			if openai {
				want = http.StatusTooManyRequests
			}
			if res.StatusCode != want || !strings.Contains(string(b), "busy") {
				r.err = fmt.Sprintf("refused with %d: %s", res.StatusCode, b)
			}
			return r
		}
		rd := bufio.NewReader(res.Body)
		var last string
		for n := 0; ; n++ {
			line, err := rd.ReadString('\n')
			if n == 0 {
				r.ttft = time.Since(start)
				if leave {
					r.left = true
					return r
				}
			}
			if strings.TrimSpace(line) != "" {
				last = strings.TrimSpace(line)
			}
			if err != nil {
				break
			}
		}
		switch {
		case openai && last == "data: [DONE]":
			r.completed = true
		case !openai:
			var m map[string]any
			if json.Unmarshal([]byte(last), &m) == nil && m["done"] == true && m["eval_count"].(float64) >= 1 {
				r.completed = true
			}
		}
		if !r.completed {
			r.err = "stream ended without its final message: " + last
		}
		return r
	}

	var all []loadResult
	var heaps []uint64
	var ms runtime.MemStats
	start := time.Now()
	for w := range waves {
		results := make([]loadResult, clients)
		var wg sync.WaitGroup
		for i := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = one(w*clients + i)
			}()
		}
		wg.Wait()
		all = append(all, results...)
		waitFor(t, "the runner to go idle", func() bool { r, q := e.runner.Load(); return r == 0 && q == 0 })
		runtime.GC()
		runtime.ReadMemStats(&ms)
		heaps = append(heaps, ms.HeapInuse)
	}
	elapsed := time.Since(start)

	var accepted, completed, left, refused int
	var ttfts, refusals []time.Duration
	for i, r := range all {
		if r.err != "" {
			t.Errorf("client %d: %s", i, r.err)
		}
		switch {
		case r.status == 200:
			accepted++
			ttfts = append(ttfts, r.ttft)
			if r.completed {
				completed++
			}
			if r.left {
				left++
			}
		case r.status != 0:
			refused++
			refusals = append(refusals, r.refusal)
		}
	}
	if accepted == 0 {
		t.Fatal("no request was accepted")
	}
	if completed+left != accepted {
		t.Errorf("%d accepted, %d completed, %d left early", accepted, completed, left)
	}
	for _, l := range e.runner.Loaded() {
		if l.Sessions > parallel {
			t.Errorf("%s keeps %d sessions, more than %d slots", l.Ref.Name, l.Sessions, parallel)
		}
	}
	// Memory stays bounded: the heap after the last wave is not a multiple
	// of the heap after the first (sessions are pooled, not leaked).
	if heaps[len(heaps)-1] > 2*heaps[0]+64<<20 {
		t.Errorf("heap grew from %d MiB to %d MiB over %d waves", heaps[0]>>20, heaps[len(heaps)-1]>>20, waves)
	}
	metrics := string(e.do("GET", "/metrics", nil).body)
	if !strings.Contains(metrics, "ir_queue_depth 0") || !strings.Contains(metrics, `ir_time_to_first_token_seconds_count`) {
		t.Errorf("metrics after the load:\n%s", metrics)
	}
	t.Logf("%d requests in %d waves (capacity %d+%d) in %v: %d accepted (%d completed, %d left early), %d refused",
		len(all), waves, parallel, queue, elapsed.Round(time.Millisecond), accepted, completed, left, refused)
	t.Logf("completed requests/s %.1f; TTFT p50 %v p99 %v; refusal p50 %v p99 %v; heap per wave %v MiB",
		float64(completed)/elapsed.Seconds(), pct(ttfts, 50), pct(ttfts, 99), pct(refusals, 50), pct(refusals, 99), mib(heaps))
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(0, min(len(s)-1, i-1))].Round(100 * time.Microsecond)
}

func mib(h []uint64) []uint64 {
	out := make([]uint64, len(h))
	for i, v := range h {
		out[i] = v >> 20
	}
	return out
}
