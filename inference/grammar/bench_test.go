package grammar

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"inferenceruntime/inference/sample"
	"inferenceruntime/inference/tokenizer"
)

// benchVocab is a vocabulary of Qwen2's size (151,936): the byte tokens,
// JSON punctuation pairs, numbers, and letter strings with and without a
// leading space, as a BPE vocabulary mostly is.
func benchVocab(b *testing.B) *tokenizer.Tokenizer {
	const n = 151936
	tokens := []string{"<unk>", "<s>", "</s>"}
	types := []int32{2, 3, 3}
	for c := range 256 {
		tokens = append(tokens, fmt.Sprintf("<0x%02X>", c))
		types = append(types, 6)
	}
	seen := map[string]bool{}
	add := func(s string) {
		if len(tokens) < n && !seen[s] {
			seen[s] = true
			tokens = append(tokens, s)
			types = append(types, 1)
		}
	}
	for _, s := range []string{"{", "}", "[", "]", ":", ",", `"`, `{"`, `":`, `",`, `"}`, `":"`, `","`, `"]`, `["`, "▁", "▁{", "▁\""} {
		add(s)
	}
	for i := range 1000 {
		add(fmt.Sprint(i))
	}
	const letters = "etaoinshrdlcumwfgypbvkjxqz"
	level := []string{""}
	for len(tokens) < n {
		var next []string
		for _, p := range level {
			for _, c := range letters + strings.ToUpper(letters[:6]) {
				next = append(next, p+string(c))
			}
		}
		for _, s := range next {
			add("▁" + s)
			add(s)
		}
		level = next
	}
	tok, err := tokenizer.New(tokenizer.Vocab{Model: "llama", Tokens: tokens, Types: types,
		IDs: map[string]int64{"bos": 1, "eos": 2, "unk": 0}})
	if err != nil {
		b.Fatal(err)
	}
	return tok
}

const benchSchema = `{"type": "object", "properties": {
	"name": {"type": "string", "maxLength": 40},
	"age": {"type": "integer", "minimum": 0, "maximum": 120},
	"tags": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
	"address": {"type": "object", "properties": {"city": {"type": "string"}, "zip": {"type": "string"}}, "required": ["city"]}
}, "required": ["name", "age", "tags", "address"]}`

// BenchmarkGrammarPerToken measures what constrained sampling adds per
// token on a 151,936-token vocabulary: logits drawn at random (what a
// random-weight model gives, the grammar's worst case: the favourite token
// rarely fits) run through the unconstrained sampler and through the
// grammar, greedy and with the usual top-k 40 / temperature 0.8 chain.
// Compare the ns/token against the model's decode time per token.
func BenchmarkGrammarPerToken(b *testing.B) {
	tok := benchVocab(b)
	g, err := CompileJSONSchema([]byte(benchSchema))
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const rows = 64
	logits := make([][]float32, rows)
	for i := range logits {
		logits[i] = make([]float32, tok.VocabSize())
		for j := range logits[i] {
			logits[i][j] = float32(rng.NormFloat64() * 3)
		}
	}
	tableFor(tok) // built once per model, not per request
	for _, mode := range []struct {
		name string
		p    sample.Params
	}{{"greedy", sample.Params{Temperature: 0}}, {"topk40", sample.DefaultParams()}} {
		b.Run("free-"+mode.name, func(b *testing.B) {
			s := sample.New(mode.p)
			for i := 0; b.Loop(); i++ {
				s.Sample(logits[i%rows])
			}
		})
		b.Run("grammar-"+mode.name, func(b *testing.B) {
			s := sample.New(mode.p)
			var c *Constraint
			var tokens, outputs int
			start := time.Now()
			for i := 0; b.Loop(); i++ {
				if c == nil || c.Complete() {
					if c, err = NewConstraint(g, tok); err != nil {
						b.Fatal(err)
					}
					outputs++
				}
				c.SetBudget(200 - tokens%200)
				id := s.SampleConstrained(logits[i%rows], c)
				if id < 0 {
					b.Fatalf("no token allowed")
				}
				if tok.IsEOG(id) {
					c = nil
					continue
				}
				if err := c.Accept(id); err != nil {
					b.Fatal(err)
				}
				tokens++
			}
			b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(max(tokens, 1)), "ns/gen-token")
		})
	}
}
