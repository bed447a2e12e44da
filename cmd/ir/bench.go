package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"inferenceruntime/backend/modelfile"
	"inferenceruntime/inference"
	"inferenceruntime/inference/compute/cpu"
	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/model"
)

var (
	benchPrompt  int
	benchGen     int
	benchThreads int
	benchReps    int
	benchDepth   int
	benchJSON    bool
	benchProfile bool
	benchKVType  string
	benchLora    []string
	benchBatched bool
)

var benchCmd = &cobra.Command{
	Use:   "bench MODEL",
	Short: "Measure prompt processing (pp) and generation (tg) speed, like llama-bench",
	Long: "Measure prompt processing (pp) and generation (tg) speed, like llama-bench. MODEL is a GGUF file or\n" +
		"an installed model (name, alias, id or id prefix; see \"ir list\"); a file of that path wins.",
	Args: cobra.ExactArgs(1),
	RunE: func(cmd *cobra.Command, args []string) error {
		if benchReps < 1 || benchPrompt < 0 || benchGen < 0 || benchDepth < 0 {
			return fmt.Errorf("-r must be at least 1; -p, -n and -d not negative")
		}
		kvTypes, err := benchKVList(benchKVType)
		if err != nil {
			return err
		}
		path, modelName, err := runModelPath(cmd, args[0])
		if err != nil {
			return err
		}
		opts, err := loadOptions(cmd, path, 0)
		if err != nil {
			return err
		}
		opts.Threads = benchThreads
		opts.NoMmap, opts.Mlock = noMmapFlag, mlockFlag
		m, err := inference.Load(path, opts)
		if err != nil {
			return err
		}
		defer m.Close()
		if w := m.Info().Warning; w != "" {
			fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
		}
		if kvTypes != nil {
			return benchKVTypes(cmd.OutOrStdout(), m, kvTypes, benchGen)
		}
		info := m.Info()
		var params int64
		for _, t := range m.File().Tensors {
			params += t.Elements()
		}
		threads := benchThreads
		if threads == 0 {
			threads = runtime.NumCPU()
		}
		var results []benchResult
		for _, test := range []struct {
			name   string
			tokens int
			gen    bool
		}{{"pp", benchPrompt, false}, {"tg", benchGen, true}} {
			if test.tokens == 0 {
				continue
			}
			name := fmt.Sprintf("%s%d", test.name, test.tokens)
			if benchDepth > 0 {
				name += fmt.Sprintf(" @ d%d", benchDepth)
			}
			rates, prof, err := benchRun(m, test.tokens, test.gen)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if benchProfile {
				benchPrintProfile(cmd.ErrOrStderr(), name, prof)
			}
			mean, sd := benchMeanSD(rates)
			results = append(results, benchResult{
				Model: modelName, Arch: info.Arch, SizeBytes: info.FileSize, Params: params,
				Backend: info.Device, Threads: threads, Test: name, NPrompt: map[bool]int{false: test.tokens}[test.gen],
				NGen: map[bool]int{true: test.tokens}[test.gen], Depth: benchDepth,
				Samples: rates, AvgTS: mean, StdTS: sd,
			})
		}
		w := cmd.OutOrStdout()
		if benchJSON {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(results)
		}
		fmt.Fprintf(w, "| %-28s | %11s | %8s | %7s | %7s | %14s | %20s |\n", "model", "size", "params", "backend", "threads", "test", "t/s")
		fmt.Fprintf(w, "| %s | %s: | %s: | %s | %s: | %s: | %s: |\n", benchDashes(28), benchDashes(10), benchDashes(7), benchDashes(7), benchDashes(6), benchDashes(13), benchDashes(19))
		for _, r := range results {
			fmt.Fprintf(w, "| %-28s | %7.2f MiB | %8s | %7s | %7d | %14s | %20s |\n",
				r.Model, float64(r.SizeBytes)/(1<<20), gguf.FormatCount(r.Params), r.Backend, r.Threads, r.Test,
				fmt.Sprintf("%.2f ± %.2f", r.AvgTS, r.StdTS))
		}
		return nil
	},
}

type benchResult struct {
	Model     string    `json:"model"`
	Arch      string    `json:"arch"`
	SizeBytes int64     `json:"size_bytes"`
	Params    int64     `json:"params"`
	Backend   string    `json:"backend"`
	Threads   int       `json:"threads"`
	Test      string    `json:"test"`
	NPrompt   int       `json:"n_prompt"`
	NGen      int       `json:"n_gen"`
	Depth     int       `json:"n_depth"`
	Samples   []float64 `json:"samples_ts"`
	AvgTS     float64   `json:"avg_ts"`
	StdTS     float64   `json:"stddev_ts"`
}

// benchRun measures one test benchReps times after a warm-up run: a batch of
// n random tokens (pp), or n single-token steps (tg), after benchDepth
// tokens of context that are not timed. With --profile it also returns the
// per-op time of the timed runs (the depth prefill excluded).
func benchRun(m *inference.Model, n int, gen bool) ([]float64, []cpu.OpTime, error) {
	ctxLen := min(benchDepth+n+1, m.Info().ContextLength)
	s, err := m.NewSession(inference.SessionOptions{ContextLength: ctxLen, BatchSize: max(n, 1), KVType: benchKVType, Batched: benchBatched})
	if err != nil {
		return nil, nil, err
	}
	defer s.Close()
	var uses []model.AdapterUse
	for _, arg := range benchLora {
		path, scale, err := modelfile.SplitScale(arg)
		if err != nil {
			return nil, nil, fmt.Errorf("--lora %s: %w", arg, err)
		}
		a, err := m.LoadAdapter(path)
		if err != nil {
			return nil, nil, err
		}
		defer a.Close()
		uses = append(uses, a.Use(float32(scale)))
	}
	s.SetAdapters(uses...)
	if benchDepth+n > s.ContextLength() {
		return nil, nil, fmt.Errorf("depth %d + %d tokens do not fit the context of %d", benchDepth, n, s.ContextLength())
	}
	randomTokens := benchTokens(m.Info().VocabSize)
	ctx := context.Background()
	var rates []float64
	var prof []cpu.OpTime
	for rep := -1; rep < benchReps; rep++ { // rep -1 warms up
		s.Reset()
		if benchDepth > 0 {
			if err := s.Feed(ctx, randomTokens(benchDepth)); err != nil {
				return nil, nil, err
			}
		}
		if benchProfile && rep >= 0 {
			cpu.SetProfiling(true)
		}
		start := time.Now()
		if gen {
			for _, id := range randomTokens(n) {
				if err := s.Feed(ctx, []int32{id}); err != nil {
					return nil, nil, err
				}
			}
		} else if err := s.Feed(ctx, randomTokens(n)); err != nil {
			return nil, nil, err
		}
		if rep >= 0 {
			rates = append(rates, float64(n)/time.Since(start).Seconds())
		}
		if benchProfile && rep >= 0 {
			prof = benchMergeProfile(prof, cpu.Profile())
			cpu.SetProfiling(false)
		}
	}
	return rates, prof, nil
}

// benchTokens returns a source of k random tokens of a vocabulary, the
// same in every run.
func benchTokens(vocab int) func(k int) []int32 {
	rng := rand.New(rand.NewPCG(1, 2))
	return func(k int) []int32 {
		ids := make([]int32, k)
		for i := range ids {
			ids[i] = int32(rng.IntN(vocab))
		}
		return ids
	}
}

// benchMergeProfile adds the op times of one run to those of earlier runs.
func benchMergeProfile(total, run []cpu.OpTime) []cpu.OpTime {
	for _, r := range run {
		found := false
		for i := range total {
			if total[i].Op == r.Op && total[i].DType == r.DType {
				total[i].Calls += r.Calls
				total[i].Time += r.Time
				found = true
			}
		}
		if !found {
			total = append(total, r)
		}
	}
	return total
}

// benchPrintProfile prints where one test's time went, per op and operand
// type, longest first (wall time of the first thread, barrier waits included).
func benchPrintProfile(w io.Writer, test string, prof []cpu.OpTime) {
	sort.Slice(prof, func(i, j int) bool { return prof[i].Time > prof[j].Time })
	var total time.Duration
	for _, p := range prof {
		total += p.Time
	}
	fmt.Fprintf(w, "profile %s (%d runs, %v in graphs):\n", test, benchReps, total.Round(time.Millisecond))
	for _, p := range prof {
		fmt.Fprintf(w, "  %-10v %-7v %8d calls %10v %5.1f%%\n", p.Op, p.DType, p.Calls, p.Time.Round(time.Microsecond),
			100*float64(p.Time)/float64(max(total, 1)))
	}
}

func benchMeanSD(xs []float64) (mean, sd float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, 0
	}
	for _, x := range xs {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(xs)-1))
}

func benchDashes(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '-'
	}
	return string(b)
}

func init() {
	benchCmd.Flags().IntVarP(&benchPrompt, "n-prompt", "p", 512, "prompt tokens (pp test; 0 skips it)")
	benchCmd.Flags().IntVarP(&benchGen, "n-gen", "n", 128, "generated tokens (tg test; 0 skips it)")
	benchCmd.Flags().IntVarP(&benchThreads, "threads", "t", 0, "CPU threads (0 = all cores)")
	benchCmd.Flags().IntVarP(&benchReps, "repetitions", "r", 5, "repetitions of each test")
	benchCmd.Flags().IntVarP(&benchDepth, "n-depth", "d", 0, "tokens already in the context before each test")
	benchCmd.Flags().BoolVar(&benchJSON, "json", false, "print JSON")
	benchCmd.Flags().StringVar(&benchKVType, "kv-type", "", "KV cache type: f32, f16, q8_0 or q4_0 (default: the engine's, f32); a list (f16,q8_0,q4_0) compares their decode speed after -d tokens, taking turns")
	benchCmd.Flags().StringArrayVar(&benchLora, "lora", nil, "LoRA adapter FILE[:SCALE] applied in every test (repeatable)")
	benchCmd.Flags().BoolVar(&benchProfile, "profile", false, "print the time per op and weight type of each test (CPU backend)")
	benchCmd.Flags().BoolVar(&benchBatched, "batched", false, "run through the model's batched step loop (as ir serve with --parallel above 1 does), one sequence alone")
	rootCmd.AddCommand(benchCmd)
}
