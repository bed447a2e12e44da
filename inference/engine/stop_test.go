package engine

import (
	"fmt"
	"strings"
	"testing"

	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/model/synth"
	"inferenceruntime/inference/tokenizer"
)

// tinyTokenizer is the byte-fallback vocabulary of the synthetic tiny model.
func tinyTokenizer(t *testing.T) *tokenizer.Tokenizer {
	t.Helper()
	s, _ := synth.ShapeByName("tiny")
	p, err := synth.NewPlan(s, "F32")
	if err != nil {
		t.Fatal(err)
	}
	data, err := p.Bytes(1)
	if err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestStopFilter feeds a text byte by byte (the worst case for held-back
// text: every multi-byte character and every stop string spans tokens) and
// checks what is emitted.
func TestStopFilter(t *testing.T) {
	tok := tinyTokenizer(t)
	byteID := func(b byte) int32 {
		id, ok := tok.TokenID(fmt.Sprintf("<0x%02X>", b))
		if !ok {
			t.Fatalf("no byte token for %#x", b)
		}
		return id
	}
	tests := []struct {
		text   string
		stops  []string
		want   string
		hit    bool
		maxLag int // most bytes ever held back
	}{
		{"hello world", nil, "hello world", false, 0},
		{"hello world", []string{"wor"}, "hello ", true, 2},
		{"hello world", []string{"xyz"}, "hello world", false, 0},
		{"a<|end|>b", []string{"<|end|>"}, "a", true, 6},
		{"ab<|en", []string{"<|end|>"}, "ab<|en", false, 4}, // released by the final flush
		{"日本語です", []string{"です"}, "日本語", true, 5},
		{"ééé", []string{"xé"}, "ééé", false, 1},
		{"stop at start", []string{"stop"}, "", true, 3},
		{"two stops: B then A", []string{"A", "B"}, "two stops: ", true, 0},
	}
	for _, tc := range tests {
		f := newStopFilter(tok, tc.stops)
		var out strings.Builder
		hit := false
		lag := 0
		for i := 0; i < len(tc.text) && !hit; i++ {
			var text string
			text, hit = f.add(byteID(tc.text[i]))
			out.WriteString(text)
			lag = max(lag, i+1-out.Len())
		}
		if !hit {
			out.WriteString(f.flush())
		}
		if out.String() != tc.want || hit != tc.hit {
			t.Errorf("%q stops %q: emitted %q (hit %v), want %q (hit %v)", tc.text, tc.stops, out.String(), hit, tc.want, tc.hit)
		}
		if !hit && lag > tc.maxLag {
			t.Errorf("%q stops %q: held back up to %d bytes, want at most %d", tc.text, tc.stops, lag, tc.maxLag)
		}
	}
}
