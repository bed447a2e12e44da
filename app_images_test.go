package main

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// TestSplitDrop: pictures in a drop are read for the message box (a file
// that only looks like one says why it is refused); other files are left
// for the library.
func TestSplitDrop(t *testing.T) {
	dir := t.TempDir()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 2, 2))); err != nil {
		t.Fatal(err)
	}
	pic, fake, model := filepath.Join(dir, "cat.PNG"), filepath.Join(dir, "notes.png"), filepath.Join(dir, "m.gguf")
	for p, data := range map[string][]byte{pic: b.Bytes(), fake: []byte("just text"), model: []byte("GGUF")} {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	images, rest := splitDrop([]string{model, pic, fake})
	if len(rest) != 1 || rest[0] != model {
		t.Fatalf("left for import: %v", rest)
	}
	if len(images) != 2 || images[0].Error != "" || images[0].Image.MIME != "image/png" || !bytes.Equal(images[0].Image.Data, b.Bytes()) {
		t.Fatalf("picture: %+v", images)
	}
	if images[1].Error == "" || images[1].Name != "notes.png" {
		t.Fatalf("a text file named .png was attached: %+v", images[1])
	}
}
