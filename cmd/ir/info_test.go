package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"inferenceruntime/inference/gguf"
	"inferenceruntime/internal/testshared"
)

// infoRun runs `ir info args...` in-process and returns its stdout.
func infoRun(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	rootCmd.SetOut(&out)
	rootCmd.SetArgs(append([]string{"info"}, args...))
	t.Cleanup(func() {
		rootCmd.SetArgs(nil)
		rootCmd.SetOut(nil)
		infoJSON, infoTensors, infoMetadata = false, false, false
	})
	err := rootCmd.Execute()
	infoJSON, infoTensors, infoMetadata = false, false, false
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
		return infoExpect{"llama", 64, 5, 8, 4, 2048, 512, infoStories260KParams, ""}, true
	case strings.HasPrefix(base, "stories260K-"):
		return infoExpect{"llama", 64, 5, 8, 4, 2048, 512, infoStories260KParams, quantOf()}, true
	case strings.HasPrefix(base, "tiny-"):
		arch := strings.TrimPrefix(base[:strings.LastIndex(base, "-")], "tiny-")
		if arch == "llama3" {
			arch = "llama"
		}
		return infoExpect{arch, 128, 2, 8, 4, 2048, 512, 0, quantOf()}, true
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
				got := infoExpect{s.Architecture, s.EmbeddingLength, s.Layers, s.Heads, s.HeadsKV, s.ContextLength, s.VocabSize, 0, s.FileType}
				if want.params != 0 {
					got.params = s.Parameters
				}
				if got != want {
					t.Errorf("summary %+v\nwant    %+v", got, want)
				}
				if s.VocabModel != "llama" || s.ChatTemplate {
					t.Errorf("vocabulary %q, chat template %v", s.VocabModel, s.ChatTemplate)
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

// TestInfoCorrupt runs `ir info` as a process on every corrupt fixture and
// on files that are not GGUF: each must exit non-zero with exactly one line
// on stderr and nothing on stdout.
func TestInfoCorrupt(t *testing.T) {
	fixtures, err := filepath.Glob(filepath.Join("..", "..", "inference", "gguf", "testdata", "corrupt", "*.gguf"))
	if err != nil || len(fixtures) == 0 {
		t.Fatalf("no corrupt fixtures found: %v", err)
	}
	fixtures = append(fixtures, "info.go", filepath.Join(t.TempDir(), "missing.gguf"), t.TempDir())
	for _, path := range fixtures {
		t.Run(filepath.Base(path), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestInfoHelperProcess$")
			cmd.Env = append(os.Environ(), "IR_INFO_MAIN=info\x1f"+path)
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
