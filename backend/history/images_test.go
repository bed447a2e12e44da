package history

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"strings"
	"testing"
)

func testPNG(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 3, 2))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestMessageImages: images go in with their message, come back in order
// on every read, travel in both exports and go with their conversation.
func TestMessageImages(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	c := mustCreate(t, s, "Look")
	pic := testPNG(t)
	imgs := []Image{{Data: pic, MIME: "image/jpeg"}, {Data: append([]byte(nil), pic...)}}
	if err := CheckImages(imgs); err != nil {
		t.Fatal(err)
	}
	if imgs[0].MIME != "image/png" {
		t.Fatalf("MIME %q: the claimed type must give way to the bytes", imgs[0].MIME)
	}
	q, err := s.Add(ctx, c.ID, NewMessage{Role: RoleUser, Content: "What is this?", Images: imgs})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Images) != 2 || !bytes.Equal(q.Images[1].Data, pic) {
		t.Fatalf("Add returned %d images", len(q.Images))
	}
	th, err := s.Thread(ctx, c.ID)
	if err != nil || len(th.Messages) != 1 || len(th.Messages[0].Images) != 2 {
		t.Fatalf("thread: %v %+v", err, th)
	}
	js, err := s.ExportJSON(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var e Export
	if err := json.Unmarshal(js, &e); err != nil || len(e.Messages[0].Images) != 2 || !bytes.Equal(e.Messages[0].Images[0].Data, pic) {
		t.Fatalf("JSON export lost the images: %v", err)
	}
	md, err := s.ExportMarkdown(ctx, c.ID)
	if err != nil || !strings.Contains(string(md), "![image 2](data:image/png;base64,") {
		t.Fatalf("Markdown export lacks the images: %v\n%s", err, md)
	}
	if err := s.Delete(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.db.QueryRow(`SELECT count(*) FROM message_images`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d images outlived their conversation (%v)", n, err)
	}
}

func TestCheckImagesRefuses(t *testing.T) {
	pic := testPNG(t)
	for name, imgs := range map[string][]Image{
		"not an image": {{Data: []byte("hello, world")}},
		"empty":        {{}},
		"too many":     make([]Image, MaxImages+1),
		"too large":    {{Data: append(pic, make([]byte, MaxImageBytes)...)}},
	} {
		if err := CheckImages(imgs); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
