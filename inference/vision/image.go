package vision

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/draw"

	// The formats DecodeImage accepts.
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"

	_ "golang.org/x/image/webp"
)

// MaxPixels bounds the pixel count of an image DecodeImage accepts: a
// 64-megapixel photo passes; a small file that claims to hold a billion
// pixels (a decompression bomb) is refused before anything is decoded.
const MaxPixels = 64 << 20

// ErrImage marks every problem with an image's bytes: corrupt, unsupported
// or too large. Callers turn it into a client error.
var ErrImage = errors.New("vision: bad image")

// RGB is an 8-bit RGB image, rows top to bottom, 3 bytes per pixel.
type RGB struct {
	W, H int
	Pix  []byte // len 3*W*H
}

// at returns channel c of pixel (x, y).
func (m *RGB) at(x, y, c int) byte { return m.Pix[3*(y*m.W+x)+c] }

// DecodeImage decodes a PNG, JPEG, GIF (first frame) or WebP image to RGB,
// dropping any alpha channel like llama.cpp's loader does (colour values as
// stored, not composited). The header is checked against MaxPixels before
// the pixels are decoded. Every failure wraps ErrImage.
func DecodeImage(data []byte) (*RGB, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: the image is empty", ErrImage)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		if errors.Is(err, image.ErrFormat) {
			return nil, fmt.Errorf("%w: not a PNG, JPEG, GIF or WebP image", ErrImage)
		}
		return nil, fmt.Errorf("%w: %v", ErrImage, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("%w: %s of %dx%d pixels", ErrImage, format, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return nil, fmt.Errorf("%w: %s of %dx%d pixels is larger than the limit of %d megapixels",
			ErrImage, format, cfg.Width, cfg.Height, MaxPixels>>20)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: decoding %s: %v", ErrImage, format, err)
	}
	return toRGB(img)
}

// toRGB copies img into an RGB image. Colour values are taken without
// alpha premultiplication (stb_image, which llama.cpp uses, keeps the stored
// values and drops alpha).
func toRGB(img image.Image) (*RGB, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 || int64(w)*int64(h) > MaxPixels {
		return nil, fmt.Errorf("%w: %dx%d pixels", ErrImage, w, h)
	}
	out := &RGB{W: w, H: h, Pix: make([]byte, 3*w*h)}
	nrgba, ok := img.(*image.NRGBA)
	if !ok {
		if rgba, isRGBA := img.(*image.RGBA); isRGBA && opaque(rgba) {
			nrgba = &image.NRGBA{Pix: rgba.Pix, Stride: rgba.Stride, Rect: rgba.Rect}
		} else {
			nrgba = image.NewNRGBA(image.Rect(0, 0, w, h))
			draw.Draw(nrgba, nrgba.Rect, img, b.Min, draw.Src)
			b = nrgba.Rect
		}
	}
	for y := 0; y < h; y++ {
		row := nrgba.Pix[(y+b.Min.Y-nrgba.Rect.Min.Y)*nrgba.Stride+(b.Min.X-nrgba.Rect.Min.X)*4:]
		for x := 0; x < w; x++ {
			copy(out.Pix[3*(y*w+x):3*(y*w+x)+3], row[4*x:4*x+3])
		}
	}
	return out, nil
}

// opaque reports whether every alpha of m is 255, when premultiplied and
// straight colour agree.
func opaque(m *image.RGBA) bool {
	for y := m.Rect.Min.Y; y < m.Rect.Max.Y; y++ {
		row := m.Pix[(y-m.Rect.Min.Y)*m.Stride:]
		for x := 0; x < m.Rect.Dx(); x++ {
			if row[4*x+3] != 255 {
				return false
			}
		}
	}
	return true
}
