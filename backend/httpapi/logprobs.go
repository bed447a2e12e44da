package httpapi

import (
	"bytes"
	"encoding/json"

	"inferenceruntime/inference"
	"inferenceruntime/inference/sample"
)

// logprobsFlag is OpenAI's "logprobs": true or false in chat completions,
// the number of alternatives (an integer) in text completions.
type logprobsFlag struct {
	on bool
	n  *int
}

func (f *logprobsFlag) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	var on bool
	if bytes.Equal(data, []byte("null")) || json.Unmarshal(data, &on) == nil {
		f.on = on
		return nil
	}
	var n int
	if err := json.Unmarshal(data, &n); err != nil {
		return &fieldError{"logprobs", "expected true, false or a number of alternatives"}
	}
	f.on, f.n = true, &n
	return nil
}

// logprobsWanted checks a request's logprobs fields and returns whether it
// asks for them and how many alternatives.
func logprobsWanted(on bool, top *int, topField string) (bool, int, error) {
	if top == nil {
		return on, 0, nil
	}
	if err := intInRange(topField, top, 0, sample.MaxTopLogprobs); err != nil {
		return false, 0, err
	}
	if !on {
		return false, 0, badRequest(topField, "needs logprobs to be set")
	}
	return true, *top, nil
}

// logprobsCollector holds the logprobs of tokens whose text has not been
// sent yet: a stream chunk carries those of the tokens it completes.
type logprobsCollector struct{ pending []inference.Logprobs }

func (c *logprobsCollector) add(lp inference.Logprobs) { c.pending = append(c.pending, lp) }

func (c *logprobsCollector) take() []inference.Logprobs {
	p := c.pending
	c.pending = nil
	return p
}

// tokenLogprob is one token in OpenAI's chat and Ollama's shape.
type tokenLogprob struct {
	Token       string         `json:"token"`
	Logprob     float64        `json:"logprob"`
	Bytes       []int          `json:"bytes"`
	TopLogprobs []tokenLogprob `json:"top_logprobs,omitempty"`
}

func oneLogprob(l inference.Logprob) tokenLogprob {
	b := make([]int, len(l.Text))
	for i := range len(l.Text) {
		b[i] = int(l.Text[i])
	}
	return tokenLogprob{Token: l.Text, Logprob: finiteLogprob(l.Logprob), Bytes: b}
}

// finiteLogprob keeps JSON valid: -Inf (a token a constraint ruled out)
// becomes the lowest float32.
func finiteLogprob(v float32) float64 {
	if v < -3.4e38 {
		return -3.4e38
	}
	return float64(v)
}

// tokenLogprobs converts lps; the top list is empty, not absent, when the
// request asked for no alternatives.
func tokenLogprobs(lps []inference.Logprobs) []tokenLogprob {
	out := make([]tokenLogprob, len(lps))
	for i, lp := range lps {
		out[i] = oneLogprob(lp.Token)
		out[i].TopLogprobs = []tokenLogprob{}
		for _, t := range lp.Top {
			out[i].TopLogprobs = append(out[i].TopLogprobs, oneLogprob(t))
		}
	}
	return out
}

// chatLogprobs is a chat choice's "logprobs" (nil when none were asked).
func chatLogprobs(lps []inference.Logprobs) any {
	if lps == nil {
		return nil
	}
	return map[string]any{"content": tokenLogprobs(lps), "refusal": nil}
}

// completionLogprobs is a text completion choice's "logprobs": parallel
// lists of tokens, their logprobs, their alternatives and text offsets.
func completionLogprobs(lps []inference.Logprobs, offset int) any {
	if lps == nil {
		return nil
	}
	tokens, values, tops, offsets := []string{}, []float64{}, []map[string]float64{}, []int{}
	for _, lp := range lps {
		tokens = append(tokens, lp.Token.Text)
		values = append(values, finiteLogprob(lp.Token.Logprob))
		top := map[string]float64{}
		for _, t := range lp.Top {
			top[t.Text] = finiteLogprob(t.Logprob)
		}
		tops = append(tops, top)
		offsets = append(offsets, offset)
		offset += len(lp.Token.Text)
	}
	return map[string]any{"tokens": tokens, "token_logprobs": values, "top_logprobs": tops, "text_offset": offsets}
}
