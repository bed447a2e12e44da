package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"inferenceruntime/backend/library"
	"inferenceruntime/backend/service"
	"inferenceruntime/inference"
	"inferenceruntime/inference/chattmpl"
	"inferenceruntime/inference/sample"
)

var (
	runTemp, runTopP, runMinP, runRepeat      float32
	runTopK, runMaxTokens, runCtx, runThreads int
	runSeed                                   uint64
	runJSONL, runVerbose                      bool
	runStops                                  []string
)

var runCmd = &cobra.Command{
	Use:   "run MODEL [PROMPT]",
	Short: "Generate text from a prompt, or chat when no prompt is given",
	Long: "MODEL is a GGUF file or an installed model (name, alias, id or id prefix; see \"ir list\"); a file\n" +
		"of that path wins. Stream the model's continuation of PROMPT. Without a prompt, start an interactive chat that uses\n" +
		"the model's chat template (one message per line; an empty line or Ctrl-D ends it).",
	Args: cobra.RangeArgs(1, 2),
	RunE: func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		svc, err := listService(cmd, nil)
		if err != nil {
			return err
		}
		defer svc.Close()
		lm, err := runResolve(ctx, svc, args[0], true)
		if err != nil {
			return err
		}
		m, err := inference.Load(lm.Path, inference.Options{Threads: runThreads, ContextLength: runCtx})
		if err != nil {
			return err
		}
		defer m.Close()
		s, err := m.NewSession(inference.SessionOptions{})
		if err != nil {
			return err
		}
		defer s.Close()

		params := sample.DefaultParams()
		f := cmd.Flags()
		if f.Changed("temp") {
			params.Temperature = runTemp
		}
		if f.Changed("top-k") {
			params.TopK = runTopK
		}
		if f.Changed("top-p") {
			params.TopP = runTopP
		}
		if f.Changed("min-p") {
			params.MinP = runMinP
		}
		if f.Changed("repeat-penalty") {
			params.RepeatPenalty = runRepeat
		}
		params.Seed = rand.Uint64()
		if f.Changed("seed") {
			params.Seed = runSeed
		}
		ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
		defer stop()
		out := bufio.NewWriter(os.Stdout)
		defer out.Flush()

		if len(args) == 2 {
			req := inference.Request{Prompt: args[1], Sampling: params, MaxTokens: runMaxTokens, Stop: runStops}
			return runGenerate(ctx, s, req, out)
		}
		return runChat(ctx, m, s, params, os.Stdin, out)
	},
}

// runResolve finds the model MODEL names: an existing file of that path
// first, else an installed model by name, alias, id or id prefix. With use,
// the model is recorded as used now.
func runResolve(ctx context.Context, svc *service.Service, arg string, use bool) (*library.Model, error) {
	ref := arg
	if runIsFile(arg) {
		// An absolute path is never a model name (names start with a
		// letter or digit), so the library opens the file.
		abs, err := filepath.Abs(arg)
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", arg, err)
		}
		ref = abs
	}
	resolve := svc.ResolveModel
	if use {
		resolve = svc.UseModel
	}
	m, err := resolve(ctx, ref)
	if errors.Is(err, library.ErrNotFound) {
		return nil, fmt.Errorf(`%w (run "ir list" to see the installed models)`, err)
	}
	return m, err
}

// runModelPath is the GGUF file MODEL means, and the name to show for it,
// for commands that load the model themselves (bench, logits). A file path
// needs no data directory; a model name is looked up in the library.
func runModelPath(cmd *cobra.Command, arg string) (path, name string, err error) {
	if runIsFile(arg) {
		return arg, filepath.Base(arg), nil
	}
	svc, err := listService(cmd, nil)
	if err != nil {
		return "", "", err
	}
	defer svc.Close()
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	m, err := runResolve(ctx, svc, arg, false)
	if err != nil {
		return "", "", err
	}
	return m.Path, m.Name, nil
}

func runIsFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// runGenerate streams one reply to out (text, or JSON lines) and reports the
// statistics.
func runGenerate(ctx context.Context, s *inference.Session, req inference.Request, out *bufio.Writer) error {
	enc := json.NewEncoder(out)
	stats, err := s.Generate(ctx, req, func(t inference.Token) error {
		if runJSONL {
			if err := enc.Encode(struct {
				ID   int32  `json:"id"`
				Text string `json:"text"`
			}{t.ID, t.Text}); err != nil {
				return err
			}
		} else if _, err := out.WriteString(t.Text); err != nil {
			return err
		}
		return out.Flush()
	})
	if runJSONL {
		enc.Encode(runStatsJSON(stats))
	} else {
		out.WriteString("\n")
	}
	out.Flush()
	if runVerbose && !runJSONL {
		fmt.Fprintf(os.Stderr, "prompt: %d tokens (%d cached), %.2f tokens/s; reply: %d tokens, %.2f tokens/s; first token after %v; stop: %s\n",
			stats.PromptTokens, stats.CachedTokens, stats.PrefillRate, stats.GeneratedTokens, stats.DecodeRate,
			stats.TimeToFirst.Round(1000), stats.StopReason)
	}
	return err
}

// runStatsJSON is the final JSON line of --jsonl.
func runStatsJSON(s inference.Stats) any {
	return struct {
		Done            bool    `json:"done"`
		PromptTokens    int     `json:"prompt_tokens"`
		CachedTokens    int     `json:"cached_tokens"`
		GeneratedTokens int     `json:"generated_tokens"`
		PrefillRate     float64 `json:"prefill_tokens_per_s"`
		DecodeRate      float64 `json:"decode_tokens_per_s"`
		TimeToFirstMS   float64 `json:"time_to_first_token_ms"`
		StopReason      string  `json:"stop_reason"`
	}{true, s.PromptTokens, s.CachedTokens, s.GeneratedTokens, s.PrefillRate, s.DecodeRate,
		float64(s.TimeToFirst.Microseconds()) / 1000, s.StopReason}
}

// runChat reads user messages line by line and streams each reply.
func runChat(ctx context.Context, m *inference.Model, s *inference.Session, params sample.Params, in io.Reader, out *bufio.Writer) error {
	chat, err := runNewChat(m)
	if err != nil {
		return err
	}
	lines := bufio.NewScanner(in)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	for {
		out.WriteString(">>> ")
		out.Flush()
		if !lines.Scan() {
			out.WriteString("\n")
			return lines.Err()
		}
		msg := strings.TrimSpace(lines.Text())
		if msg == "" {
			return nil
		}
		prompt, stops, err := chat.add("user", msg)
		if err != nil {
			return err
		}
		var reply strings.Builder
		req := inference.Request{Prompt: prompt, Sampling: params, MaxTokens: runMaxTokens, Stop: append(stops, runStops...)}
		stats, err := s.Generate(ctx, req, func(t inference.Token) error {
			reply.WriteString(t.Text)
			out.WriteString(t.Text)
			return out.Flush()
		})
		out.WriteString("\n")
		if err != nil {
			return err
		}
		if stats.StopReason == "length" && s.Len() >= s.ContextLength() {
			return fmt.Errorf("the conversation filled the context of %d tokens", s.ContextLength())
		}
		chat.messages = append(chat.messages, chattmpl.Message{Role: "assistant", Content: reply.String()})
	}
}

func init() {
	f := runCmd.Flags()
	f.Float32Var(&runTemp, "temp", 0.8, "temperature (0 = greedy)")
	f.IntVar(&runTopK, "top-k", 40, "top-k sampling (0 = off)")
	f.Float32Var(&runTopP, "top-p", 0.95, "top-p (nucleus) sampling (1 = off)")
	f.Float32Var(&runMinP, "min-p", 0.05, "min-p sampling (0 = off)")
	f.Float32Var(&runRepeat, "repeat-penalty", 1.0, "repetition penalty (1 = off)")
	f.Uint64Var(&runSeed, "seed", 0, "random seed (default: random)")
	f.IntVarP(&runMaxTokens, "n-predict", "n", 0, "maximum tokens to generate (0 = until the context is full)")
	f.IntVar(&runCtx, "ctx", 0, "context length (0 = the model's)")
	f.IntVarP(&runThreads, "threads", "t", 0, "CPU threads (0 = all cores)")
	f.StringArrayVar(&runStops, "stop", nil, "stop string (repeatable)")
	f.BoolVar(&runJSONL, "jsonl", false, "print one JSON object per token and a final statistics object")
	f.BoolVar(&runVerbose, "verbose", false, "print timing statistics to stderr")
	rootCmd.AddCommand(runCmd)
}

// runChatState renders the whole conversation for each turn with the
// model's chat template; the session reuses the cached prefix, so only the
// new part is evaluated.
type runChatState struct {
	tmpl     *chattmpl.Template
	opts     chattmpl.RenderOptions
	stops    []string
	messages []chattmpl.Message
}

// add appends a message and returns the prompt for the model's reply and
// the template's stop strings.
func (c *runChatState) add(role, content string) (string, []string, error) {
	c.messages = append(c.messages, chattmpl.Message{Role: role, Content: content})
	prompt, err := c.tmpl.RenderChat(c.messages, c.opts)
	return prompt, c.stops, err
}

// runNewChat picks the chat template of m: the GGUF's, else a built-in one
// that suits its architecture and vocabulary.
func runNewChat(m *inference.Model) (*runChatState, error) {
	tok := m.Tokenizer()
	has := func(s string) bool { _, ok := tok.TokenID(s); return ok }
	info := m.Info()
	src, name := chattmpl.ForModel(info.Arch, info.ChatTemplate, "", has)
	tmpl, err := chattmpl.Parse(src)
	if err != nil {
		return nil, fmt.Errorf("chat template (%s): %w", name, err)
	}
	opts := chattmpl.RenderOptions{AddGenerationPrompt: true}
	if tok.BOS() >= 0 {
		opts.BOS = tok.Piece(tok.BOS())
	}
	if tok.EOS() >= 0 {
		opts.EOS = tok.Piece(tok.EOS())
	}
	return &runChatState{tmpl: tmpl, opts: opts, stops: chattmpl.StopStrings(src, has)}, nil
}
