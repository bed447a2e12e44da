package httpapi

import (
	"math"

	"inferenceruntime/backend/service"
	"inferenceruntime/inference/sample"
)

// Limits on request values; past them a request is refused as absurd
// rather than clamped, so a client learns about its mistake.
const (
	maxStops      = 16
	maxStopLen    = 256
	maxNumCtx     = 1 << 20
	maxTopK       = 1 << 20
	maxRepeatLast = 1 << 20
	maxNumGPU     = 1 << 20
)

// params are the sampling and length settings of a request, in neutral
// form; names holds the dialect's field name for each, for messages.
type params struct {
	temperature, topP, minP, repeatPenalty, presence, frequency *float64
	topK, repeatLastN, maxTokens, numCtx, numGPU                *int
	seed                                                        *int64
	stop                                                        []string
	useMmap, useMlock                                           *bool // Ollama's only
}

// fieldNames are the dialect's names of params' fields.
type fieldNames struct {
	temperature, topP, minP, repeatPenalty, presence, frequency string
	topK, repeatLastN, maxTokens, numCtx, numGPU, seed, stop    string
}

var ollamaFields = fieldNames{
	temperature: "options.temperature", topP: "options.top_p", minP: "options.min_p",
	repeatPenalty: "options.repeat_penalty", presence: "options.presence_penalty",
	frequency: "options.frequency_penalty", topK: "options.top_k", repeatLastN: "options.repeat_last_n",
	maxTokens: "options.num_predict", numCtx: "options.num_ctx", numGPU: "options.num_gpu", seed: "options.seed",
	stop: "options.stop",
}

var openaiFields = fieldNames{
	temperature: "temperature", topP: "top_p", minP: "min_p", repeatPenalty: "repeat_penalty",
	presence: "presence_penalty", frequency: "frequency_penalty", topK: "top_k", repeatLastN: "repeat_last_n",
	maxTokens: "max_tokens", numCtx: "num_ctx", numGPU: "num_gpu", seed: "seed", stop: "stop",
}

// inRange checks an optional number.
func inRange(field string, v *float64, lo, hi float64) error {
	if v == nil {
		return nil
	}
	if math.IsNaN(*v) || math.IsInf(*v, 0) || *v < lo || *v > hi {
		return badRequest(field, "%v is out of range [%v, %v]", *v, lo, hi)
	}
	return nil
}

func intInRange(field string, v *int, lo, hi int) error {
	if v == nil {
		return nil
	}
	if *v < lo || *v > hi {
		return badRequest(field, "%d is out of range [%d, %d]", *v, lo, hi)
	}
	return nil
}

// options validates p and turns it into the runner's options, starting
// from base (each dialect has its own defaults). maxTemp is the dialect's
// temperature ceiling; minMax the least accepted max-tokens value (Ollama
// allows -1 and -2 for "no limit").
func (p params) options(f fieldNames, base sample.Params, maxTemp float64, minMax int) (service.GenerateOptions, error) {
	checks := []error{
		inRange(f.temperature, p.temperature, 0, maxTemp),
		inRange(f.topP, p.topP, 0, 1),
		inRange(f.minP, p.minP, 0, 1),
		inRange(f.repeatPenalty, p.repeatPenalty, 0, 100),
		inRange(f.presence, p.presence, -2, 2),
		inRange(f.frequency, p.frequency, -2, 2),
		intInRange(f.topK, p.topK, 0, maxTopK),
		intInRange(f.repeatLastN, p.repeatLastN, -1, maxRepeatLast),
		intInRange(f.maxTokens, p.maxTokens, minMax, math.MaxInt32),
		intInRange(f.numCtx, p.numCtx, 1, maxNumCtx),
		intInRange(f.numGPU, p.numGPU, -1, maxNumGPU),
	}
	for _, err := range checks {
		if err != nil {
			return service.GenerateOptions{}, err
		}
	}
	if len(p.stop) > maxStops {
		return service.GenerateOptions{}, badRequest(f.stop, "at most %d stop sequences are allowed, got %d", maxStops, len(p.stop))
	}
	for _, s := range p.stop {
		if s == "" || len(s) > maxStopLen {
			return service.GenerateOptions{}, badRequest(f.stop, "each stop sequence must be 1 to %d bytes long", maxStopLen)
		}
	}

	o := service.GenerateOptions{Sampling: base, Stop: p.stop}
	sp := &o.Sampling
	set32 := func(dst *float32, v *float64) {
		if v != nil {
			*dst = float32(*v)
		}
	}
	set32(&sp.Temperature, p.temperature)
	set32(&sp.TopP, p.topP)
	set32(&sp.MinP, p.minP)
	set32(&sp.PresencePenalty, p.presence)
	set32(&sp.FrequencyPenalty, p.frequency)
	if p.repeatPenalty != nil {
		sp.RepeatPenalty = float32(*p.repeatPenalty)
		if sp.RepeatPenalty == 0 {
			sp.RepeatPenalty = 1 // 0 means "off" to some clients; 1 is off
		}
	}
	if p.topK != nil {
		sp.TopK = *p.topK
	}
	if p.repeatLastN != nil {
		sp.RepeatLastN = *p.repeatLastN
	}
	sp.Seed = service.RandomSeed()
	if p.seed != nil && *p.seed >= 0 {
		sp.Seed = uint64(*p.seed)
	}
	if p.maxTokens != nil && *p.maxTokens > 0 {
		o.MaxTokens = *p.maxTokens
	}
	if p.numCtx != nil {
		o.NumCtx = *p.numCtx
	}
	if p.numGPU != nil {
		layers := service.FromNumGPU(*p.numGPU)
		o.GPULayers = &layers
	}
	o.UseMmap, o.UseMlock = p.useMmap, p.useMlock
	o.Given = p.given()
	return o, nil
}

// given names the options the request set, by Ollama's names, so that a
// custom model's parameters fill in only the others.
func (p params) given() map[string]bool {
	return map[string]bool{
		"temperature": p.temperature != nil, "top_p": p.topP != nil, "min_p": p.minP != nil,
		"repeat_penalty": p.repeatPenalty != nil, "presence_penalty": p.presence != nil,
		"frequency_penalty": p.frequency != nil, "top_k": p.topK != nil, "repeat_last_n": p.repeatLastN != nil,
		"num_predict": p.maxTokens != nil, "num_ctx": p.numCtx != nil, "num_gpu": p.numGPU != nil,
		"seed": p.seed != nil, "stop": p.stop != nil, "use_mmap": p.useMmap != nil, "use_mlock": p.useMlock != nil,
	}
}
