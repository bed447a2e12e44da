package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"inferenceruntime/backend/library"
	"inferenceruntime/internal/testshared"
)

// hugePNG is a valid PNG header claiming 100000 x 100000 pixels.
func hugePNG() []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], 100000)
	binary.BigEndian.PutUint32(ihdr[4:], 100000)
	ihdr[8], ihdr[9] = 8, 2
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	b.WriteString("IHDR")
	b.Write(ihdr)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte("IHDR"), ihdr...)))
	return b.Bytes()
}

// TestImages sends an image through both dialects to the tiny Gemma 3 with
// its projector, and checks the 400s: a corrupt image, a huge one, a remote
// URL, and an image for a model without vision.
func TestImages(t *testing.T) {
	dir := testshared.Dir(t, "models")
	e := newEnv(t, envOptions{})
	model := filepath.Join(dir, "conf-tiny", "tiny-gemma3-f32.gguf")
	if _, err := e.svc.ImportModel(context.Background(), model, library.ImportOptions{Name: "vis", InPlace: true}); err != nil {
		t.Fatal(err)
	}
	e.runner.SetProjector(model, filepath.Join(dir, "vision", "tiny-gemma3-mmproj-f32.gguf"))
	png, err := os.ReadFile(filepath.Join(dir, "vision", "img1-40x28.png"))
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString(png)
	opts := map[string]any{"num_predict": 4, "temperature": 0}
	for _, c := range []struct {
		name, path string
		body       map[string]any
		status     int
		want       string
	}{
		{"generate", "/api/generate", map[string]any{"model": "vis", "prompt": "Describe this.", "images": []string{b64}, "stream": false, "options": opts}, 200, "response"},
		{"chat", "/api/chat", map[string]any{"model": "vis", "messages": []map[string]any{{"role": "user", "content": "What is it?", "images": []string{b64}}}, "stream": false, "options": opts}, 200, "message"},
		{"openai", "/v1/chat/completions", map[string]any{"model": "vis", "max_tokens": 4, "messages": []map[string]any{{"role": "user", "content": []map[string]any{
			{"type": "text", "text": "What is in"}, {"type": "image_url", "image_url": map[string]any{"url": "data:image/png;base64," + b64}}}}}}, 200, "choices"},
		{"corrupt", "/api/generate", map[string]any{"model": "vis", "prompt": "x", "images": []string{base64.StdEncoding.EncodeToString(png[:60])}, "stream": false}, 400, "image 0"},
		{"huge", "/api/generate", map[string]any{"model": "vis", "prompt": "x", "images": []string{base64.StdEncoding.EncodeToString(hugePNG())}, "stream": false}, 400, "larger than the limit"},
		{"not base64", "/api/generate", map[string]any{"model": "vis", "prompt": "x", "images": []string{"%%%"}, "stream": false}, 400, "base64"},
		{"remote", "/v1/chat/completions", map[string]any{"model": "vis", "messages": []map[string]any{{"role": "user", "content": []map[string]any{
			{"type": "image_url", "image_url": map[string]any{"url": "https://example.com/cat.png"}}}}}}, 400, "remote image URLs are not fetched"},
		{"text-only", "/api/generate", map[string]any{"model": "tiny", "prompt": "x", "images": []string{b64}, "stream": false}, 400, "no vision projector"},
	} {
		res := e.do("POST", c.path, c.body)
		if res.status != c.status || !strings.Contains(string(res.body), c.want) {
			t.Errorf("%s: %d %s (want %d mentioning %q)", c.name, res.status, res.body, c.status, c.want)
		}
	}
}
