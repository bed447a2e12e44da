package vision

import (
	"fmt"
	"math"
)

// Preprocess turns an image into the encoder's input as llama.cpp's
// fixed-size preprocessor does: an image that is not S x S is resized with
// its aspect ratio kept, by llama.cpp's own bilinear filter (truncating to
// uint8), and pasted centred on a black S x S canvas; then every channel
// becomes (u8/255 - mean) / std. The result is float32 [3][S][S], planes R,
// G, B. The arithmetic is float32 step by step like the C++, so that the
// pixels agree bit for bit.
func Preprocess(img *RGB, c *Config) ([]float32, error) {
	s := c.ImageSize
	if img == nil || img.W <= 0 || img.H <= 0 || len(img.Pix) != 3*img.W*img.H {
		return nil, fmt.Errorf("%w: no pixels", ErrImage)
	}
	canvas := img
	if img.W != s || img.H != s {
		scale := min(float32(s)/float32(img.W), float32(s)/float32(img.H))
		nw := min(int(math.Ceil(float64(float32(img.W)*scale))), s)
		nh := min(int(math.Ceil(float64(float32(img.H)*scale))), s)
		nw, nh = max(nw, 1), max(nh, 1)
		resized := resizeBilinear(img, nw, nh)
		canvas = &RGB{W: s, H: s, Pix: make([]byte, 3*s*s)} // black
		ox, oy := (s-nw)/2, (s-nh)/2
		for y := 0; y < nh; y++ {
			copy(canvas.Pix[3*((y+oy)*s+ox):], resized.Pix[3*y*nw:3*(y+1)*nw])
		}
	}
	out := make([]float32, 3*s*s)
	for c3 := 0; c3 < 3; c3++ {
		mean, std := c.ImageMean[c3], c.ImageStd[c3]
		plane := out[c3*s*s : (c3+1)*s*s]
		for i := range plane {
			v := float32(canvas.Pix[3*i+c3]) / 255
			plane[i] = float32(v-mean) / std
		}
	}
	return out, nil
}

// resizeBilinear is llama.cpp's bilinear resize: corners aligned, float32
// ratios and interpolation, the result truncated (not rounded) to uint8.
func resizeBilinear(src *RGB, w, h int) *RGB {
	dst := &RGB{W: w, H: h, Pix: make([]byte, 3*w*h)}
	var xr, yr float32
	if w > 1 {
		xr = float32(src.W-1) / float32(w-1)
	}
	if h > 1 {
		yr = float32(src.H-1) / float32(h-1)
	}
	for y := 0; y < h; y++ {
		py := float32(y) * yr
		y0 := min(int(py), src.H-1)
		y1 := min(y0+1, src.H-1)
		yf := py - float32(y0)
		for x := 0; x < w; x++ {
			px := float32(x) * xr
			x0 := min(int(px), src.W-1)
			x1 := min(x0+1, src.W-1)
			xf := px - float32(x0)
			for c := 0; c < 3; c++ {
				top := lerp(float32(src.at(x0, y0, c)), float32(src.at(x1, y0, c)), xf)
				bottom := lerp(float32(src.at(x0, y1, c)), float32(src.at(x1, y1, c)), xf)
				dst.Pix[3*(y*w+x)+c] = byte(lerp(top, bottom, yf))
			}
		}
	}
	return dst
}

// lerp is a + (b-a)*t in float32, rounded after the product like the C++
// (no fused multiply-add).
func lerp(a, b, t float32) float32 {
	return a + float32((b-a)*t)
}
