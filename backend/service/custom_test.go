package service

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"inferenceruntime/backend/modelfile"
	"inferenceruntime/inference/chattmpl"
	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/model/synth"
	"inferenceruntime/inference/quant"
	"inferenceruntime/inference/sample"
)

// writeLoRA writes a random rank-4 adapter for the model file base.
func writeLoRA(t *testing.T, base string) string {
	t.Helper()
	f, err := gguf.Open(base)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := synth.LoRA(f, synth.LoRAOptions{Rank: 4, Type: quant.F32, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "lora.gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCreateModelRoundTripAndChat(t *testing.T) {
	s, path := runnerFixture(t)
	ctx := context.Background()
	lora := writeLoRA(t, path)
	src := `FROM tiny
ADAPTER ` + lora + `:0.5
PARAMETER temperature 0
PARAMETER num_predict 3
PARAMETER stop "zzz"
SYSTEM """Be brief."""
TEMPLATE """{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}<assistant>"""
MESSAGE user Ping
MESSAGE assistant Pong
LICENSE Apache-2.0
`
	f, err := modelfile.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.CreateModel(ctx, "brief", f, CreateOptions{AllowPaths: true})
	if err != nil {
		t.Fatal(err)
	}
	if m.Base != "tiny" || m.Path != path {
		t.Errorf("model %+v: want base tiny on %s (the base's file, shared)", m, path)
	}
	text, err := s.Modelfile(ctx, "brief")
	if err != nil {
		t.Fatal(err)
	}
	// Made again from what it prints, the model prints the same.
	again, err := modelfile.Parse(text)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if _, err := s.CreateModel(ctx, "brief2", again, CreateOptions{AllowPaths: true}); err != nil {
		t.Fatal(err)
	}
	if text2, _ := s.Modelfile(ctx, "brief2"); text2 != text {
		t.Errorf("round trip:\n%s\nvs\n%s", text, text2)
	}
	for _, want := range []string{"FROM tiny\n", ":0.5\n", "PARAMETER temperature 0\n", `PARAMETER stop "zzz"`, "MESSAGE user", "LICENSE"} {
		if !strings.Contains(text, want) {
			t.Errorf("Modelfile lacks %q:\n%s", want, text)
		}
	}

	r := s.NewRunner(false, RunnerOptions{Threads: 1, MemoryLimit: -1})
	defer r.Close()
	opts := GenerateOptions{Sampling: sample.DefaultParams()}
	res, err := r.Chat(ctx, "brief", []chattmpl.Message{{Role: "user", Content: "Hi"}}, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "<system>Be brief.<user>Ping<assistant>Pong<user>Hi<assistant>"; res.Prompt != want {
		t.Errorf("prompt %q, want %q", res.Prompt, want)
	}
	if res.Stats.GeneratedTokens != 3 {
		t.Errorf("%d tokens, want num_predict 3", res.Stats.GeneratedTokens)
	}
	// The request's own options win over the model's.
	opts.MaxTokens, opts.Given = 5, map[string]bool{"num_predict": true}
	res, err = r.Chat(ctx, "brief", []chattmpl.Message{{Role: "system", Content: "Mine."}, {Role: "user", Content: "Hi"}}, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.GeneratedTokens != 5 || !strings.HasPrefix(res.Prompt, "<system>Mine.<user>Ping") {
		t.Errorf("%d tokens, prompt %q", res.Stats.GeneratedTokens, res.Prompt)
	}
	// The adapter changes the output: the base, greedy, says otherwise.
	base, err := r.Generate(ctx, GenerateRequest{Model: "tiny", Prompt: "Hello there", Raw: true,
		Options: GenerateOptions{Sampling: sample.Params{Temperature: 0}, MaxTokens: 12}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	adapted, err := r.Generate(ctx, GenerateRequest{Model: "brief", Prompt: "Hello there", Raw: true,
		Options: GenerateOptions{Sampling: sample.Params{Temperature: 0}, MaxTokens: 12, Given: map[string]bool{"num_predict": true}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if base.Text == adapted.Text {
		t.Errorf("the adapter changed nothing: %q", base.Text)
	}

	// Removing the models frees the adapter's blob, never the base.
	blobs := func() int {
		es, _ := os.ReadDir(filepath.Join(s.Library.Dir(), "blobs"))
		return len(es)
	}
	if n := blobs(); n != 1 {
		t.Fatalf("%d blobs, want the adapter's", n)
	}
	r.Close()
	for _, n := range []string{"brief", "brief2"} {
		if _, err := s.RemoveModel(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if n := blobs(); n != 0 {
		t.Errorf("%d blobs left after removing the custom models", n)
	}
	if _, err := s.Library.Find(ctx, "tiny"); err != nil {
		t.Errorf("the base went too: %v", err)
	}
}

func TestCreateModelErrors(t *testing.T) {
	s, path := runnerFixture(t)
	ctx := context.Background()
	lora := writeLoRA(t, path)
	qwen := filepath.Join(t.TempDir(), "qwen.gguf")
	shape, _ := synth.ShapeByName("tiny-qwen3")
	plan, err := synth.NewPlan(shape, "F32")
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.WriteFile(qwen, 1); err != nil {
		t.Fatal(err)
	}
	qlora := writeLoRA(t, qwen)
	cases := []struct{ name, src, want string }{
		{"other architecture", "FROM tiny\nSYSTEM x\nADAPTER " + qlora, `Modelfile line 3: ADAPTER ` + qlora + `: made for architecture "qwen3", the base model is "llama"`},
		{"missing adapter", "FROM tiny\nADAPTER /no/such.gguf", "Modelfile line 2: ADAPTER /no/such.gguf: stat /no/such.gguf: no such file"},
		{"not an adapter", "FROM tiny\nADAPTER " + path, "not a LoRA adapter file"},
		{"missing base", "FROM nothing-here", "Modelfile line 1: FROM nothing-here: neither an installed model nor a file"},
		{"go template", "FROM tiny\nADAPTER " + lora + "\nTEMPLATE {{ .System }} {{ .Prompt }}", "Modelfile line 3: TEMPLATE: this is a Go template"},
		{"bad jinja", "FROM tiny\nTEMPLATE {% for %}", "Modelfile line 2: TEMPLATE: the Jinja template does not parse"},
		{"taken name", "FROM tiny", `name already in use: "tiny"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := modelfile.Parse(c.src)
			if err != nil {
				t.Fatal(err)
			}
			name := "custom"
			if c.name == "taken name" {
				name = "tiny"
			}
			_, err = s.CreateModel(ctx, name, f, CreateOptions{AllowPaths: true})
			var inv *InvalidError
			if err == nil || !strings.Contains(err.Error(), c.want) || !errors.As(err, &inv) {
				t.Fatalf("err = %v, want an InvalidError containing %q", err, c.want)
			}
			ms, _ := s.ListModels(ctx)
			es, _ := os.ReadDir(filepath.Join(s.Library.Dir(), "blobs"))
			if len(ms) != 1 || len(es) != 0 {
				t.Errorf("left behind: %d models, %d blobs", len(ms), len(es))
			}
		})
	}
	// Without AllowPaths (the HTTP API), no file is read by path.
	f, _ := modelfile.Parse("FROM " + path)
	if _, err := s.CreateModel(ctx, "x", f, CreateOptions{}); err == nil || !strings.Contains(err.Error(), "no installed model") {
		t.Errorf("path FROM over the API: %v", err)
	}
	f, _ = modelfile.Parse("FROM tiny\nADAPTER " + lora)
	if _, err := s.CreateModel(ctx, "x", f, CreateOptions{}); err == nil || !strings.Contains(err.Error(), "uploaded blobs") {
		t.Errorf("path ADAPTER over the API: %v", err)
	}
}

func TestRunnerLoraScales(t *testing.T) {
	s, path := runnerFixture(t)
	ctx := context.Background()
	lora := writeLoRA(t, path)
	r := s.NewRunner(false, RunnerOptions{Threads: 1, MemoryLimit: -1})
	defer r.Close()
	if err := r.SetLoraAdapters([]AdapterRef{{Path: lora, Scale: 0}}); err != nil {
		t.Fatal(err)
	}
	gen := func(lora []LoraScale) string {
		res, err := r.Generate(ctx, GenerateRequest{Model: "tiny", Prompt: "Hello there", Raw: true,
			Options: GenerateOptions{Sampling: sample.Params{Temperature: 0}, MaxTokens: 10, Lora: lora}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return res.Text
	}
	off := gen(nil)
	on := gen([]LoraScale{{ID: 0, Scale: 1}})
	if on == off {
		t.Errorf("the request's scale did not apply the adapter: %q", on)
	}
	if err := r.SetLoraScales([]LoraScale{{ID: 0, Scale: 1}}); err != nil {
		t.Fatal(err)
	}
	if got := gen(nil); got != on {
		t.Errorf("global scale 1 gave %q, want %q", got, on)
	}
	if got := gen([]LoraScale{}); got != off {
		t.Errorf("an empty list turns the adapters off: got %q, want %q", got, off)
	}
	_, err := r.Generate(ctx, GenerateRequest{Model: "tiny", Prompt: "x", Raw: true,
		Options: GenerateOptions{Lora: []LoraScale{{ID: 3, Scale: 1}}}}, nil)
	if err == nil || !strings.Contains(err.Error(), "lora[0].id: there is no adapter 3") {
		t.Errorf("unknown id: %v", err)
	}
	if err := r.SetLoraAdapters([]AdapterRef{{Path: path, Scale: 1}}); err == nil || !strings.Contains(err.Error(), "not a LoRA adapter") {
		t.Errorf("a model as --lora: %v", err)
	}
}
