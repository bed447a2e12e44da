package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"inferenceruntime/backend/library"
	"inferenceruntime/backend/library/fixture"
	"inferenceruntime/backend/service"
	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/gguf/ggufcorrupt"
	"inferenceruntime/internal/testshared"
)

// infoRun runs `ir info args...` in-process and returns its stdout.
func infoRun(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	rootCmd.SetOut(&out)
	rootCmd.SetArgs(append([]string{"info"}, args...))
	reset := func() {
		infoJSON, infoTensors, infoMetadata = false, false, false
		homeFlag = ""
	}
	t.Cleanup(func() {
		rootCmd.SetArgs(nil)
		rootCmd.SetOut(nil)
		reset()
	})
	err := rootCmd.Execute()
	reset()
	return out.String(), err
}

// infoSharedModels returns ../shared/models (from the repository root),
// skipping when it is absent.
func infoSharedModels(t *testing.T) string {
	t.Helper()
	return testshared.Dir(t, "models")
}

// infoExpect is what MANIFEST.md says about each family of shared files.
type infoExpect struct {
	arch                        string
	embd, layers, heads, headKV uint64
	ctx                         uint64
	vocab                       int
	params                      int64 // 0: not checked
	fileType                    string
	vocabModel                  string
}

// infoStories260KParams is the parameter count of stories260K from its
// hyper-parameters: token_embd and output (512x64 each), 5 layers of
// attention (q, o 64x64; k, v 64x32), SwiGLU 3x(64x172), two norms, and
// the output norm.
const infoStories260KParams = 2*512*64 + 5*(2*64*64+2*64*32+3*64*172+2*64) + 64

func infoExpected(path string) (infoExpect, bool) {
	base := filepath.Base(path)
	quantOf := func() string {
		q := strings.TrimSuffix(base[strings.LastIndex(base, "-")+1:], ".gguf")
		if q == "f32" {
			return "F32"
		}
		return q
	}
	switch {
	case base == "stories260K-f32.gguf":
		// ggml-org's published file, which has no general.file_type.
		return infoExpect{"llama", 64, 5, 8, 4, 2048, 512, infoStories260KParams, "", "llama"}, true
	case strings.HasPrefix(base, "stories260K-"):
		return infoExpect{"llama", 64, 5, 8, 4, 2048, 512, infoStories260KParams, quantOf(), "llama"}, true
	case base == "tiny-bert.gguf":
		// embed/: no head_count_kv key (it defaults to head_count).
		return infoExpect{"bert", 128, 2, 4, 0, 512, 30522, 0, "F16", "bert"}, true
	case strings.HasPrefix(base, "tiny-gemma3-mmproj-"):
		// vision/: a projector has no text hyper-parameters or vocabulary.
		return infoExpect{"clip", 0, 0, 0, 0, 0, 0, 0, strings.TrimPrefix(quantOf(), "mmproj-"), ""}, true
	case strings.HasPrefix(base, "tiny-") && filepath.Base(filepath.Dir(path)) == "conf-tiny":
		arch := strings.TrimPrefix(base[:strings.LastIndex(base, "-")], "tiny-")
		if arch == "llama3" {
			arch = "llama"
		}
		return infoExpect{arch, 128, 2, 8, 4, 2048, 512, 0, quantOf(), "llama"}, true
	}
	return infoExpect{}, false
}

// TestInfoSharedModels runs `ir info` on every shared GGUF file and checks
// the summary against the facts of MANIFEST.md.
func TestInfoSharedModels(t *testing.T) {
	root := infoSharedModels(t)
	var files []string
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".gguf") {
			files = append(files, p)
		}
		return err
	})
	if len(files) == 0 {
		t.Skip("no .gguf files in the shared models")
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			text, err := infoRun(t, path)
			if err != nil {
				t.Fatal(err)
			}
			for _, label := range []string{"architecture", "parameters", "quantization", "context length", "vocabulary", "chat template", "gguf version", "file size"} {
				if !strings.Contains(text, label) {
					t.Errorf("text output lacks %q:\n%s", label, text)
				}
			}
			js, err := infoRun(t, "--json", "--tensors", "--metadata", path)
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				gguf.Summary
				Metadata []infoKV     `json:"metadata"`
				Tensors  []infoTensor `json:"tensors"`
			}
			if err := json.Unmarshal([]byte(js), &doc); err != nil {
				t.Fatalf("--json: %v\n%s", err, js)
			}
			f, err := gguf.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if len(doc.Metadata) != len(f.KV) {
				t.Errorf("%d metadata rows for %d keys", len(doc.Metadata), len(f.KV))
			}
			for i, kv := range doc.Metadata {
				if i < len(f.KV) && (kv.Key != f.KV[i].Key || (kv.Value == nil) != (f.KV[i].Value.Len() > infoMaxArray && f.KV[i].Value.Type == gguf.Array)) {
					t.Errorf("metadata row %d %+v for key %s", i, kv, f.KV[i].Key)
				}
			}
			s := doc.Summary
			st, _ := os.Stat(path)
			if s.FileSize != st.Size() || s.Version != 3 || len(doc.Tensors) != s.TensorCount {
				t.Errorf("size %d (file %d), version %d, %d tensor rows for %d tensors", s.FileSize, st.Size(), s.Version, len(doc.Tensors), s.TensorCount)
			}
			var sum int64
			for _, tr := range doc.Tensors {
				if tr.Offset < 0 || tr.Offset+tr.Size > st.Size() || !strings.Contains(text+js, tr.Name) {
					t.Errorf("tensor row %+v outside the file", tr)
				}
				n := int64(1)
				for _, d := range tr.Shape {
					n *= int64(d)
				}
				sum += n
			}
			if sum != s.Parameters {
				t.Errorf("parameters %d, tensor table sums to %d", s.Parameters, sum)
			}
			base := filepath.Base(path)
			switch want, ok := infoExpected(path); {
			case ok:
				got := infoExpect{s.Architecture, s.EmbeddingLength, s.Layers, s.Heads, s.HeadsKV, s.ContextLength, s.VocabSize, 0, s.FileType, s.VocabModel}
				if want.params != 0 {
					got.params = s.Parameters
				}
				if got != want {
					t.Errorf("summary %+v\nwant    %+v", got, want)
				}
				if s.ChatTemplate {
					t.Errorf("chat template in %s", base)
				}
			case strings.HasPrefix(base, "zoo-"):
				typ := strings.TrimSuffix(strings.TrimPrefix(base, "zoo-"), ".gguf")
				if len(s.Quant) != 1 || s.Quant[0].Type != typ || s.Quant[0].Tensors != 2 || s.Parameters != 2*256*32 {
					t.Errorf("quant mix %+v, parameters %d; want 2 %s tensors of 256x32", s.Quant, s.Parameters, typ)
				}
			case strings.HasPrefix(base, "ggml-vocab-"):
				if s.TensorCount != 0 || s.VocabModel == "" || s.VocabSize < 1000 {
					t.Errorf("vocab file: %d tensors, vocabulary %q of %d", s.TensorCount, s.VocabModel, s.VocabSize)
				}
			}
		})
	}
}

// TestInfoText checks the text layout on a synthetic model with a chat
// template and the tensor table.
func TestInfoText(t *testing.T) {
	w := gguf.NewWriter()
	for k, v := range map[string]any{
		"general.architecture":          "llama",
		"general.name":                  "synthetic",
		"general.file_type":             uint32(15),
		"llama.context_length":          uint32(4096),
		"llama.embedding_length":        uint32(32),
		"llama.block_count":             uint32(3),
		"llama.attention.head_count":    uint32(4),
		"tokenizer.ggml.model":          "gpt2",
		"tokenizer.ggml.tokens":         []string{"a", "b", "c"},
		"tokenizer.chat_template":       "{{ messages }}",
		"llama.attention.head_count_kv": uint32(4),
	} {
		if err := w.SetKV(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.AddTensor("token_embd.weight", 0, []uint64{32, 3}, make([]byte, 32*3*4)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "synthetic.gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	text, err := infoRun(t, "--tensors", "--metadata", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"architecture      llama", "name              synthetic", "parameters        96\n",
		"file type         Q4_K_M (15)", "quantization      F32: 1 tensors, 384 B",
		"context length    4096", "layers            3", "attention heads   4\n",
		"vocabulary        gpt2, 3 tokens", "chat template     yes (14 bytes)", "tensors           1",
		"token_embd.weight  F32   32 x 3", "384\n",
		"tokenizer.ggml.tokens          array of string  [3 x string]\n",
		"tokenizer.chat_template        string           \"{{ messages }}\"\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
}

// TestInfoHelperProcess is not a test: TestInfoCorrupt runs the test binary
// with IR_INFO_MAIN set so that this calls main() with the given arguments,
// as a real `ir` process would.
func TestInfoHelperProcess(t *testing.T) {
	args := os.Getenv("IR_INFO_MAIN")
	if args == "" {
		t.Skip("helper process for TestInfoCorrupt")
	}
	os.Args = append([]string{"ir"}, strings.Split(args, "\x1f")...)
	main()
	os.Exit(0)
}

// TestInfoCorrupt runs `ir info` as a process on every corrupt file of
// ggufcorrupt and on files that are not GGUF: each must exit non-zero with
// exactly one line on stderr and nothing on stdout.
func TestInfoCorrupt(t *testing.T) {
	fixtures, err := ggufcorrupt.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fixtures = append(fixtures, "info.go", filepath.Join(t.TempDir(), "missing.gguf"), t.TempDir())
	for _, path := range fixtures {
		t.Run(filepath.Base(path), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestInfoHelperProcess$")
			// A name that is no file is looked up in the library: an empty
			// one, never the user's.
			cmd.Env = append(os.Environ(), "IR_INFO_MAIN=info\x1f"+path, "IR_HOME="+t.TempDir())
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() == 0 {
				t.Fatalf("exit: %v; stdout %q", err, stdout.String())
			}
			msg := stderr.String()
			if strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "ir: ") || !strings.Contains(msg, filepath.Base(path)) {
				t.Errorf("stderr is not one line naming the file: %q", msg)
			}
			if strings.Contains(msg, "Usage") || stdout.Len() != 0 {
				t.Errorf("usage or output printed: stdout %q", stdout.String())
			}
		})
	}
}

// TestInfoInstalled runs `ir info` on installed models by name, alias and
// id: the library record comes before the summary of its file. An existing
// file of the same name wins; unknown and ambiguous names are errors.
func TestInfoInstalled(t *testing.T) {
	home, work := t.TempDir(), t.TempDir()
	ctx := context.Background()
	svc, err := service.Open(ctx, service.Options{Home: home})
	if err != nil {
		t.Fatal(err)
	}
	install := func(name string, seed byte, inPlace bool) *library.Model {
		t.Helper()
		src := filepath.Join(work, fmt.Sprintf("src-%d.gguf", seed))
		if err := fixture.Model(src, 4096, seed); err != nil {
			t.Fatal(err)
		}
		res, err := svc.ImportModel(ctx, src, library.ImportOptions{Name: name, InPlace: inPlace})
		if err != nil {
			t.Fatal(err)
		}
		return res.Model
	}
	store := install("org/model:Q8_0", 1, false)
	if _, err := svc.CopyModel(ctx, "org/model:Q8_0", "fav"); err != nil {
		t.Fatal(err)
	}
	place := install("org/model:F32", 2, true)
	shadow := install("shadow.gguf", 3, false)
	gone := install("gone", 4, true)
	svc.Close()
	// A file named like a model, in the working directory, and a model
	// whose in-place file has gone.
	t.Chdir(work)
	if err := fixture.Model("shadow.gguf", 8192, 5); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(gone.Path); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		ref     string
		model   *library.Model // nil: the file itself, or an error
		want    []string       // in the text output
		wantErr string
	}{
		{ref: "org/model:Q8_0", model: store, want: []string{"model             org/model:Q8_0\n", "aliases           fav\n",
			"digest            sha256:" + store.Digest, "location          model store\n", "last used         never\n",
			"file              " + store.Path, "architecture      llama"}},
		{ref: "FAV", model: store},
		{ref: store.ID[:8], model: store},
		{ref: "org/model:f32", model: place, want: []string{"location          in place\n", "digest            - (not hashed", "file              " + place.Path}},
		{ref: "shadow.gguf", want: []string{"file              shadow.gguf\n"}},
		{ref: "org/model", wantErr: "ambiguous"},
		{ref: "gone", wantErr: "missing"},
		{ref: "no/such:model", wantErr: "no/such:model: no such file, and no installed model answers to that name"},
	}
	for _, tc := range tests {
		t.Run(tc.ref, func(t *testing.T) {
			text, err := infoRun(t, "--home", home, tc.ref)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("output lacks %q:\n%s", w, text)
				}
			}
			if fromLib := strings.HasPrefix(text, "model "); fromLib != (tc.model != nil) {
				t.Errorf("library record shown: %v, want %v:\n%s", fromLib, tc.model != nil, text)
			}
			js, err := infoRun(t, "--home", home, "--json", tc.ref)
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				gguf.Summary
				Library *library.Model `json:"library"`
			}
			if err := json.Unmarshal([]byte(js), &doc); err != nil {
				t.Fatalf("--json: %v\n%s", err, js)
			}
			switch {
			case tc.model == nil:
				// The file, not the model of the same name.
				st, err := os.Stat(tc.ref)
				if err != nil || doc.Library != nil || doc.FileSize != st.Size() || doc.FileSize == shadow.Size {
					t.Errorf("--json: library %+v, file size %d; want the file's (%v), not the model's %d", doc.Library, doc.FileSize, err, shadow.Size)
				}
			case tc.model != nil && (doc.Library == nil || doc.Library.ID != tc.model.ID || doc.Library.Digest != tc.model.Digest ||
				doc.Library.Path != tc.model.Path || doc.FileSize != tc.model.Size):
				t.Errorf("--json library %+v, file size %d; want %+v", doc.Library, doc.FileSize, tc.model)
			}
		})
	}
}

// TestInfoNoLibrary: a name that is no file, with a data directory that
// has no database, is an error that creates nothing.
func TestInfoNoLibrary(t *testing.T) {
	home := filepath.Join(t.TempDir(), "never-created")
	_, err := infoRun(t, "--home", home, "some-model")
	if err == nil || !strings.Contains(err.Error(), "some-model: no such file") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(home); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the data directory was created: %v", err)
	}
}

// TestInfoControlCharacters: strings from a GGUF file (name, architecture,
// keys, tensor names) cannot send escape sequences to the terminal.
func TestInfoControlCharacters(t *testing.T) {
	w := gguf.NewWriter()
	for _, kv := range []struct {
		k string
		v any
	}{
		{"general.architecture", "ll\x1b[31mama"},
		{"general.name", "evil\x1b]0;pwned\x07\x1b[2J"},
		{"tokenizer.ggml.model", "gpt2\x1b[1A"},
		{"evil.\x1b[2Jkey", uint32(1)},
	} {
		if err := w.SetKV(kv.k, kv.v); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.AddTensor("t\x1b[2J.weight", 0, []uint64{32}, make([]byte, 32*4)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "evil.gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	text, err := infoRun(t, "--tensors", "--metadata", path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(text, "\x1b\x07") {
		t.Errorf("output has control characters:\n%q", text)
	}
	if !strings.Contains(text, `evil\x1b]0;pwned\a\x1b[2J`) || !strings.Contains(text, `t\x1b[2J.weight`) {
		t.Errorf("escaped strings missing:\n%s", text)
	}
}

// TestInfoSupport checks that `ir info` says plainly whether this build can
// run a file, naming an architecture it cannot run, in text and JSON, and
// without failing.
func TestInfoSupport(t *testing.T) {
	write := func(arch string) string {
		w := gguf.NewWriter()
		for _, kv := range []struct {
			k string
			v any
		}{
			{"general.architecture", arch},
			{arch + ".context_length", uint32(256)},
			{arch + ".embedding_length", uint32(32)},
			{arch + ".block_count", uint32(1)},
		} {
			if err := w.SetKV(kv.k, kv.v); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.AddTensor("token_embd.weight", 0, []uint64{32, 4}, make([]byte, 32*4*4)); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), arch+".gguf")
		if err := w.WriteFile(path); err != nil {
			t.Fatal(err)
		}
		return path
	}
	mamba, llama := write("mamba"), write("llama")

	text, err := infoRun(t, mamba)
	if err != nil {
		t.Fatalf("ir info on an unsupported architecture failed: %v", err)
	}
	want := `runs here         no — architecture "mamba" is not supported (supported: `
	if !strings.Contains(text, want) || !strings.Contains(text, "llama") {
		t.Errorf("output lacks %q naming the supported ones:\n%s", want, text)
	}
	if text, err := infoRun(t, llama); err != nil || !strings.Contains(text, "runs here         yes\n") {
		t.Errorf("llama file: %v\n%s", err, text)
	}

	js, err := infoRun(t, "--json", mamba)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Architecture string `json:"architecture"`
		Supported    *bool  `json:"supported"`
		Reason       string `json:"reason"`
	}
	if err := json.Unmarshal([]byte(js), &doc); err != nil {
		t.Fatalf("--json: %v\n%s", err, js)
	}
	if doc.Architecture != "mamba" || doc.Supported == nil || *doc.Supported || !strings.Contains(doc.Reason, `architecture "mamba" is not supported`) {
		t.Errorf("--json: architecture %q, supported %v, reason %q", doc.Architecture, doc.Supported, doc.Reason)
	}
	js, err = infoRun(t, "--json", llama)
	if err != nil {
		t.Fatal(err)
	}
	doc.Supported, doc.Reason = nil, ""
	if err := json.Unmarshal([]byte(js), &doc); err != nil || doc.Supported == nil || !*doc.Supported || doc.Reason != "" {
		t.Errorf("--json for llama: supported %v, reason %q (%v)", doc.Supported, doc.Reason, err)
	}
}
