package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"inferenceruntime/backend/config"
	"inferenceruntime/backend/library"
	"inferenceruntime/backend/service"
	"inferenceruntime/inference/chattmpl"
	"inferenceruntime/inference/model/synth"
	"inferenceruntime/internal/testshared"
)

// runExec runs `ir --home home args...` in-process with stdin as its input
// and returns stdout and stderr. The flags of run, bench and logits go back
// to their defaults afterwards.
func runExec(t *testing.T, home, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	rootCmd.SetIn(strings.NewReader(stdin))
	rootCmd.SetOut(&out)
	rootCmd.SetErr(&errOut)
	rootCmd.SetArgs(append([]string{"--home", home}, args...))
	defer func() {
		rootCmd.SetIn(nil)
		rootCmd.SetArgs(nil)
		rootCmd.SetOut(nil)
		rootCmd.SetErr(nil)
		rootCmd.SetContext(context.Background())
		for _, c := range []*cobra.Command{runCmd, benchCmd, logitsCmd} {
			c.Flags().VisitAll(func(f *pflag.Flag) {
				if s, ok := f.Value.(pflag.SliceValue); ok {
					s.Replace(nil)
				} else {
					f.Value.Set(f.DefValue)
				}
				f.Changed = false
			})
		}
	}()
	err := rootCmd.Execute()
	return out.String(), errOut.String(), err
}

// runSynth writes a tiny synthetic Llama model (weights from seed) to
// path, after edit changes its plan.
func runSynth(t *testing.T, path string, seed uint64, edit func(p *synth.Plan)) string {
	t.Helper()
	shape, _ := synth.ShapeByName("tiny")
	p, err := synth.NewPlan(shape, "F32")
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(p)
	}
	if err := p.WriteFile(path, seed); err != nil {
		t.Fatal(err)
	}
	return path
}

// runService runs fn on the service of home.
func runService(t *testing.T, home string, fn func(ctx context.Context, svc *service.Service) error) {
	t.Helper()
	ctx := context.Background()
	svc, err := service.Open(ctx, service.Options{Home: home})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if err := fn(ctx, svc); err != nil {
		t.Fatal(err)
	}
}

// runInstall imports file into the library of home under name, adds the
// aliases, and returns the model.
func runInstall(t *testing.T, home, file, name string, aliases ...string) (m *library.Model) {
	t.Helper()
	runService(t, home, func(ctx context.Context, svc *service.Service) error {
		res, err := svc.ImportModel(ctx, file, library.ImportOptions{Name: name})
		m = res.Model
		for _, a := range aliases {
			if err == nil {
				_, err = svc.CopyModel(ctx, name, a)
			}
		}
		return err
	})
	return m
}

// runModel reads a model's library record again.
func runModel(t *testing.T, home, id string) (m *library.Model) {
	t.Helper()
	runService(t, home, func(ctx context.Context, svc *service.Service) (err error) {
		m, err = svc.Library.Get(ctx, id)
		return err
	})
	return m
}

// runReply is `ir run MODEL PROMPT args...` (a raw prompt): the reply
// without the line end the command adds.
func runReply(t *testing.T, home, model, prompt string, args ...string) string {
	t.Helper()
	out, errOut, err := runExec(t, home, "", append([]string{"run", model, prompt}, args...)...)
	if err != nil {
		t.Fatalf("ir run %s %q: %v\n%s", model, prompt, err, errOut)
	}
	reply, ok := strings.CutSuffix(out, "\n")
	if !ok {
		t.Fatalf("ir run output does not end with a line end: %q", out)
	}
	return reply
}

var runGreedy = []string{"--temp", "0", "-n", "12", "-t", "1"}

// MODEL may be a file or any name the library knows the model by; bench
// and logits find it too, and only run marks it used.
func TestRunModelNames(t *testing.T) {
	home := t.TempDir()
	file := runSynth(t, filepath.Join(t.TempDir(), "tiny.gguf"), 3, nil)
	m := runInstall(t, home, file, "tiny-test", "fav")

	want := runReply(t, home, file, "Hello", runGreedy...)
	if want == "" {
		t.Fatal("the reference reply is empty: the test model says nothing to compare")
	}

	out, errOut, err := runExec(t, home, "", "bench", "fav", "-p", "4", "-n", "2", "-r", "1", "-t", "1", "--json")
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, errOut)
	}
	var results []benchResult
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatalf("bench --json: %v\n%s", err, out)
	}
	if len(results) != 2 || results[0].Model != "tiny-test" || results[0].Test != "pp4" || results[1].Test != "tg2" {
		t.Errorf("bench results %+v, want pp4 and tg2 of tiny-test", results)
	}

	dir := t.TempDir()
	byName, byFile := filepath.Join(dir, "name.bin"), filepath.Join(dir, "file.bin")
	for _, c := range [][2]string{{m.ID[:8], byName}, {file, byFile}} {
		if _, errOut, err := runExec(t, home, "", "logits", c[0], "--ids", "1,5,9", "--out", c[1], "-t", "1"); err != nil {
			t.Fatalf("logits %s: %v\n%s", c[0], err, errOut)
		}
	}
	if a, b := runRead(t, byName), runRead(t, byFile); int64(len(a)) != 3*4*m.Meta.VocabSize || !bytes.Equal(a, b) {
		t.Errorf("logits by id prefix (%d bytes) differ from logits by file (%d bytes)", len(a), len(b))
	}
	if got := runModel(t, home, m.ID).LastUsedAt; !got.IsZero() {
		t.Errorf("bench and logits marked the model used at %v", got)
	}

	for _, ref := range []string{"tiny-test", "fav", "TINY-TEST", "tiny-test:latest", m.ID[:8], m.ID} {
		if got := runReply(t, home, ref, "Hello", runGreedy...); got != want {
			t.Errorf("ir run %s: %q, want %q (the file's reply)", ref, got, want)
		}
	}
	if runModel(t, home, m.ID).LastUsedAt.IsZero() {
		t.Error("ir run did not mark the model used")
	}

	for _, cmd := range [][]string{
		{"run", "no-such-model", "Hi"},
		{"bench", "no-such-model"},
		{"logits", "no-such-model", "--ids", "1", "--out", filepath.Join(dir, "x.bin")},
	} {
		_, _, err := runExec(t, home, "", cmd...)
		if err == nil || strings.Contains(err.Error(), "\n") ||
			!strings.Contains(err.Error(), `"no-such-model"`) || !strings.Contains(err.Error(), `"ir list"`) {
			t.Errorf("ir %s: error %q, want one line naming the model and ir list", cmd[0], err)
		}
	}
}

func runRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A file whose path is also the name of an installed model is the file.
func TestRunFileWinsOverName(t *testing.T) {
	home, dir := t.TempDir(), t.TempDir()
	installed := runInstall(t, home, runSynth(t, filepath.Join(t.TempDir(), "a.gguf"), 1, nil), "clash")
	runSynth(t, filepath.Join(dir, "clash"), 2, nil)
	t.Chdir(dir)

	logits := func(model string) []byte {
		out := filepath.Join(t.TempDir(), "logits.bin")
		if _, errOut, err := runExec(t, home, "", "logits", model, "--ids", "1,7", "--out", out, "-t", "1"); err != nil {
			t.Fatalf("logits %s: %v\n%s", model, err, errOut)
		}
		return runRead(t, out)
	}
	got, file, lib := logits("clash"), logits(filepath.Join(dir, "clash")), logits(installed.ID)
	// An empty --prompt is a prompt (BOS alone), not a missing flag.
	empty := filepath.Join(t.TempDir(), "empty.bin")
	if _, errOut, err := runExec(t, home, "", "logits", "clash", "--prompt", "", "--out", empty, "-t", "1"); err != nil {
		t.Errorf("logits --prompt '': %v\n%s", err, errOut)
	} else if rows := int64(len(runRead(t, empty))) / 4 / installed.Meta.VocabSize; rows != 1 {
		t.Errorf("logits --prompt '': %d rows, want 1 (BOS)", rows)
	}
	if !bytes.Equal(got, file) || bytes.Equal(got, lib) {
		t.Error(`"clash" did not mean the file ./clash`)
	}
	// ir run resolves the same way: the file is run (and the installed
	// model is not marked used).
	if got, want := runReply(t, home, "clash", "Hi", runGreedy...), runReply(t, home, filepath.Join(dir, "clash"), "Hi", runGreedy...); got != want {
		t.Errorf("ir run clash = %q, want the file's reply %q", got, want)
	}
	if !runModel(t, home, installed.ID).LastUsedAt.IsZero() {
		t.Error("running the file marked the installed model of that name used")
	}
}

// TestRunStory is `ir run stories260K-f32.gguf "Once upon a time" --temp 0
// -n 100`: the reply is the story llama2.c's run.c tells with the same
// weights (MANIFEST.md).
func TestRunStory(t *testing.T) {
	models := testshared.Dir(t, "models")
	raw := runRead(t, filepath.Join(models, "ref", "stories260K-llama2c-run.c-greedy.txt"))
	story, _, _ := strings.Cut(strings.TrimPrefix(string(raw), "Once upon a time"), "achieved tok/s")
	got := runReply(t, t.TempDir(), filepath.Join(models, "stories260K-f32.gguf"), "Once upon a time", "--temp", "0", "-n", "100", "-t", "1")
	if len(got) < 200 || !strings.HasPrefix(story, got) {
		t.Errorf("story:\n%q\nwant a 100-token prefix of:\n%q", got, story)
	}
}

// runTemplate is the chat template of the chat tests' model.
const runTemplate = "{{ bos_token }}{% for m in messages %}<{{ m.role }}>{{ m.content }}\n{% endfor %}" +
	"{% if add_generation_prompt %}<assistant>{% endif %}"

// runChatModel writes a tiny model with runTemplate as its chat template.
func runChatModel(t *testing.T, ctxLen int) string {
	return runSynth(t, filepath.Join(t.TempDir(), "chat.gguf"), 5, func(p *synth.Plan) {
		p.Set("tokenizer.chat_template", runTemplate)
		if ctxLen > 0 {
			p.Set("llama.context_length", uint32(ctxLen))
		}
	})
}

// The interactive chat renders the whole conversation with the model's
// chat template each turn: every reply is the raw completion of that
// rendering. /system, /clear, unknown commands and multi-line messages
// work as documented; --chat sends one message the same way.
func TestRunChat(t *testing.T) {
	home := t.TempDir()
	file := runChatModel(t, 0)
	turn := func(msgs ...chattmpl.Message) string {
		t.Helper()
		prompt, err := chattmpl.RenderChat(runTemplate, msgs, chattmpl.RenderOptions{AddGenerationPrompt: true, BOS: "<s>", EOS: "</s>"})
		if err != nil {
			t.Fatal(err)
		}
		return runReply(t, home, file, prompt, runGreedy...)
	}
	type msg = chattmpl.Message
	sys := msg{Role: "system", Content: "Be brief."}
	r1 := turn(msg{Role: "user", Content: "Hello"})
	r2 := turn(sys, msg{Role: "user", Content: "Hello"}, msg{Role: "assistant", Content: r1}, msg{Role: "user", Content: "How are you?"})
	r3 := turn(sys, msg{Role: "user", Content: "Hello\nagain"})
	if r1 == "" || r1 == r2 || r1 == r3 {
		t.Fatalf("replies %q, %q, %q do not tell the conversations apart", r1, r2, r3)
	}

	tests := []struct {
		name, input, want string
	}{
		{"conversation",
			"Hello\n/system Be brief.\nHow are you?\n/clear\n/nope\n\n  \"\"\"Hello\nagain\"\"\"\n/bye\nnot read\n",
			">>> " + r1 + "\n\n>>> Set the system message.\n>>> " + r2 + "\n\n>>> Cleared the conversation.\n" +
				">>> Unknown command /nope; /? lists the commands.\n>>> >>> ... " + r3 + "\n\n>>> "},
		{"end of input", "Hello", ">>> " + r1 + "\n\n>>> \n"},
		{"system removed", "/system Be brief.\n/system\nHello\n",
			">>> Set the system message.\n>>> Removed the system message.\n>>> " + r1 + "\n\n>>> \n"},
		{"help", "/?\n", ">>> " + runHelp + ">>> \n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, err := runExec(t, home, tc.input, append([]string{"run", file}, runGreedy...)...)
			if err != nil || out != tc.want || errOut != "" {
				t.Errorf("chat: %v\nstdout %q\nwant   %q\nstderr %q", err, out, tc.want, errOut)
			}
		})
	}

	out, _, err := runExec(t, home, "", append([]string{"run", file, "Hello\nagain", "--chat", "--system", "Be brief."}, runGreedy...)...)
	if err != nil || out != r3+"\n" {
		t.Errorf("--chat: %v, %q; want %q", err, out, r3+"\n")
	}
}

// A turn that cannot run (the conversation outgrew the context) is an
// error message, not the end of the chat; /clear starts over.
func TestRunChatContextFull(t *testing.T) {
	file := runChatModel(t, 0)
	out, errOut, err := runExec(t, t.TempDir(), "Hello\nMore\n/clear\nHello\n/bye\n", "run", file, "--ctx", "48", "--temp", "0", "-t", "1")
	if err != nil {
		t.Fatalf("chat ended with %v\n%s", err, errOut)
	}
	for _, want := range []string{"The conversation fills the context; /clear starts a new one.", "error: ", "no room in the context of 48 tokens"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Count(out, ">>> ") != 5 || !strings.Contains(out, "Cleared the conversation.") {
		t.Errorf("stdout: %q", out)
	}
	// The reply after /clear is the first one again.
	first := strings.SplitN(out, ">>> ", 3)[1]
	if !strings.Contains(strings.SplitN(out, "Cleared the conversation.\n>>> ", 2)[1], first) {
		t.Errorf("the reply after /clear differs from the first:\n%q", out)
	}
}

// --jsonl streams the pieces of the plain reply and ends with statistics.
func TestRunJSONL(t *testing.T) {
	home := t.TempDir()
	file := runSynth(t, filepath.Join(t.TempDir(), "tiny.gguf"), 3, nil)
	want := runReply(t, home, file, "Hello", runGreedy...)
	out, errOut, err := runExec(t, home, "", append([]string{"run", file, "Hello", "--jsonl"}, runGreedy...)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	var text strings.Builder
	for _, l := range lines[:len(lines)-1] {
		var piece struct{ Text string }
		if err := json.Unmarshal([]byte(l), &piece); err != nil || piece.Text == "" {
			t.Fatalf("piece line %q: %v", l, err)
		}
		text.WriteString(piece.Text)
	}
	var stats struct {
		Done            bool   `json:"done"`
		PromptTokens    int    `json:"prompt_tokens"`
		GeneratedTokens int    `json:"generated_tokens"`
		StopReason      string `json:"stop_reason"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &stats); err != nil {
		t.Fatal(err)
	}
	if text.String() != want || !stats.Done || stats.PromptTokens < 2 || stats.GeneratedTokens < 1 || stats.GeneratedTokens > 12 ||
		(stats.StopReason != "length") != (stats.GeneratedTokens < 12) {
		t.Errorf("jsonl text %q (want %q), stats %+v", text.String(), want, stats)
	}
}

// Flag combinations that make no sense are refused before anything is
// opened.
func TestRunFlagErrors(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	for _, args := range [][]string{
		{"run", "m", "--chat"},
		{"run", "m", "--jsonl"},
		{"run", "m", "prompt", "--system", "x"},
	} {
		if _, _, err := runExec(t, home, "", args...); err == nil {
			t.Errorf("ir %s: no error", strings.Join(args, " "))
		}
	}
	if _, err := os.Stat(config.DatabasePath(home)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the data directory was opened: %v", err)
	}
}

// runOutput collects a child's output as it arrives.
type runOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *runOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *runOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// waitFor polls until ok holds for the output, failing after a minute (a
// hang guard, not a timing check).
func (o *runOutput) waitFor(t *testing.T, what string, ok func(string) bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !ok(o.String()); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s; output so far:\n%q", what, o.String())
		}
	}
}

// Ctrl+C (SIGINT) in a real process stops the reply being written and the
// chat goes on; at the prompt it only prints a hint.
func TestRunInterrupt(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGINT to send on Windows")
	}
	const ctxLen = 32768 // room for a long reply
	file := runChatModel(t, ctxLen)
	cmd := exec.Command(os.Args[0], "-test.run=^TestDBOpenChild$")
	cmd.Env = append(os.Environ(), dbOpenChildEnv+"="+strings.Join([]string{
		"--home", t.TempDir(), "run", file, "--ctx", strconv.Itoa(ctxLen), "--temp", "0", "-t", "1", "--verbose"}, "\x1f"))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr runOutput
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	stdout.waitFor(t, "the prompt", func(s string) bool { return s == ">>> " })
	io.WriteString(stdin, "Hello\n")
	stdout.waitFor(t, "the reply", func(s string) bool { return len(s) > len(">>> ") })
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	stdout.waitFor(t, "the prompt after the interrupted reply", func(s string) bool { return strings.HasSuffix(s, "\n\n>>> ") })
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	stdout.waitFor(t, "the hint", func(s string) bool { return strings.HasSuffix(s, "\nUse Ctrl+D or /bye to exit.\n>>> ") })
	io.WriteString(stdin, "/bye\n")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("ir run ended with %v\nstdout %q\nstderr %s", err, stdout.String(), stderr.String())
	}
	errOut := stderr.String()
	m := regexp.MustCompile(`(?m)^eval count: +(\d+) token`).FindStringSubmatch(errOut)
	if m == nil || !strings.Contains(errOut, "done reason:          cancelled") {
		t.Fatalf("statistics of the interrupted reply missing:\n%s", errOut)
	}
	// Uninterrupted, this reply runs for about 10,000 tokens until the
	// model's end of text.
	n, _ := strconv.Atoi(m[1])
	t.Logf("the reply was interrupted after %d tokens", n)
	if n < 1 || n >= ctxLen-100 {
		t.Errorf("interrupted reply has %d tokens", n)
	}
}

// A chat with a model that has no chat template says which built-in
// format it uses, and a reply ends after runFallbackMaxTokens unless -n is
// given (stories260K never writes the format's end of turn).
func TestRunChatFallback(t *testing.T) {
	file := filepath.Join(testshared.Dir(t, "models"), "stories260K-f32.gguf")
	home := t.TempDir()
	_, errOut, err := runExec(t, home, "", "run", file, "--chat", "Hello", "--temp", "0", "-t", "1", "--verbose")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`has no chat template; chatting in the built-in "llama2" format`, "512 tokens (-n changes that)", "eval count:           512 token(s)"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	_, errOut, err = runExec(t, home, "", "run", file, "--chat", "Hello", "--temp", "0", "-t", "1", "-n", "600", "--verbose")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(errOut, "512 tokens") || !strings.Contains(errOut, "eval count:           600 token(s)") {
		t.Errorf("-n 600:\n%s", errOut)
	}
}
