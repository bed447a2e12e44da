package modelfile

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Parameters are a model's PARAMETER values: the defaults its chats and
// generations start from, which a request's own options override. A nil
// field is not set. The JSON names are Ollama's option names.
type Parameters struct {
	Temperature      *float64 `json:"temperature,omitempty"`
	TopK             *int     `json:"top_k,omitempty"`
	TopP             *float64 `json:"top_p,omitempty"`
	MinP             *float64 `json:"min_p,omitempty"`
	RepeatPenalty    *float64 `json:"repeat_penalty,omitempty"`
	RepeatLastN      *int     `json:"repeat_last_n,omitempty"`
	PresencePenalty  *float64 `json:"presence_penalty,omitempty"`
	FrequencyPenalty *float64 `json:"frequency_penalty,omitempty"`
	Seed             *int64   `json:"seed,omitempty"`
	NumPredict       *int     `json:"num_predict,omitempty"`
	NumCtx           *int     `json:"num_ctx,omitempty"`
	NumGPU           *int     `json:"num_gpu,omitempty"` // layers on the GPU: -1 as many as fit, 0 none
	Stop             []string `json:"stop,omitempty"`
}

// param describes one parameter: how to set it from text and read it back.
type param struct {
	name   string
	lo, hi float64
	isInt  bool
	f      func(p *Parameters) **float64
	i      func(p *Parameters) **int
}

// params is every parameter we support, in the order Format writes them.
// The ranges are the ones the HTTP API accepts, so a model can never carry
// a value a request could not.
var params = []param{
	{name: "temperature", lo: 0, hi: 100, f: func(p *Parameters) **float64 { return &p.Temperature }},
	{name: "top_k", lo: 0, hi: 1 << 20, isInt: true, i: func(p *Parameters) **int { return &p.TopK }},
	{name: "top_p", lo: 0, hi: 1, f: func(p *Parameters) **float64 { return &p.TopP }},
	{name: "min_p", lo: 0, hi: 1, f: func(p *Parameters) **float64 { return &p.MinP }},
	{name: "repeat_penalty", lo: 0, hi: 100, f: func(p *Parameters) **float64 { return &p.RepeatPenalty }},
	{name: "repeat_last_n", lo: -1, hi: 1 << 20, isInt: true, i: func(p *Parameters) **int { return &p.RepeatLastN }},
	{name: "presence_penalty", lo: -2, hi: 2, f: func(p *Parameters) **float64 { return &p.PresencePenalty }},
	{name: "frequency_penalty", lo: -2, hi: 2, f: func(p *Parameters) **float64 { return &p.FrequencyPenalty }},
	{name: "num_predict", lo: -2, hi: math.MaxInt32, isInt: true, i: func(p *Parameters) **int { return &p.NumPredict }},
	{name: "num_ctx", lo: 1, hi: 1 << 20, isInt: true, i: func(p *Parameters) **int { return &p.NumCtx }},
	{name: "num_gpu", lo: -1, hi: 1 << 20, isInt: true, i: func(p *Parameters) **int { return &p.NumGPU }},
}

// Ollama parameters this runtime has no use for; naming them says so
// instead of calling them unknown.
var unsupported = map[string]bool{
	"mirostat": true, "mirostat_eta": true, "mirostat_tau": true, "tfs_z": true, "typical_p": true,
	"num_thread": true, "num_batch": true, "num_keep": true, "penalize_newline": true,
	"use_mmap": true, "use_mlock": true, "numa": true, "main_gpu": true, "low_vram": true, "vocab_only": true,
}

func findParam(name string) (param, bool) {
	for _, p := range params {
		if p.name == name {
			return p, true
		}
	}
	return param{}, false
}

// Names lists the supported parameter names.
func Names() []string {
	out := []string{}
	for _, p := range params {
		out = append(out, p.name)
	}
	return append(out, "seed", "stop")
}

func unknownParam(name string) error {
	if unsupported[name] {
		return fmt.Errorf("parameter %q is not supported by this runtime (supported: %s)", name, strings.Join(Names(), ", "))
	}
	return fmt.Errorf("unknown parameter %q (supported: %s)", name, strings.Join(Names(), ", "))
}

// Set sets the parameter name from its Modelfile text. stop adds a stop
// string each time; the others replace.
func (ps *Parameters) Set(name, value string) error {
	name = strings.ToLower(name)
	switch name {
	case "stop":
		if value == "" {
			return fmt.Errorf("parameter stop: empty stop string")
		}
		ps.Stop = append(ps.Stop, value)
		return nil
	case "seed":
		v, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return fmt.Errorf("parameter seed: %q is not an integer", value)
		}
		ps.Seed = &v
		return nil
	}
	p, ok := findParam(name)
	if !ok {
		return unknownParam(name)
	}
	v, err := strconv.ParseFloat(value, 64)
	if err != nil || math.IsNaN(v) {
		return fmt.Errorf("parameter %s: %q is not a number", name, value)
	}
	return p.set(ps, v)
}

func (p param) set(ps *Parameters, v float64) error {
	if v < p.lo || v > p.hi || math.IsNaN(v) {
		return fmt.Errorf("parameter %s: %v is out of range [%v, %v]", p.name, v, p.lo, p.hi)
	}
	if p.isInt {
		if v != math.Trunc(v) {
			return fmt.Errorf("parameter %s: %v is not an integer", p.name, v)
		}
		n := int(v)
		*p.i(ps) = &n
		return nil
	}
	*p.f(ps) = &v
	return nil
}

// SetJSON sets the parameter name from a JSON value (Ollama's /api/create
// "parameters" object): a number, or for stop a string or list of strings.
func (ps *Parameters) SetJSON(name string, raw json.RawMessage) error {
	name = strings.ToLower(name)
	switch name {
	case "stop":
		var list []string
		if err := json.Unmarshal(raw, &list); err != nil {
			var one string
			if err := json.Unmarshal(raw, &one); err != nil {
				return fmt.Errorf("parameter stop: want a string or a list of strings")
			}
			list = []string{one}
		}
		for _, s := range list {
			if err := ps.Set("stop", s); err != nil {
				return err
			}
		}
		return nil
	case "seed":
		var v int64
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("parameter seed: want an integer")
		}
		ps.Seed = &v
		return nil
	}
	p, ok := findParam(name)
	if !ok {
		return unknownParam(name)
	}
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil {
		return fmt.Errorf("parameter %s: want a number", name)
	}
	return p.set(ps, v)
}

// Merge sets every parameter o sets; o's stop strings replace ps's.
func (ps *Parameters) Merge(o Parameters) {
	for _, p := range params {
		if p.isInt {
			if v := *p.i(&o); v != nil {
				*p.i(ps) = v
			}
		} else if v := *p.f(&o); v != nil {
			*p.f(ps) = v
		}
	}
	if o.Seed != nil {
		ps.Seed = o.Seed
	}
	if o.Stop != nil {
		ps.Stop = o.Stop
	}
}

// Lines are the parameters as "name value" lines, in a fixed order, the
// way Ollama's /api/show reports them.
func (ps Parameters) Lines() []string {
	var out []string
	for _, p := range params {
		if p.isInt {
			if v := *p.i(&ps); v != nil {
				out = append(out, fmt.Sprintf("%s %d", p.name, *v))
			}
		} else if v := *p.f(&ps); v != nil {
			out = append(out, fmt.Sprintf("%s %s", p.name, strconv.FormatFloat(*v, 'g', -1, 64)))
		}
	}
	if ps.Seed != nil {
		out = append(out, fmt.Sprintf("seed %d", *ps.Seed))
	}
	for _, s := range ps.Stop {
		out = append(out, "stop "+quote(s))
	}
	return out
}

// Map is the parameters as Ollama's JSON "parameters" object.
func (ps Parameters) Map() map[string]any {
	b, _ := json.Marshal(ps)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// Empty reports whether no parameter is set.
func (ps Parameters) Empty() bool { return len(ps.Lines()) == 0 }
