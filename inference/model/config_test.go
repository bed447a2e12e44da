package model

import "testing"

// TestPatternSliding checks llama.cpp's set_swa_pattern rule (layer l
// slides when l % period < period-1) and per-layer flags.
func TestPatternSliding(t *testing.T) {
	for _, c := range []struct {
		name string
		p    Pattern
		def  int
		want []bool
	}{
		{"absent, gemma3 default 6", Pattern{}, 6, []bool{true, true, true, true, true, false, true}},
		{"period 2 (gemma2)", Pattern{Period: 2}, 6, []bool{true, false, true, false}},
		{"period 1: none slide", Pattern{Period: 1}, 6, []bool{false, false}},
		{"flags", Pattern{Layers: []bool{false, true, true}}, 6, []bool{false, true, true, false}},
		{"absent, no default", Pattern{}, 0, []bool{false, false}},
	} {
		for l, want := range c.want {
			if got := c.p.Sliding(l, c.def); got != want {
				t.Errorf("%s: layer %d slides %v, want %v", c.name, l, got, want)
			}
		}
	}
}
