package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"inferenceruntime/backend/config"
	"inferenceruntime/backend/library"
	"inferenceruntime/backend/service"
	"inferenceruntime/inference/chattmpl"
	"inferenceruntime/inference/sample"
)

var (
	runTemp, runTopP, runMinP, runRepeat      float32
	runTopK, runMaxTokens, runCtx, runThreads int
	runSeed                                   uint64
	runJSONL, runVerbose, runChatPrompt       bool
	runStops                                  []string
	runSystem                                 string
	runLoras                                  []string
)

var runCmd = &cobra.Command{
	Use:   "run MODEL [PROMPT]",
	Short: "Chat with a model, or stream its continuation of a prompt",
	Long: `MODEL is a GGUF file or an installed model (name, alias, id or id prefix; see "ir list").
A file of that path wins over a model of that name.

With PROMPT, the model continues the text exactly as given (no chat template) and the reply is
streamed. With --chat, PROMPT is sent as a user message through the model's chat template instead.

Without PROMPT, an interactive chat starts; each message is rendered with the model's chat template
together with the conversation so far. Commands:
  /bye           leave (Ctrl+D too)
  /clear         forget the conversation (the system message stays)
  /system TEXT   set the system message (/system alone removes it)
  /?             show these commands
A message that starts with """ continues over several lines until a line ends with """.
Ctrl+C stops the reply being written, not the program.`,
	Args: cobra.RangeArgs(1, 2),
	RunE: runRun,
}

func init() {
	f := runCmd.Flags()
	f.Float32Var(&runTemp, "temp", 0.8, "temperature (0 = greedy)")
	f.IntVar(&runTopK, "top-k", 40, "top-k sampling (0 = off)")
	f.Float32Var(&runTopP, "top-p", 0.95, "top-p (nucleus) sampling (1 = off)")
	f.Float32Var(&runMinP, "min-p", 0.05, "min-p sampling (0 = off)")
	f.Float32Var(&runRepeat, "repeat-penalty", 1.0, "repetition penalty (1 = off)")
	f.Uint64Var(&runSeed, "seed", 0, "random seed (default: a new random seed for each reply)")
	f.IntVarP(&runMaxTokens, "n-predict", "n", 0, "maximum tokens per reply (0 = until the context is full; a chat in a built-in format the model lacks: 512)")
	f.IntVar(&runCtx, "ctx", 0, "context length (0 = the settings' default, never more than the model's)")
	f.IntVarP(&runThreads, "threads", "t", 0, "CPU threads (0 = the settings' choice, else all cores)")
	f.StringArrayVar(&runStops, "stop", nil, "stop string (repeatable)")
	f.BoolVar(&runChatPrompt, "chat", false, "send PROMPT as a user message through the chat template")
	f.StringVar(&runSystem, "system", "", "system message (with --chat, or for the interactive chat)")
	f.BoolVar(&runJSONL, "jsonl", false, "with PROMPT: print one JSON object per piece of text and a final statistics object")
	f.BoolVar(&runVerbose, "verbose", false, "print timing statistics to stderr after each reply")
	f.StringArrayVar(&runLoras, "lora", nil, "apply the LoRA adapter FILE[:SCALE] (repeatable; scale 1 by default)")
	rootCmd.AddCommand(runCmd)
}

func runRun(cmd *cobra.Command, args []string) error {
	if _, err := chooseGPULayers(); err != nil {
		return err
	}
	if _, err := chooseKVType(config.Settings{}); err != nil { // the settings' is checked when they load
		return err
	}
	oneShot := len(args) == 2
	switch {
	case !oneShot && runChatPrompt:
		return errors.New("--chat needs a PROMPT")
	case !oneShot && runJSONL:
		return errors.New("--jsonl needs a PROMPT")
	case oneShot && !runChatPrompt && runSystem != "":
		return errors.New("--system needs --chat (a raw PROMPT goes to the model as it is)")
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	svc, err := listService(cmd, nil)
	if err != nil {
		return err
	}
	defer svc.Close()
	m, err := runResolve(ctx, svc, args[0], true)
	if err != nil {
		return err
	}
	settings, err := config.LoadSettings(svc.Dir)
	if err != nil {
		return err
	}
	ref, err := svc.ModelRef(ctx, m)
	if err != nil {
		return err
	}
	if err := runDraftResolve(ctx, svc); err != nil {
		return err
	}
	runner := runRunnerFor(ref, settings)
	defer runner.Close()
	if err := loraSet(runner, runLoras); err != nil {
		return err
	}
	var images service.GenerateRequest
	if err := runVision(runner, ref, &images, oneShot); err != nil {
		return err
	}

	// Ctrl+C cancels the reply being generated; the chat goes on.
	interrupts := make(chan os.Signal, 1)
	signal.Notify(interrupts, os.Interrupt)
	defer signal.Stop(interrupts)

	_, loadTime, err := runner.Preload(ctx, m.Name, nil)
	if err != nil {
		return err
	}
	if err := runner.LoadLoraAdapters(ctx, m.Name); err != nil {
		return err
	}
	req := service.GenerateRequest{Model: m.Name, Options: runGenerateOptions(cmd.Flags()), Images: images.Images}
	req.Options.Draft = runDraftOption()
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if runVerbose {
		fmt.Fprintf(errOut, "load duration:        %v\n", loadTime.Round(time.Millisecond))
	}
	if !oneShot || runChatPrompt {
		if err := runChatFallback(ctx, runner, m.Name, &req, cmd.Flags().Changed("n-predict"), errOut); err != nil {
			return err
		}
	}
	if !oneShot {
		repl := &runREPL{runner: runner, req: req, system: runSystem, out: out, errOut: errOut,
			seedGiven: cmd.Flags().Changed("seed")}
		return repl.loop(ctx, cmd.InOrStdin(), interrupts)
	}
	if runChatPrompt {
		req.Messages = []chattmpl.Message{{Role: "user", Content: args[1]}}
		req.System = runSystem
	} else {
		req.Prompt, req.Raw = args[1], true
	}
	return runOnce(ctx, runner, req, interrupts, out, errOut)
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

// runNewRunner returns the shared generation use-case set up for one
// model and one user: one slot, no queue, the model kept until the end.
// Settings give the defaults that flags do not override.
func runNewRunner(m *library.Model, s config.Settings) *service.Runner {
	return runRunnerFor(service.RefFromLibrary(m), s)
}

// runRunnerFor is runNewRunner for a model already described (a custom
// model's settings included).
func runRunnerFor(ref service.ModelRef, s config.Settings) *service.Runner {
	opts := service.RunnerOptions{
		Threads: s.Threads, ContextLength: s.ContextLength,
		Parallel: 1, Queue: -1, KeepAlive: service.KeepForever, MemoryLimit: -1, MaxLoaded: 1,
	}
	opts.Backend = chooseBackend(s.Backend)
	opts.GPULayers, _ = chooseGPULayers() // checked by runRun
	if runThreads > 0 {
		opts.Threads = runThreads
	}
	if runCtx > 0 {
		opts.ContextLength = runCtx
	}
	opts.KVType, _ = chooseKVType(s) // checked by runRun
	opts.NoMmap, opts.Mlock = noMmapFlag, mlockFlag
	if runDraftRef != nil {
		opts.MaxLoaded = 2
	}
	// The model is resolved (and marked used) once, above; every request
	// of this run means it (or the draft model).
	return service.NewRunner(runResolver(ref), opts)
}

// runGenerateOptions turns the sampling flags into options; flags left
// alone keep the sampler's defaults.
func runGenerateOptions(f *pflag.FlagSet) service.GenerateOptions {
	p := sample.DefaultParams()
	if f.Changed("temp") {
		p.Temperature = runTemp
	}
	if f.Changed("top-k") {
		p.TopK = runTopK
	}
	if f.Changed("top-p") {
		p.TopP = runTopP
	}
	if f.Changed("min-p") {
		p.MinP = runMinP
	}
	if f.Changed("repeat-penalty") {
		p.RepeatPenalty = runRepeat
	}
	p.Seed = service.RandomSeed()
	if f.Changed("seed") {
		p.Seed = runSeed
	}
	given := map[string]bool{}
	for flag, name := range map[string]string{"temp": "temperature", "top-k": "top_k", "top-p": "top_p", "min-p": "min_p",
		"repeat-penalty": "repeat_penalty", "seed": "seed", "n-predict": "num_predict", "ctx": "num_ctx", "stop": "stop"} {
		given[name] = f.Changed(flag)
	}
	return service.GenerateOptions{Sampling: p, MaxTokens: runMaxTokens, Stop: runStops, Given: given}
}

// runFallbackMaxTokens caps a chat reply when the model has no chat
// template of its own: it was not trained on the built-in format it is
// given, so it may never write that format's end-of-turn marker.
const runFallbackMaxTokens = 512

// runChatFallback says which built-in template a chat uses when the model
// file has none, and caps such a chat's replies unless -n was given.
func runChatFallback(ctx context.Context, runner *service.Runner, name string, req *service.GenerateRequest, maxGiven bool, errOut io.Writer) error {
	info, err := runner.Describe(ctx, name)
	if err != nil {
		return err
	}
	if info.FromGGUF {
		return nil
	}
	ends := []string{"an end-of-generation token"}
	for _, s := range info.Stops {
		ends = append(ends, strconv.Quote(s))
	}
	if !maxGiven {
		req.Options.MaxTokens = runFallbackMaxTokens
		ends = append(ends, fmt.Sprintf("%d tokens (-n changes that)", runFallbackMaxTokens))
	}
	fmt.Fprintf(errOut, "%s has no chat template; chatting in the built-in %q format; replies end at %s\n",
		name, info.TemplateName, strings.Join(ends, ", or at "))
	return nil
}

// runOnce streams the reply to one request; Ctrl+C stops it and ends the
// program.
func runOnce(ctx context.Context, runner *service.Runner, req service.GenerateRequest, interrupts <-chan os.Signal, out, errOut io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-interrupts:
			cancel()
		case <-ctx.Done():
		}
	}()
	enc := json.NewEncoder(out)
	res, err := runner.Generate(ctx, req, func(text string) error {
		if runJSONL {
			return enc.Encode(struct {
				Text string `json:"text"`
			}{text})
		}
		_, err := io.WriteString(out, text)
		return err
	})
	if runJSONL {
		if res.Prompt != "" { // it ran, at least in part
			if err := enc.Encode(runStatsJSON(res)); err != nil {
				return err
			}
		}
	} else if res.Prompt != "" { // end the reply's line
		if _, werr := io.WriteString(out, "\n"); werr != nil && err == nil {
			err = werr
		}
	}
	if runVerbose && res.Prompt != "" {
		runPrintStats(errOut, res)
	}
	if errors.Is(err, context.Canceled) {
		return errors.New("interrupted")
	}
	return err
}

// runStatsJSON is the final JSON line of --jsonl.
func runStatsJSON(r service.GenerateResult) any {
	s := r.Stats
	return struct {
		Done            bool    `json:"done"`
		PromptTokens    int     `json:"prompt_tokens"`
		CachedTokens    int     `json:"cached_tokens"`
		GeneratedTokens int     `json:"generated_tokens"`
		PrefillRate     float64 `json:"prefill_tokens_per_s"`
		DecodeRate      float64 `json:"decode_tokens_per_s"`
		TimeToFirstMS   float64 `json:"time_to_first_token_ms"`
		TotalMS         float64 `json:"total_ms"`
		StopReason      string  `json:"stop_reason"`
		DraftedTokens   int     `json:"drafted_tokens,omitempty"`
		AcceptedTokens  int     `json:"accepted_tokens,omitempty"`
	}{true, s.PromptTokens, s.CachedTokens, s.GeneratedTokens, s.PrefillRate, s.DecodeRate,
		float64(s.TimeToFirst.Microseconds()) / 1000, float64(r.TotalDuration.Microseconds()) / 1000, r.DoneReason,
		s.DraftedTokens, s.AcceptedTokens}
}

// runPrintStats writes a reply's statistics the way Ollama's --verbose
// does.
func runPrintStats(w io.Writer, r service.GenerateResult) {
	s := r.Stats
	fmt.Fprintf(w, "total duration:       %v\n", r.TotalDuration.Round(time.Microsecond))
	fmt.Fprintf(w, "prompt eval count:    %d token(s), %d cached\n", s.PromptTokens, s.CachedTokens)
	fmt.Fprintf(w, "prompt eval duration: %v\n", s.PrefillDuration.Round(time.Microsecond))
	fmt.Fprintf(w, "prompt eval rate:     %.2f tokens/s\n", s.PrefillRate)
	fmt.Fprintf(w, "eval count:           %d token(s)\n", s.GeneratedTokens)
	fmt.Fprintf(w, "eval duration:        %v\n", s.DecodeDuration.Round(time.Microsecond))
	fmt.Fprintf(w, "eval rate:            %.2f tokens/s\n", s.DecodeRate)
	printDraftStats(w, r)
	fmt.Fprintf(w, "done reason:          %s\n", r.DoneReason)
}

// runHelp is what /? prints.
const runHelp = `Commands:
  /bye           leave (Ctrl+D too)
  /clear         forget the conversation (the system message stays)
  /system TEXT   set the system message (/system alone removes it)
  /?             show these commands
Start a message with """ to write several lines; end it with """.
Ctrl+C stops a reply.
`

// runREPL is the interactive chat: the conversation so far, rendered
// whole with the chat template for each turn (the runner's session reuses
// the cached prefix, so only the new part is evaluated).
type runREPL struct {
	runner    *service.Runner
	req       service.GenerateRequest // model and options
	system    string
	messages  []chattmpl.Message
	seedGiven bool
	out       io.Writer
	errOut    io.Writer

	mu     sync.Mutex // guards cancel and writes to out
	cancel context.CancelFunc
}

// write prints s to the chat's output.
func (r *runREPL) write(s string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, err := io.WriteString(r.out, s)
	return err
}

// watch turns Ctrl+C into the cancellation of the reply in progress, or a
// hint when there is none, until done is closed.
func (r *runREPL) watch(interrupts <-chan os.Signal, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case <-interrupts:
			r.mu.Lock()
			if r.cancel != nil {
				r.cancel()
			} else {
				io.WriteString(r.out, "\nUse Ctrl+D or /bye to exit.\n>>> ")
			}
			r.mu.Unlock()
		}
	}
}

// loop reads messages and commands from in until /bye or the end of the
// input.
func (r *runREPL) loop(ctx context.Context, in io.Reader, interrupts <-chan os.Signal) error {
	done := make(chan struct{})
	defer close(done)
	go r.watch(interrupts, done)

	lines := bufio.NewScanner(in)
	lines.Buffer(make([]byte, 64<<10), 4<<20)
	for {
		msg, ok, err := r.read(lines)
		if err != nil || !ok {
			r.write("\n")
			return err
		}
		trimmed := strings.TrimSpace(msg)
		if trimmed == "" {
			continue
		}
		if strings.HasPrefix(trimmed, "/") {
			bye, err := r.command(trimmed)
			if bye || err != nil {
				return err
			}
			continue
		}
		if err := r.turn(ctx, msg); err != nil {
			return err
		}
	}
}

// read prompts for and reads one message; a message that starts with """
// runs until a line that ends with """. ok is false at the end of the
// input.
func (r *runREPL) read(lines *bufio.Scanner) (msg string, ok bool, err error) {
	if err := r.write(">>> "); err != nil {
		return "", false, err
	}
	if !lines.Scan() {
		return "", false, lines.Err()
	}
	rest, multi := strings.CutPrefix(strings.TrimLeft(lines.Text(), " \t"), `"""`)
	if !multi {
		return lines.Text(), true, nil
	}
	var b strings.Builder
	for {
		if body, end := strings.CutSuffix(rest, `"""`); end {
			b.WriteString(body)
			return b.String(), true, nil
		}
		b.WriteString(rest)
		b.WriteString("\n")
		if err := r.write("... "); err != nil {
			return "", false, err
		}
		if !lines.Scan() {
			return "", false, lines.Err()
		}
		rest = lines.Text()
	}
}

// command runs a /command; bye reports /bye.
func (r *runREPL) command(line string) (bye bool, err error) {
	name, arg, _ := strings.Cut(line, " ")
	switch name {
	case "/bye", "/exit":
		return true, nil
	case "/clear":
		r.messages = nil
		return false, r.write("Cleared the conversation.\n")
	case "/system":
		r.system = strings.TrimSpace(arg)
		if r.system == "" {
			return false, r.write("Removed the system message.\n")
		}
		return false, r.write("Set the system message.\n")
	case "/?", "/help":
		return false, r.write(runHelp)
	}
	return false, r.write(fmt.Sprintf("Unknown command %s; /? lists the commands.\n", name))
}

// turn sends one user message and streams the reply. A reply stopped by
// Ctrl+C stays in the conversation as far as it was written (it is what
// the user saw, and roles keep alternating); a request that fails leaves
// the conversation as it was.
func (r *runREPL) turn(ctx context.Context, msg string) error {
	req := r.req
	if !r.seedGiven {
		req.Options.Sampling.Seed = service.RandomSeed()
	}
	req.System = r.system
	req.Messages = append(append([]chattmpl.Message(nil), r.messages...), chattmpl.Message{Role: "user", Content: msg})

	ctx, cancel := context.WithCancel(ctx)
	r.mu.Lock()
	r.cancel = cancel
	r.mu.Unlock()
	res, err := r.runner.Generate(ctx, req, r.write)
	r.mu.Lock()
	r.cancel = nil
	r.mu.Unlock()
	interrupted := errors.Is(err, context.Canceled) && ctx.Err() != nil
	cancel()

	if err != nil && !interrupted {
		if res.Prompt != "" {
			r.write("\n")
		}
		// A refused or failed turn is reported and the chat goes on (the
		// user can /clear a conversation that outgrew the context).
		fmt.Fprintf(r.errOut, "error: %v\n", err)
		return r.write("\n")
	}
	r.messages = append(req.Messages, chattmpl.Message{Role: "assistant", Content: res.Text})
	if err := r.write("\n\n"); err != nil {
		return err
	}
	if runVerbose {
		runPrintStats(r.errOut, res)
	}
	if res.DoneReason == "length" && (req.Options.MaxTokens == 0 || res.Stats.GeneratedTokens < req.Options.MaxTokens) {
		fmt.Fprintln(r.errOut, "The conversation fills the context; /clear starts a new one.")
	}
	return nil
}
