package vision

import (
	"fmt"

	"inferenceruntime/inference/gguf"
)

// tokenCounts says, per projector type, how many vectors one image becomes,
// from the header alone: a server must refuse a prompt that cannot fit
// before it queues the request, long before the encoder runs.
var tokenCounts = map[string]func(c *Config) int{
	"gemma3": func(c *Config) int {
		k := c.ScaleFactor
		if k == 0 {
			k = 4 // as newGemma3 assumes for files without the key
		}
		side := c.Grid() / k
		return side * side
	},
}

// ImageTokens reads a projector file's header and returns how many
// positions one image takes in the text model, not counting the text the
// projector wraps it in (Projector.Wrap).
func ImageTokens(path string) (int, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return 0, fmt.Errorf("vision: %w", err)
	}
	defer f.Close()
	c, err := ReadConfig(f)
	if err != nil {
		return 0, err
	}
	if count, ok := tokenCounts[c.ProjectorType]; ok {
		return count(&c), nil
	}
	return c.Patches(), nil // no pooling: one vector per patch
}
