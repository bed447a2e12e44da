// Command batching measures serving many streams of one model: aggregate
// decode tokens/s at several numbers of concurrent greedy streams through
// one batched step loop (and, for comparison, one stream on a session of
// its own), the time to the first token of a follow-up turn after a long
// history with and without the cached prefix, and speculative decoding's
// speed-up with prompt lookup on a repetitive prompt. bench/batching.sh
// runs it on the Llama-1B shape.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"inferenceruntime/inference"
	"inferenceruntime/inference/engine"
	"inferenceruntime/inference/sample"
)

func main() {
	threads := flag.Int("threads", 2, "CPU threads")
	tokens := flag.Int("n", 32, "tokens generated per stream")
	history := flag.Int("history", 2000, "tokens of history before the follow-up turn")
	draft := flag.String("draft", "", "a draft model of the same vocabulary (GGUF): also measure speculative decoding with it")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: batching [-threads N] [-n TOKENS] [-history TOKENS] MODEL.gguf")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *threads, *tokens, *history, *draft); err != nil {
		fmt.Fprintln(os.Stderr, "batching:", err)
		os.Exit(1)
	}
}

func greedy() sample.Params {
	p := sample.DefaultParams()
	p.Temperature = 0
	return p
}

// prompt is a short prompt that differs per stream.
func prompt(i int) []int32 {
	p := []int32{1}
	for j := range 8 {
		p = append(p, int32(1000+97*i+13*j))
	}
	return p
}

func run(path string, threads, n, history int, draftPath string) error {
	m, err := inference.Load(path, inference.Options{Threads: threads, ContextLength: 4096})
	if err != nil {
		return err
	}
	defer m.Close()
	ctx := context.Background()

	fmt.Printf("model %s, %d threads, %d tokens per stream, greedy\n", path, threads, n)
	own, alone, err := loneStream(ctx, m, n)
	if err != nil {
		return err
	}
	fmt.Printf("one stream: %.2f tok/s on its own session, %.2f tok/s through the batched loop (%.2fx, median of alternating pairs)\n",
		own, alone, alone/own)
	fmt.Printf("streams  aggregate decode tok/s  per stream\n")
	var single float64
	for _, streams := range []int{1, 2, 4, 8} {
		rate, err := aggregate(ctx, m, streams, n)
		if err != nil {
			return err
		}
		if streams == 1 {
			single = rate
		}
		fmt.Printf("%7d  %22.2f  %10.2f  (%.2fx one stream)\n", streams, rate, rate/float64(streams), rate/single)
	}

	// A follow-up turn: the next prompt repeats the history and adds a
	// question. Without the prefix cache it is the first time the model
	// sees the history; with it, an earlier request (a session of its own,
	// closed since, as a server's is) read the history, and its blocks wait
	// in the model's KV pool.
	hist := []int32{1}
	for i := 1; i < history; i++ {
		hist = append(hist, int32(500+(i*7919)%20000))
	}
	follow := append(append([]int32(nil), hist...), 11, 12, 13, 14, 15, 16, 17, 18)
	for _, cached := range []bool{false, true} {
		if cached {
			earlier, err := m.NewSession(inference.SessionOptions{Batched: true})
			if err != nil {
				return err
			}
			err = earlier.Feed(ctx, hist)
			earlier.Close()
			if err != nil {
				return err
			}
		}
		s, err := m.NewSession(inference.SessionOptions{Batched: true})
		if err != nil {
			return err
		}
		st, err := s.Generate(ctx, inference.Request{Tokens: follow, Sampling: greedy(), MaxTokens: 1}, func(inference.Token) error { return nil })
		s.Close()
		if err != nil {
			return err
		}
		fmt.Printf("follow-up turn after %d tokens, prefix cache %-5v: time to first token %7.3f s (%d of %d prompt tokens cached)\n",
			history, cached, st.TimeToFirst.Seconds(), st.CachedTokens, st.PromptTokens)
	}

	// Speculative decoding with prompt lookup on a prompt whose phrases
	// repeat (the synthetic model's greedy reply repeats too).
	var rep []int32
	for i := range 200 {
		rep = append(rep, int32(2000+i%25*31))
	}
	var rates [2]float64
	for i, draft := range []engine.Drafter{nil, engine.PromptLookup{}} {
		s, err := m.NewSession(inference.SessionOptions{})
		if err != nil {
			return err
		}
		st, err := s.Generate(ctx, inference.Request{Tokens: rep, Sampling: greedy(), MaxTokens: 4 * n, Draft: draft}, func(inference.Token) error { return nil })
		s.Close()
		if err != nil {
			return err
		}
		rates[i] = st.DecodeRate
		fmt.Printf("repetitive prompt, prompt lookup %-5v: %6.2f tok/s decode (%d drafted, %d accepted)\n", draft != nil, st.DecodeRate, st.DraftedTokens, st.AcceptedTokens)
	}
	fmt.Printf("speculative speed-up with prompt lookup: %.2fx\n", rates[1]/rates[0])
	if draftPath == "" {
		return nil
	}
	return withDraft(ctx, m, draftPath, threads, 4*n)
}

// withDraft measures speculative decoding with a draft model: the same
// prompt decoded greedily without and with it, in alternating pairs.
func withDraft(ctx context.Context, m *inference.Model, path string, threads, n int) error {
	dm, err := inference.Load(path, inference.Options{Threads: threads, ContextLength: 4096})
	if err != nil {
		return err
	}
	defer dm.Close()
	if err := m.CheckDraft(dm); err != nil {
		return err
	}
	var plain, drafted []float64
	var last inference.Stats
	for range 3 {
		for _, useDraft := range []bool{false, true} {
			req := inference.Request{Tokens: prompt(0), Sampling: greedy(), MaxTokens: n}
			var ds *inference.Session
			if useDraft {
				if ds, err = dm.NewSession(inference.SessionOptions{}); err != nil {
					return err
				}
				req.Draft = ds.Drafter()
			}
			s, err := m.NewSession(inference.SessionOptions{})
			if err != nil {
				return err
			}
			st, err := s.Generate(ctx, req, func(inference.Token) error { return nil })
			s.Close()
			if ds != nil {
				ds.Close()
			}
			if err != nil {
				return err
			}
			if useDraft {
				drafted, last = append(drafted, st.DecodeRate), st
			} else {
				plain = append(plain, st.DecodeRate)
			}
		}
	}
	a, b := median(plain), median(drafted)
	fmt.Printf("draft model %s: %.2f tok/s decode without, %.2f with (%d drafted, %d accepted in the last run): %.2fx\n",
		path, a, b, last.DraftedTokens, last.AcceptedTokens, b/a)
	return nil
}

// aggregate runs streams greedy generations of n tokens at once on batched
// sessions and returns the generated tokens per second of wall time from
// the first token of the last stream to start, so that prefill is not
// counted.
func aggregate(ctx context.Context, m *inference.Model, streams, n int) (float64, error) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	var ready sync.WaitGroup
	ready.Add(streams)
	counts := make([]int, streams)
	var start time.Time
	var startCounts []int
	done := make([]time.Time, streams)
	for i := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := m.NewSession(inference.SessionOptions{Batched: true})
			if err != nil {
				mu.Lock()
				firstErr = err
				mu.Unlock()
				ready.Done()
				return
			}
			defer s.Close()
			first := true
			_, err = s.Generate(ctx, inference.Request{Tokens: prompt(i), Sampling: greedy(), MaxTokens: n}, func(inference.Token) error {
				mu.Lock()
				counts[i]++
				mu.Unlock()
				if first {
					first = false
					ready.Done()
				}
				return nil
			})
			done[i] = time.Now()
			if err != nil {
				mu.Lock()
				firstErr = err
				mu.Unlock()
			}
		}()
	}
	started := make(chan struct{})
	go func() {
		ready.Wait()
		mu.Lock()
		start = time.Now()
		startCounts = append([]int(nil), counts...)
		mu.Unlock()
		close(started)
	}()
	wg.Wait()
	<-started
	if firstErr != nil {
		return 0, firstErr
	}
	end := done[0]
	total := 0
	for i := range counts {
		if done[i].After(end) {
			end = done[i]
		}
		total += counts[i] - startCounts[i]
	}
	return float64(total) / end.Sub(start).Seconds(), nil
}

// loneStream measures one stream's decode rate on a session of its own and
// on a batched session with no other stream, in alternating pairs: on a
// shared machine single measurements of each, minutes apart, once differed
// by 2x where the medians of pairs agree. It returns the medians.
func loneStream(ctx context.Context, m *inference.Model, n int) (own, batched float64, err error) {
	const pairs = 3
	var rates [2][]float64
	for range pairs {
		for i, b := range []bool{false, true} {
			s, err := m.NewSession(inference.SessionOptions{Batched: b})
			if err != nil {
				return 0, 0, err
			}
			st, err := s.Generate(ctx, inference.Request{Tokens: prompt(0), Sampling: greedy(), MaxTokens: n}, func(inference.Token) error { return nil })
			s.Close()
			if err != nil {
				return 0, 0, err
			}
			rates[i] = append(rates[i], st.DecodeRate)
		}
	}
	return median(rates[0]), median(rates[1]), nil
}

// median is the middle of an odd number of rates.
func median(rates []float64) float64 {
	s := slices.Clone(rates)
	slices.Sort(s)
	return s[len(s)/2]
}
