package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/model/synth"
	"inferenceruntime/inference/quant"
)

// createLoRA writes a random adapter for the model file base to path.
func createLoRA(t *testing.T, base, path string) {
	t.Helper()
	f, err := gguf.Open(base)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := synth.LoRA(f, synth.LoRAOptions{Rank: 8, Type: quant.F32, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
}

// createExec is runExec for create and show, whose flags it resets.
func createExec(t *testing.T, home string, args ...string) (string, error) {
	t.Helper()
	defer func() {
		createFile = ""
		showModelfile, showParameters, showSystem, showTemplate, showLicense = false, false, false, false, false
	}()
	out, errOut, err := runExec(t, home, "", args...)
	if err != nil {
		return errOut, err
	}
	return out, nil
}

// A Modelfile with every instruction, relative paths included, makes a
// model that `ir show --modelfile` prints back, and that printout makes the
// same model again.
func TestCreateRoundTrip(t *testing.T) {
	home, dir := t.TempDir(), t.TempDir()
	base := runSynth(t, filepath.Join(dir, "base.gguf"), 1, nil)
	createLoRA(t, base, filepath.Join(dir, "tone.gguf"))
	src := `# every instruction
FROM ./base.gguf
ADAPTER ./tone.gguf:0.75
PARAMETER temperature 0.2
PARAMETER top_k 30
PARAMETER top_p 0.9
PARAMETER min_p 0.01
PARAMETER repeat_penalty 1.1
PARAMETER repeat_last_n 32
PARAMETER presence_penalty 0.5
PARAMETER frequency_penalty 0.25
PARAMETER seed 42
PARAMETER num_predict 6
PARAMETER num_ctx 256
PARAMETER stop "<|end|>"
SYSTEM """You are a pirate.
Arr."""
TEMPLATE """{% for m in messages %}{{ m.role }}: {{ m.content }}
{% endfor %}assistant:"""
MESSAGE user Who are you?
MESSAGE assistant A pirate.
LICENSE """Do what you like."""
`
	mf := filepath.Join(dir, "Modelfile")
	if err := os.WriteFile(mf, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := createExec(t, home, "create", "pirate", "-f", mf); err != nil || !strings.Contains(out, "created pirate") {
		t.Fatalf("ir create: %v\n%s", err, out)
	}
	printed, err := createExec(t, home, "show", "--modelfile", "pirate")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"FROM " + base + "\n", ":0.75\n", "PARAMETER top_k 30\n", "PARAMETER seed 42\n",
		"PARAMETER num_ctx 256\n", `PARAMETER stop "<|end|>"`, "SYSTEM \"\"\"You are a pirate.\nArr.\"\"\"",
		"MESSAGE user \"\"\"Who are you?\"\"\"", "LICENSE \"\"\"Do what you like.\"\"\"", "{% endfor %}assistant:"} {
		if !strings.Contains(printed, want) {
			t.Errorf("ir show --modelfile lacks %q:\n%s", want, printed)
		}
	}
	again := filepath.Join(t.TempDir(), "Modelfile")
	if err := os.WriteFile(again, []byte(printed), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := createExec(t, home, "create", "pirate2", "-f", again); err != nil {
		t.Fatalf("ir create from the printout: %v\n%s", err, out)
	}
	if printed2, _ := createExec(t, home, "show", "--modelfile", "pirate2"); printed2 != printed {
		t.Errorf("round trip:\n%s\nvs\n%s", printed, printed2)
	}
	if out, _ := createExec(t, home, "show", "--system", "pirate"); out != "You are a pirate.\nArr.\n" {
		t.Errorf("show --system: %q", out)
	}
	// It chats with its template, system prompt and messages.
	if _, errOut, err := runExec(t, home, "", "run", "pirate", "--chat", "Hi", "-t", "1"); err != nil {
		t.Fatalf("ir run pirate: %v\n%s", err, errOut)
	}

	// Mistakes name the line and make nothing.
	bad := filepath.Join(dir, "Bad")
	os.WriteFile(bad, []byte("FROM ./base.gguf\nADAPTER ./nope.gguf\n"), 0o644)
	if out, err := createExec(t, home, "create", "broken", "-f", bad); err == nil || !strings.Contains(err.Error(), "Modelfile line 2: ADAPTER ./nope.gguf") {
		t.Errorf("missing adapter: %v %s", err, out)
	}
	os.WriteFile(bad, []byte("FROM ./base.gguf\nADAPTOR x\n"), 0o644)
	if _, err := createExec(t, home, "create", "broken", "-f", bad); err == nil || !strings.Contains(err.Error(), `Modelfile line 2: unknown instruction "ADAPTOR"`) {
		t.Errorf("unknown instruction: %v", err)
	}
	if _, err := createExec(t, home, "show", "broken"); err == nil {
		t.Error("a failed create left a model")
	}
}

// ir run --lora applies an adapter; one made for another model is an error
// that names it.
func TestRunLora(t *testing.T) {
	home, dir := t.TempDir(), t.TempDir()
	base := runSynth(t, filepath.Join(dir, "base.gguf"), 1, nil)
	lora := filepath.Join(dir, "a.gguf")
	createLoRA(t, base, lora)
	plain := runReply(t, home, base, "Hello", runGreedy...)
	adapted := runReply(t, home, base, "Hello", append([]string{"--lora", lora + ":1"}, runGreedy...)...)
	if plain == adapted {
		t.Errorf("--lora changed nothing: %q", plain)
	}
	shape, _ := synth.ShapeByName("tiny-qwen3")
	p, err := synth.NewPlan(shape, "F32")
	if err != nil {
		t.Fatal(err)
	}
	qwen := filepath.Join(dir, "qwen.gguf")
	if err := p.WriteFile(qwen, 1); err != nil {
		t.Fatal(err)
	}
	_, errOut, err := runExec(t, home, "", "run", qwen, "Hello", "--lora", lora, "-n", "2")
	if err == nil || !strings.Contains(err.Error(), `made for architecture "llama", the model is "qwen3"`) {
		t.Errorf("adapter of another architecture: %v %s", err, errOut)
	}
}
