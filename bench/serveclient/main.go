// Command serveclient measures an OpenAI-compatible server's aggregate
// decode rate: it sends N concurrent greedy /v1/completions requests, each
// with its own short prompt, and prints the completion tokens the server
// reports (usage) divided by the wall time from the first request to the
// last reply. The same client runs against `ir serve` and llama-server in
// bench/serve.sh, so both are measured the same way.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"
)

func main() {
	url := flag.String("url", "", "server base URL, e.g. http://127.0.0.1:8080")
	model := flag.String("model", "", "model name sent in the request")
	streams := flag.Int("streams", 1, "concurrent requests")
	tokens := flag.Int("n", 64, "max_tokens of each request")
	timeout := flag.Duration("timeout", 10*time.Minute, "give up after this long")
	flag.Parse()
	if *url == "" || *streams < 1 || *tokens < 1 {
		fmt.Fprintln(os.Stderr, "usage: serveclient -url URL [-model NAME] [-streams N] [-n TOKENS]")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	res, err := run(ctx, *url, *model, *streams, *tokens)
	if err != nil {
		fmt.Fprintln(os.Stderr, "serveclient:", err)
		os.Exit(1)
	}
	fmt.Printf("streams %d: %d tokens in %.3f s: %.2f tokens/s\n", *streams, res.tokens, res.wall.Seconds(), res.rate())
}

type result struct {
	tokens int
	wall   time.Duration
}

func (r result) rate() float64 { return float64(r.tokens) / r.wall.Seconds() }

// run sends the requests at once and waits for every reply.
func run(ctx context.Context, url, model string, streams, tokens int) (result, error) {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total int
		first error
	)
	start := time.Now()
	for i := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := complete(ctx, url, model, fmt.Sprintf("Story %d. Once upon a time, in a town called %c", i, 'A'+i%26), tokens)
			mu.Lock()
			defer mu.Unlock()
			total += n
			if err != nil && first == nil {
				first = fmt.Errorf("stream %d: %w", i, err)
			}
		}()
	}
	wg.Wait()
	return result{tokens: total, wall: time.Since(start)}, first
}

// complete sends one greedy completion request and returns the number of
// completion tokens the server says it generated.
func complete(ctx context.Context, url, model, prompt string, tokens int) (int, error) {
	body, err := json.Marshal(map[string]any{
		"model": model, "prompt": prompt, "max_tokens": tokens,
		"temperature": 0, "stream": false,
	})
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/completions", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(data))
	}
	var out struct {
		Usage struct {
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return 0, fmt.Errorf("reading the reply: %w", err)
	}
	if out.Usage.CompletionTokens <= 0 {
		return 0, fmt.Errorf("the reply reports no completion tokens: %.200s", data)
	}
	return out.Usage.CompletionTokens, nil
}
