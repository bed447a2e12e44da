package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"inferenceruntime/backend/service"
	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/model/synth"
	"inferenceruntime/inference/quant"
)

// loraBytes is a random LoRA adapter for the tiny test model.
func loraBytes(t *testing.T) []byte {
	t.Helper()
	f, err := gguf.Open(filepath.Join(synthModels(t), "tiny.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := synth.LoRA(f, synth.LoRAOptions{Rank: 4, Type: quant.F16, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "a.gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestOllamaCreateWithBlobs(t *testing.T) {
	e := newEnv(t, envOptions{})
	data := loraBytes(t)
	sum := sha256.Sum256(data)
	digest := "sha256:" + hex.EncodeToString(sum[:])

	if r := e.do("HEAD", "/api/blobs/"+digest, nil); r.status != http.StatusNotFound {
		t.Fatalf("HEAD before upload: %d", r.status)
	}
	wrong := append([]byte{}, data...)
	wrong[len(wrong)-1] ^= 1
	if r := e.do("POST", "/api/blobs/"+digest, string(wrong)); r.status != http.StatusBadRequest || !strings.Contains(errorMessage(t, r), "the bytes have digest") {
		t.Fatalf("upload of other bytes: %d %s", r.status, r.body)
	}
	if r := e.do("HEAD", "/api/blobs/"+digest, nil); r.status != http.StatusNotFound {
		t.Fatalf("a refused upload left a blob: %d", r.status)
	}
	if r := e.do("POST", "/api/blobs/"+digest, string(data)); r.status != http.StatusCreated {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	if r := e.do("HEAD", "/api/blobs/"+digest, nil); r.status != http.StatusOK {
		t.Fatalf("HEAD after upload: %d", r.status)
	}
	if r := e.do("HEAD", "/api/blobs/sha256:XYZ", nil); r.status != http.StatusBadRequest {
		t.Fatalf("HEAD of a bad digest: %d", r.status)
	}

	r := e.do("POST", "/api/create", map[string]any{
		"model": "tuned", "from": "tiny", "adapters": map[string]string{"a.gguf": digest},
		"system": "Be brief.", "parameters": map[string]any{"temperature": 0, "num_predict": 4, "stop": []string{"qq"}},
		"messages": []map[string]string{{"role": "user", "content": "Ping"}, {"role": "assistant", "content": "Pong"}},
		"license":  "MIT",
	})
	if r.status != http.StatusOK {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if lines := ndjson(t, r.body); lines[len(lines)-1]["status"] != "success" {
		t.Fatalf("create stream: %s", r.body)
	}
	show := e.do("POST", "/api/show", map[string]string{"model": "tuned"}).json(t)
	mf, _ := show["modelfile"].(string)
	for _, want := range []string{"FROM tiny\n", "ADAPTER ", "SYSTEM \"\"\"Be brief.\"\"\"", "PARAMETER temperature 0", "MESSAGE user"} {
		if !strings.Contains(mf, want) {
			t.Errorf("modelfile lacks %q:\n%s", want, mf)
		}
	}
	if p, _ := show["parameters"].(string); !strings.Contains(p, "num_predict 4") || !strings.Contains(p, `stop "qq"`) {
		t.Errorf("parameters %q", p)
	}
	if ads, _ := show["adapters"].([]any); len(ads) != 1 || show["system"] != "Be brief." {
		t.Errorf("adapters %v, system %v", show["adapters"], show["system"])
	}
	chat := e.do("POST", "/api/chat", map[string]any{"model": "tuned", "stream": false,
		"messages": []map[string]string{{"role": "user", "content": "Hi"}}}).json(t)
	if chat["eval_count"] != float64(4) {
		t.Errorf("chat with the model's num_predict 4: %v", chat)
	}

	for _, c := range []struct {
		body map[string]any
		want string
	}{
		{map[string]any{"model": "x", "from": "tiny", "adapters": map[string]string{"a": "sha256:" + strings.Repeat("0", 64)}}, "is missing"},
		{map[string]any{"model": "x", "from": "tiny", "adapters": map[string]string{"a": "md5:1"}}, "adapters.a"},
		{map[string]any{"model": "x", "from": "tiny", "parameters": map[string]any{"mirostat": 1}}, "parameters.mirostat"},
		{map[string]any{"model": "x", "from": "tiny", "template": "{{ .Prompt }}"}, "Go template"},
		{map[string]any{"model": "x", "from": "/etc/passwd"}, "no installed model"},
		{map[string]any{"model": "x", "modelfile": "FROM tiny\nSYSTEMS hi"}, "line 2: unknown instruction"},
		{map[string]any{"model": "x"}, "from: is required"},
	} {
		r := e.do("POST", "/api/create", c.body)
		if r.status != http.StatusBadRequest && r.status != http.StatusNotFound || !strings.Contains(errorMessage(t, r), c.want) {
			t.Errorf("create %v: %d %s, want %q", c.body, r.status, r.body, c.want)
		}
	}
	if r := e.do("POST", "/api/show", map[string]string{"model": "x"}); r.status != http.StatusNotFound {
		t.Errorf("a failed create left model x: %d", r.status)
	}
}

func TestLoraAdaptersEndpoints(t *testing.T) {
	e := newEnv(t, envOptions{})
	path := filepath.Join(t.TempDir(), "a.gguf")
	if err := os.WriteFile(path, loraBytes(t), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := e.runner.SetLoraAdapters([]service.AdapterRef{{Path: path, Scale: 1}}); err != nil {
		t.Fatal(err)
	}
	r := e.do("GET", "/lora-adapters", nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"id":0`) || !strings.Contains(string(r.body), `"scale":1`) {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/lora-adapters", []map[string]any{{"id": 0, "scale": 0.25}}); r.status != http.StatusOK || !strings.Contains(string(r.body), `"scale":0.25`) {
		t.Fatalf("set: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/lora-adapters", []map[string]any{{"id": 7, "scale": 1}}); r.status != http.StatusBadRequest {
		t.Fatalf("set unknown id: %d %s", r.status, r.body)
	}
	gen := func(lora any) string {
		body := map[string]any{"model": "tiny", "prompt": "Hello", "raw": true, "stream": false,
			"options": map[string]any{"temperature": 0, "num_predict": 8}}
		if lora != nil {
			body["lora"] = lora
		}
		r := e.do("POST", "/api/generate", body)
		if r.status != http.StatusOK {
			t.Fatalf("generate: %d %s", r.status, r.body)
		}
		return r.json(t)["response"].(string)
	}
	off := gen([]any{})
	on := gen([]map[string]any{{"id": 0, "scale": 1}})
	if on == off {
		t.Errorf("lora scale 1 changed nothing: %q", on)
	}
	r = e.do("POST", "/v1/completions", map[string]any{"model": "tiny", "prompt": "Hello", "max_tokens": 2, "lora": []map[string]any{{"id": 1, "scale": 1}}})
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "no adapter 1") {
		t.Errorf("openai lora with an unknown id: %d %s", r.status, r.body)
	}
}
