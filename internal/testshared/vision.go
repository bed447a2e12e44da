package testshared

import "testing"

// VisionFiles are the shared vision fixtures.
type VisionFiles struct {
	Model     string // tiny Gemma 3, F32
	Projector string // its projector, F32
	Image     string // a 40x28 PNG
}

// Vision returns the tiny Gemma 3 with its projector and an image, or skips
// the test when ../shared lacks them.
func Vision(t testing.TB) VisionFiles {
	t.Helper()
	f := VisionFiles{
		Model:     Dir(t, "models", "conf-tiny", "tiny-gemma3-f32.gguf"),
		Projector: Dir(t, "models", "vision", "tiny-gemma3-mmproj-f32.gguf"),
		Image:     Dir(t, "models", "vision", "img1-40x28.png"),
	}
	return f
}
