package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"inferenceruntime/inference"
	"inferenceruntime/inference/compute"
)

// benchKVResult is the decode speed with one KV cache type.
type benchKVResult struct {
	KVType     string    `json:"kv_type"`
	CacheBytes int64     `json:"cache_bytes"` // at depth + n tokens
	Samples    []float64 `json:"samples_ts"`
	AvgTS      float64   `json:"avg_ts"`
	StdTS      float64   `json:"stddev_ts"`
	Ratio      float64   `json:"ratio"` // AvgTS against the first type's
}

// benchKVTypes compares decode speed across KV cache types (--kv-type
// with a list): one session per type holds benchDepth tokens of context,
// filled once; each repetition times n single-token steps with every type
// in turn and goes back to the depth, so that the machine's drift falls on
// all types alike.
func benchKVTypes(w io.Writer, m *inference.Model, types []string, n int) error {
	if n < 1 {
		return fmt.Errorf("--kv-type with a list compares decode speed: -n must be at least 1")
	}
	ctx := context.Background()
	randomTokens := benchTokens(m.Info().VocabSize)
	sessions := make([]*inference.Session, len(types))
	results := make([]benchKVResult, len(types))
	for i, kv := range types {
		s, err := m.NewSession(inference.SessionOptions{ContextLength: benchDepth + n + 1, BatchSize: max(n, min(benchDepth, 512)), KVType: kv})
		if err != nil {
			return fmt.Errorf("--kv-type %s: %w", kv, err)
		}
		defer s.Close()
		if err := s.Feed(ctx, randomTokens(benchDepth)); err != nil {
			return fmt.Errorf("--kv-type %s: filling %d tokens: %w", kv, benchDepth, err)
		}
		sessions[i] = s
		results[i].KVType = kv
	}
	for rep := -1; rep < benchReps; rep++ { // rep -1 warms up
		for i, s := range sessions {
			s.Truncate(benchDepth)
			start := time.Now()
			for _, id := range randomTokens(n) {
				if err := s.Feed(ctx, []int32{id}); err != nil {
					return fmt.Errorf("--kv-type %s: %w", types[i], err)
				}
			}
			if rep >= 0 {
				results[i].Samples = append(results[i].Samples, float64(n)/time.Since(start).Seconds())
			}
			results[i].CacheBytes = s.CacheBytes()
		}
	}
	for i := range results {
		results[i].AvgTS, results[i].StdTS = benchMeanSD(results[i].Samples)
		results[i].Ratio = results[i].AvgTS / results[0].AvgTS
	}
	if benchJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	test := fmt.Sprintf("tg%d @ d%d", n, benchDepth)
	fmt.Fprintf(w, "| %-7s | %14s | %12s | %20s | %8s |\n", "kv type", "test", "cache", "t/s", "ratio")
	fmt.Fprintf(w, "| %s | %s: | %s: | %s: | %s: |\n", benchDashes(7), benchDashes(13), benchDashes(11), benchDashes(19), benchDashes(7))
	for _, r := range results {
		fmt.Fprintf(w, "| %-7s | %14s | %8.1f MiB | %20s | %8.3f |\n", r.KVType, test, float64(r.CacheBytes)/(1<<20),
			fmt.Sprintf("%.2f ± %.2f", r.AvgTS, r.StdTS), r.Ratio)
	}
	return nil
}

// benchKVList splits --kv-type's comma-separated list, checking each type;
// nil where it names one type.
func benchKVList(arg string) ([]string, error) {
	if !strings.Contains(arg, ",") {
		return nil, nil
	}
	types := strings.Split(arg, ",")
	for _, kv := range types {
		if _, err := compute.ParseKVType(kv); err != nil {
			return nil, fmt.Errorf("--kv-type: %w", err)
		}
	}
	return types, nil
}
