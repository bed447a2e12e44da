package ref

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"inferenceruntime/internal/testshared"
)

// This file is the shared conformance suite: the llama.cpp reference outputs
// in ../shared/models, and the comparison rules of its MANIFEST. The oracle
// (this package) and every engine backend are checked with the same code.

// Case is one reference run: a model, the tokens to feed and the logits
// llama.cpp produced for them.
type Case struct {
	Name      string  // e.g. "tiny-qwen2-Q8_0.p2"
	ModelPath string  // the .gguf file
	Tokens    []int32 // prompt_ids + greedy_ids[:-1]: teacher forcing
	NVocab    int
	Tol       Tolerance
	Adapters  []LoRA // LoRA adapters applied (the lora/ references)
	logits    string
}

// LoRA is an adapter file of a reference run and its scale.
type LoRA struct {
	Path  string
	Scale float32
}

// Tolerance is the MANIFEST's bound for one kind of weights.
type Tolerance struct {
	MaxAbs float64 // largest allowed |Δlogit| on any row
	MinGap float64 // argmax must agree on rows whose reference top1-top2 gap is at least this
}

// ToleranceFor returns the bound for a model file by its weight type suffix:
// F32, F16/BF16, or any quantized type.
func ToleranceFor(modelFile string) Tolerance {
	base := strings.TrimSuffix(filepath.Base(modelFile), ".gguf")
	switch {
	case strings.HasSuffix(base, "-f32") || strings.HasSuffix(base, "-F32"):
		return Tolerance{MaxAbs: 3e-2, MinGap: 1e-2}
	case strings.HasSuffix(base, "-F16") || strings.HasSuffix(base, "-BF16"):
		return Tolerance{MaxAbs: 5e-2, MinGap: 1e-2}
	default:
		return Tolerance{MaxAbs: 1.0, MinGap: 0.5}
	}
}

// ConformanceModels are the reference models of the llama and qwen2
// families, relative to the shared models directory.
var ConformanceModels = []string{
	"stories260K-f32", "stories260K-F16", "stories260K-Q8_0", "stories260K-Q4_0",
	"conf-tiny/tiny-llama-f32", "conf-tiny/tiny-llama-Q8_0", "conf-tiny/tiny-llama-Q4_0",
	"conf-tiny/tiny-llama3-f32", "conf-tiny/tiny-llama3-Q8_0", "conf-tiny/tiny-llama3-Q4_0",
	"conf-tiny/tiny-qwen2-f32", "conf-tiny/tiny-qwen2-Q8_0", "conf-tiny/tiny-qwen2-Q4_0",
}

// FamilyModels are the reference models of the families added after llama
// and qwen2 (one per architecture, in F32, Q8_0 and Q4_0), in the same form
// as ConformanceModels.
var FamilyModels = familyModels("phi3", "gemma", "gemma2", "gemma3", "qwen3", "qwen3moe")

func familyModels(archs ...string) []string {
	var models []string
	for _, a := range archs {
		for _, w := range []string{"f32", "Q8_0", "Q4_0"} {
			models = append(models, "conf-tiny/tiny-"+a+"-"+w)
		}
	}
	return models
}

// Cases loads every reference run of ConformanceModels from dir (the
// shared models directory).
func Cases(dir string) ([]Case, error) {
	return CasesOf(dir, ConformanceModels)
}

// CasesOf loads every reference run (both prompts) of models from dir.
func CasesOf(dir string, models []string) ([]Case, error) {
	var cases []Case
	for _, m := range models {
		refDir := filepath.Join(dir, filepath.Dir(m), "ref")
		base := filepath.Base(m)
		for _, p := range []string{"p1", "p2"} {
			c, err := loadCase(filepath.Join(dir, m+".gguf"), filepath.Join(refDir, base+"."+p))
			if err != nil {
				return nil, err
			}
			cases = append(cases, c)
		}
	}
	return cases, nil
}

func loadCase(model, stem string) (Case, error) {
	raw, err := os.ReadFile(stem + ".json")
	if err != nil {
		return Case{}, err
	}
	var j struct {
		NVocab    int     `json:"n_vocab"`
		PromptIDs []int32 `json:"prompt_ids"`
		GreedyIDs []int32 `json:"greedy_ids"`
	}
	if err := json.Unmarshal(raw, &j); err != nil {
		return Case{}, fmt.Errorf("%s.json: %w", stem, err)
	}
	if len(j.GreedyIDs) == 0 || j.NVocab <= 0 {
		return Case{}, fmt.Errorf("%s.json: no greedy ids or vocabulary size", stem)
	}
	tokens := append(append([]int32{}, j.PromptIDs...), j.GreedyIDs[:len(j.GreedyIDs)-1]...)
	return Case{
		Name: filepath.Base(stem), ModelPath: model, Tokens: tokens, NVocab: j.NVocab,
		Tol: ToleranceFor(model), logits: stem + ".logits.f32",
	}, nil
}

// Reference reads the reference logits: len(Tokens) rows of NVocab.
func (c Case) Reference() ([]float32, error) {
	raw, err := os.ReadFile(c.logits)
	if err != nil {
		return nil, err
	}
	if len(raw) != 4*len(c.Tokens)*c.NVocab {
		return nil, fmt.Errorf("%s: %d bytes, want %d rows of %d floats", c.logits, len(raw), len(c.Tokens), c.NVocab)
	}
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out, nil
}

// Result summarizes a comparison of logits with the reference.
type Result struct {
	MaxAbs         float64 // largest |Δlogit| over all rows
	WorstRow       int     // row of MaxAbs
	ArgmaxRows     int     // rows whose reference gap is large enough to require agreement
	ArgmaxAgree    int     // of those, rows where the argmax agrees
	ArgmaxAllAgree int     // rows (of all) where the argmax agrees
	Rows           int
}

// OK reports whether r is within tol.
func (r Result) OK(tol Tolerance) bool {
	return r.MaxAbs <= tol.MaxAbs && r.ArgmaxAgree == r.ArgmaxRows
}

// String prints the figures of a comparison.
func (r Result) String() string {
	return fmt.Sprintf("max|Δ|=%.3g (row %d) argmax %d/%d required rows, %d/%d all rows",
		r.MaxAbs, r.WorstRow, r.ArgmaxAgree, r.ArgmaxRows, r.ArgmaxAllAgree, r.Rows)
}

// Compare checks got against want, both rows of nVocab logits.
func Compare(got, want []float32, nVocab int, tol Tolerance) (Result, error) {
	if len(got) != len(want) || nVocab <= 0 || len(want)%nVocab != 0 {
		return Result{}, fmt.Errorf("logits: got %d values, want %d (rows of %d)", len(got), len(want), nVocab)
	}
	var r Result
	r.Rows = len(want) / nVocab
	for row := range r.Rows {
		g, w := got[row*nVocab:][:nVocab], want[row*nVocab:][:nVocab]
		for i := range w {
			d := math.Abs(float64(g[i]) - float64(w[i]))
			if d > r.MaxAbs || math.IsNaN(d) {
				r.MaxAbs, r.WorstRow = d, row
				if math.IsNaN(d) {
					r.MaxAbs = math.Inf(1)
				}
			}
		}
		wantTop, gap := topTwoGap(w)
		agree := argmax(g) == wantTop
		if agree {
			r.ArgmaxAllAgree++
		}
		if gap >= tol.MinGap {
			r.ArgmaxRows++
			if agree {
				r.ArgmaxAgree++
			}
		}
	}
	return r, nil
}

// argmax returns the index of the largest value (lowest index on ties).
func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// topTwoGap returns the argmax and the gap between the top two values.
func topTwoGap(x []float32) (int, float64) {
	best := argmax(x)
	second := math.Inf(-1)
	for i, v := range x {
		if i != best && float64(v) > second {
			second = float64(v)
		}
	}
	return best, float64(x[best]) - second
}

// CheckCases runs every reference case of ConformanceModels through eval,
// which returns all rows of logits for c.Tokens, and checks them against the
// MANIFEST tolerances. It skips t when the shared models are absent.
func CheckCases(t *testing.T, eval func(t *testing.T, c Case) []float32) {
	CheckModels(t, ConformanceModels, eval)
}

// CheckModels is CheckCases for the given models (e.g. FamilyModels).
func CheckModels(t *testing.T, models []string, eval func(t *testing.T, c Case) []float32) {
	cases, err := CasesOf(testshared.Dir(t, "models"), models)
	if err != nil {
		t.Fatal(err)
	}
	check(t, cases, eval)
}

// LoRACases loads the reference runs with LoRA adapters of dir/lora: the
// base model, the adapters with their scales, and the tolerance of the
// base's weight type.
func LoRACases(dir string) ([]Case, error) {
	stems, _ := filepath.Glob(filepath.Join(dir, "lora", "*.p?.json"))
	if len(stems) == 0 {
		return nil, fmt.Errorf("no LoRA references in %s", filepath.Join(dir, "lora"))
	}
	var cases []Case
	for _, js := range stems {
		stem := strings.TrimSuffix(js, ".json")
		raw, err := os.ReadFile(js)
		if err != nil {
			return nil, err
		}
		var j struct {
			Model    string `json:"model"`
			Adapters []struct {
				File  string  `json:"file"`
				Scale float32 `json:"scale"`
			} `json:"lora_adapters"`
		}
		if err := json.Unmarshal(raw, &j); err != nil {
			return nil, fmt.Errorf("%s: %w", js, err)
		}
		c, err := loadCase(filepath.Join(dir, "conf-tiny", j.Model), stem)
		if err != nil {
			return nil, err
		}
		for _, a := range j.Adapters {
			c.Adapters = append(c.Adapters, LoRA{Path: filepath.Join(dir, "lora", a.File), Scale: a.Scale})
		}
		cases = append(cases, c)
	}
	return cases, nil
}

// CheckLoRA is CheckCases for the references with LoRA adapters.
func CheckLoRA(t *testing.T, eval func(t *testing.T, c Case) []float32) {
	cases, err := LoRACases(testshared.Dir(t, "models"))
	if err != nil {
		t.Fatal(err)
	}
	check(t, cases, eval)
}

// check evaluates every case and compares it with its reference.
func check(t *testing.T, cases []Case, eval func(t *testing.T, c Case) []float32) {
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			got := eval(t, c)
			want, err := c.Reference()
			if err != nil {
				t.Fatal(err)
			}
			r, err := Compare(got, want, c.NVocab, c.Tol)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %s", c.Name, r)
			if !r.OK(c.Tol) {
				t.Errorf("%s outside tolerance (max %.3g, argmax on gap >= %.3g): %s", c.Name, c.Tol.MaxAbs, c.Tol.MinGap, r)
			}
		})
	}
}
