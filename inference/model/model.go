package model

import (
	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/kvcache"
)

// Model is a loaded architecture whose weights live on one compute device.
// A Model is immutable once built, so any number of sessions (each with its
// own backend and cache) can use it at once.
type Model interface {
	// Config returns the validated hyper-parameters.
	Config() *Config
	// Forward adds to g the ops that run b through the model, writing the
	// batch's keys and values into cache, and returns the logits as an F32
	// tensor [vocab, rows]: one row per token, or only the last token's when
	// b.LastOnly (or per b.Seqs). The caller has reserved room in the
	// cache (in each sequence's cache) for the batch.
	Forward(g *compute.Graph, b Batch, cache *kvcache.Cache) (*compute.Tensor, error)
	// Products returns the shapes of the weight matrices the model
	// multiplies activations by, by tensor name: what a LoRA adapter can
	// target. A matrix the model splits (a fused q/k/v) is not among them.
	Products() map[string]compute.Shape
	// Close releases the device buffers that hold the weights.
	Close() error
}

// Batch is the tokens of one forward step, at consecutive or arbitrary
// positions of one sequence.
type Batch struct {
	Tokens    []int32
	Positions []int32 // one per token
	LastOnly  bool    // compute logits for the last token only
	// Hidden asks for the final hidden states, F32 [n_embd, rows], after
	// the output norm and before the classifier (embeddings; see Embed).
	Hidden bool
	// Embeddings, when set, are the batch's input vectors, float32
	// [len(Tokens)][n_embd], taken in place of the token embeddings: the
	// vectors of an image from a vision projector. They enter the model as
	// they are (Gemma does not scale them by √n_embd); Tokens then only
	// counts the rows.
	Embeddings []float32
	// NonCausal lets the batch's tokens attend to one another both ways
	// (the tokens of one image), and to earlier positions as usual.
	NonCausal bool
	// Seqs, when set, makes the batch ragged (continuous batching): its
	// tokens are runs of several sequences, Seqs[0].Len tokens of the
	// first, then the second's, each run at positions of its own sequence
	// and with its own cache; Forward's cache argument is then unused. The
	// logits are the rows of each sequence's last Seqs[i].Logits tokens, in
	// order, and LastOnly is ignored. A step reads the weights once for all
	// of them.
	Seqs []Seq
}

// Seq is one sequence's part of a ragged batch.
type Seq struct {
	Cache  *kvcache.Cache
	Len    int // consecutive tokens of the batch
	Logits int // rows of logits wanted: the run's last Logits tokens (0 to Len)
}
