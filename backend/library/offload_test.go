package library

import "testing"

func TestOffloadLayers(t *testing.T) {
	m := Meta{VocabSize: 32000, ContextLength: 4096,
		HParams: HParams{Layers: 32, Embd: 4096, Heads: 32, HeadsKV: 8, KeyLength: 128, ValueLength: 128}}
	const size = 4 << 30
	whole := EstimateFit(m, size, 4096, 2, -1).Total
	cases := []struct {
		free int64
		want func(int) bool
	}{
		{0, func(n int) bool { return n == 0 }},
		{whole * 2, func(n int) bool { return n == 33 }},
		{whole / 2, func(n int) bool { return n > 8 && n < 24 }},
		{64 << 20, func(n int) bool { return n == 0 }}, // the buffers alone
	}
	for _, c := range cases {
		if got := OffloadLayers(m, size, 4096, 2, c.free); !c.want(got) {
			t.Errorf("%d bytes free: %d layers", c.free, got)
		}
	}
	if got := OffloadLayers(Meta{}, size, 4096, 2, whole); got != 0 {
		t.Errorf("no layer count: %d layers", got)
	}
	half, more := OffloadLayers(m, size, 4096, 2, whole/2), OffloadLayers(m, size, 4096, 2, whole*3/4)
	if more <= half {
		t.Errorf("more memory, fewer layers: %d then %d", half, more)
	}
}
