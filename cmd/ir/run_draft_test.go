package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"inferenceruntime/inference/model/synth"
)

// ir run --draft gives the reply of a plain run, with a draft model file or
// prompt lookup, and --verbose counts the drafts; a draft model of another
// vocabulary is refused with a reason.
func TestRunDraft(t *testing.T) {
	home := t.TempDir()
	dir := t.TempDir()
	file := runSynth(t, filepath.Join(dir, "tiny.gguf"), 3, nil)
	draft := runSynth(t, filepath.Join(dir, "draft.gguf"), 5, nil)
	prompt := "one two one two one two"
	want := runReply(t, home, file, prompt, runGreedy...)
	for _, d := range []string{draft, file, "lookup"} {
		out, errOut, err := runExec(t, home, "", append([]string{"run", file, prompt, "--draft", d, "--verbose"}, runGreedy...)...)
		if err != nil {
			t.Fatalf("--draft %s: %v\n%s", d, err, errOut)
		}
		if got := strings.TrimSuffix(out, "\n"); got != want {
			t.Errorf("--draft %s: %q, want %q", d, got, want)
		}
		if !strings.Contains(errOut, "draft tokens:") || d != "lookup" && strings.Contains(errOut, "draft tokens:         0 drafted") {
			t.Errorf("--draft %s: --verbose says\n%s", d, errOut)
		}
	}

	shape, _ := synth.ShapeByName("tiny")
	shape.Vocab = 1024
	plan, err := synth.NewPlan(shape, "F32")
	if err != nil {
		t.Fatal(err)
	}
	wide := filepath.Join(dir, "wide.gguf")
	if err := plan.WriteFile(wide, 1); err != nil {
		t.Fatal(err)
	}
	_, errOut, err := runExec(t, home, "", append([]string{"run", file, prompt, "--draft", wide}, runGreedy...)...)
	if err == nil || !strings.Contains(err.Error(), "vocabulary") {
		t.Errorf("a draft model of another vocabulary: %v\n%s", err, errOut)
	}
}

// ir serve --draft refuses a model that is not installed before it
// listens.
func TestServeDraftNotInstalled(t *testing.T) {
	args := []string{"--home", t.TempDir(), "serve", "--port", "0", "--draft", "no-such-model"}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDBOpenChild$")
	cmd.Env = append(os.Environ(), dbOpenChildEnv+"="+strings.Join(args, "\x1f"))
	out, err := cmd.CombinedOutput()
	if err == nil || strings.Contains(string(out), "listening on") || !strings.Contains(string(out), "--draft") {
		t.Errorf("serve --draft no-such-model: %v\n%s", err, out)
	}
}
