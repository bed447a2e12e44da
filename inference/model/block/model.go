package block

import (
	"fmt"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/model"
)

// Ends are the two ends of a decoder: the token embedding that starts it,
// and the final norm and classifier that end it.
type Ends struct {
	TokenEmbd  *compute.Tensor // [n_embd, n_vocab]
	OutputNorm *compute.Tensor // [n_embd]
	Output     *compute.Tensor // [n_embd, n_vocab]; TokenEmbd when tied
}

// BindEnds binds token_embd.weight, output_norm.weight and output.weight.
// A file without output.weight ties the classifier to the embeddings, and
// so does every file of a family that always ties them (tied), as llama.cpp
// does; the embedding matrix is then placed for both uses.
func BindEnds(b *model.Binder, p *model.Placer, cfg *model.Config, tied bool) Ends {
	e, v := cfg.EmbeddingLength, cfg.VocabSize
	var ends Ends
	tokenEmbd := b.Tensor("token_embd.weight", e, v)
	ends.OutputNorm = p.Vector(b.Tensor("output_norm.weight", e))
	var out *model.Tensor
	if !tied {
		out = b.Optional("output.weight", e, v)
	}
	if out == nil {
		ends.TokenEmbd = p.Matrix(tokenEmbd, compute.OpGetRows, compute.OpMulMat)
		ends.Output = ends.TokenEmbd
	} else {
		ends.TokenEmbd = p.Matrix(tokenEmbd, compute.OpGetRows)
		ends.Output = p.Matrix(out, compute.OpMulMat)
	}
	return ends
}

// Embed looks the batch's tokens up, or takes its Embeddings: F32
// [n_embd, n].
func (e *Ends) Embed(g *compute.Graph, b model.Batch) *compute.Tensor {
	if b.Embeddings != nil {
		return g.Float32s(b.Embeddings, compute.Shape{e.TokenEmbd.Shape()[0], len(b.Tokens)})
	}
	return g.GetRows(e.TokenEmbd, g.Int32s(b.Tokens))
}

// Done returns the first binding or placement error of a model's New,
// freeing what was placed when there is one. A binding error explains a
// placement failure (nil tensors), so it comes first.
func Done(b *model.Binder, p *model.Placer) error {
	err := b.Err()
	if err == nil {
		err = p.Err()
	}
	if err != nil {
		p.Free()
	}
	return err
}

// CheckBatch refuses a batch without tokens or with a position count that
// differs from its token count.
func CheckBatch(b model.Batch) error {
	if len(b.Tokens) == 0 || len(b.Positions) != len(b.Tokens) {
		return fmt.Errorf("batch of %d tokens with %d positions", len(b.Tokens), len(b.Positions))
	}
	return checkSeqs(b)
}

// Rope returns the RoPE parameters of a layer that rotates with base and
// freqScale, in the family's pair layout, with optional frequency divisors.
func Rope(c *model.Config, base, freqScale float32, factors *compute.Tensor) compute.RopeParams {
	p := compute.RopeParams{Mode: compute.RopeNorm, Dims: c.RopeDim, Base: base, FreqScale: freqScale, Factors: factors}
	if c.RopeStyle == model.RopeNeoX {
		p.Mode = compute.RopeNeox
	}
	return p
}

// Logits ends a forward pass: the final norm and the classifier, on the
// last row only when the batch asks for it, then the optional soft cap;
// with b.Hidden, the normed states without the classifier.
// The result is the graph's output, [n_vocab, rows].
func (e *Ends) Logits(g *compute.Graph, x *compute.Tensor, b model.Batch, eps, softcap float32) (*compute.Tensor, error) {
	if n := len(b.Tokens); b.Seqs != nil {
		x = g.SelectRows(x, logitRows(b))
	} else if b.LastOnly && n > 1 {
		x = g.Rows(x, n-1, 1)
	}
	x = Norm(g, x, e.OutputNorm, eps)
	if b.Hidden { // embeddings: the states the classifier would read
		g.Output(x)
		return x, g.Err()
	}
	logits := g.MulMat(e.Output, x)
	if softcap > 0 {
		logits = g.Softcap(logits, softcap)
	}
	g.Output(logits)
	return logits, g.Err()
}

// Base is what every family's model keeps besides its weights: the
// hyper-parameters and the placer that owns the weights' buffers.
type Base struct {
	Cfg    model.Config
	Placer *model.Placer
}

// Config returns the hyper-parameters.
func (b *Base) Config() *model.Config { return &b.Cfg }

// Close frees the device buffers of the weights.
func (b *Base) Close() error { return b.Placer.Free() }

// Products returns the shapes of the weights multiplied by activations.
func (b *Base) Products() map[string]compute.Shape { return b.Placer.Products() }

// MLP is a feed-forward network of a layer: FeedForward or MoE.
type MLP interface {
	Forward(g *compute.Graph, x *compute.Tensor) *compute.Tensor
}

// Layer is the pre-norm block of the LLaMA lineage.
type Layer struct {
	AttnNorm *compute.Tensor // [n_embd]
	Attn     Attention
	FFNNorm  *compute.Tensor // [n_embd]
	FFN      MLP
}

// Forward is x + attn(norm(x)), then that plus ffn(norm(·)).
func (l *Layer) Forward(g *compute.Graph, x, pos *compute.Tensor, kv []compute.Segment, p AttentionParams, eps float32) *compute.Tensor {
	x = g.Add(x, l.Attn.Forward(g, Norm(g, x, l.AttnNorm, eps), pos, kv, p))
	return g.Add(x, l.FFN.Forward(g, Norm(g, x, l.FFNNorm, eps)))
}
