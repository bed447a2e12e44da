package inference

import "inferenceruntime/inference/engine"

type (
	// Logprobs are a generated token's log-probability and the most likely
	// alternatives (Request.Logprobs, Request.TopLogprobs).
	Logprobs = engine.Logprobs
	// Logprob is one token's text and log-probability.
	Logprob = engine.Logprob
)
