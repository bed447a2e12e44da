package vision

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/gguf"
	"inferenceruntime/internal/testshared"
)

func encodeWith(t *testing.T, enc func(*bytes.Buffer, image.Image) error) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 5, 3))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 255
	}
	var b bytes.Buffer
	if err := enc(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestDecodeFormats decodes each supported format to the right size.
func TestDecodeFormats(t *testing.T) {
	for name, data := range map[string][]byte{
		"png":  encodeWith(t, func(b *bytes.Buffer, m image.Image) error { return png.Encode(b, m) }),
		"jpeg": encodeWith(t, func(b *bytes.Buffer, m image.Image) error { return jpeg.Encode(b, m, nil) }),
		"gif":  encodeWith(t, func(b *bytes.Buffer, m image.Image) error { return gif.Encode(b, m, nil) }),
		// A 1x1 lossless WebP.
		"webp": {0x52, 0x49, 0x46, 0x46, 0x1a, 0x00, 0x00, 0x00, 0x57, 0x45, 0x42, 0x50, 0x56, 0x50, 0x38, 0x4c,
			0x0d, 0x00, 0x00, 0x00, 0x2f, 0x00, 0x00, 0x00, 0x10, 0x07, 0x10, 0x11, 0x11, 0x88, 0x88, 0xfe, 0x07, 0x00},
	} {
		img, err := DecodeImage(data)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if want := (name == "webp"); want != (img.W == 1 && img.H == 1) || !want && (img.W != 5 || img.H != 3) {
			t.Errorf("%s: %dx%d", name, img.W, img.H)
		}
	}
	// Straight (not premultiplied) colour, alpha dropped, like stb_image.
	m := image.NewNRGBA(image.Rect(0, 0, 1, 1))
	m.Set(0, 0, color.NRGBA{R: 200, G: 100, B: 50, A: 10})
	var b bytes.Buffer
	png.Encode(&b, m)
	img, err := DecodeImage(b.Bytes())
	if err != nil || !bytes.Equal(img.Pix, []byte{200, 100, 50}) {
		t.Errorf("translucent pixel: %v %v", img, err)
	}
}

// pngChunk frames a PNG chunk with its length and CRC.
func pngChunk(typ string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, uint32(len(data)))
	b.WriteString(typ)
	b.Write(data)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	return b.Bytes()
}

// TestBadImages: corrupt, truncated, unsupported and oversized images are
// errors that wrap ErrImage and say what is wrong; none panics.
func TestBadImages(t *testing.T) {
	good := encodeWith(t, func(b *bytes.Buffer, m image.Image) error { return png.Encode(b, m) })
	// A decompression bomb: a 100000 x 100000 PNG whose header is valid
	// and whose (absent) pixels would take 40 GB.
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], 100000)
	binary.BigEndian.PutUint32(ihdr[4:], 100000)
	ihdr[8], ihdr[9] = 8, 6
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(make([]byte, 1<<16))
	zw.Close()
	bomb := append([]byte("\x89PNG\r\n\x1a\n"), pngChunk("IHDR", ihdr)...)
	bomb = append(bomb, pngChunk("IDAT", z.Bytes())...)
	bomb = append(bomb, pngChunk("IEND", nil)...)
	cases := map[string]struct {
		data []byte
		want string
	}{
		"empty":     {nil, "empty"},
		"text":      {[]byte("hello, this is not an image"), "not a PNG, JPEG, GIF or WebP"},
		"bmp":       {append([]byte("BM"), make([]byte, 60)...), "not a PNG"},
		"truncated": {good[:len(good)/2], "decoding png"},
		"corrupt":   {append(append([]byte{}, good[:40]...), bytes.Repeat([]byte{0xff}, 40)...), ""},
		"bomb":      {bomb, "larger than the limit"},
	}
	for name, c := range cases {
		_, err := DecodeImage(c.data)
		if err == nil || !errors.Is(err, ErrImage) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v (want ErrImage mentioning %q)", name, err, c.want)
		}
	}
}

// TestPreprocessShapes checks the letterbox geometry of the manifest:
// img1 40x28 becomes 48x34 at y offset 7, and an S x S image is copied.
func TestPreprocessShapes(t *testing.T) {
	c := &Config{ImageSize: 48, PatchSize: 4, ImageStd: [3]float32{1, 1, 1}}
	img := &RGB{W: 40, H: 28, Pix: bytes.Repeat([]byte{255}, 3*40*28)}
	px, err := Preprocess(img, c)
	if err != nil {
		t.Fatal(err)
	}
	for y := 0; y < 48; y++ {
		inside := y >= 7 && y < 41
		if got := px[y*48+10] == 1; got != inside {
			t.Errorf("row %d: %v, want inside=%v", y, px[y*48+10], inside)
		}
	}
	sq := &RGB{W: 48, H: 48, Pix: make([]byte, 3*48*48)}
	sq.Pix[3*(5*48+6)+1] = 255
	px, _ = Preprocess(sq, c)
	if px[48*48+5*48+6] != 1 {
		t.Error("an S x S image is not copied as is")
	}
	if _, err := Preprocess(&RGB{W: 2, H: 2}, c); err == nil {
		t.Error("an image without pixels was accepted")
	}
}

// FuzzProjectorFile mutates the tiny projector: every file is either
// refused with an error or loads and encodes an image without a crash.
func FuzzProjectorFile(f *testing.F) {
	if dir, err := testshared.Find("models", "vision"); err == nil {
		if data, err := os.ReadFile(filepath.Join(dir, "tiny-gemma3-mmproj-f32.gguf")); err == nil {
			f.Add(data)
		}
	}
	w := gguf.NewWriter()
	w.SetKV("general.architecture", "clip")
	w.SetKV("clip.projector_type", "gemma3")
	var b bytes.Buffer
	w.WriteTo(&b)
	f.Add(b.Bytes())
	dev := cpuDevice(f)
	img := &RGB{W: 3, H: 2, Pix: bytes.Repeat([]byte{9, 200, 77}, 6)}
	f.Fuzz(func(t *testing.T, data []byte) {
		gf, err := gguf.Parse(data)
		if err != nil {
			return
		}
		p, err := New(gf, dev)
		if err != nil {
			return
		}
		defer p.Close()
		if c := p.Config(); c.Patches() > 4096 || c.EmbeddingLength*c.FeedForwardLength > 1<<22 {
			return // valid but too slow to run here
		}
		p.Encode(img, compute.Options{Threads: 1})
	})
}
