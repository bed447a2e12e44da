package inference

import (
	"context"
	"fmt"
	"math"

	"inferenceruntime/inference/model"

	_ "inferenceruntime/inference/model/bert" // the encoder that embeds
)

// EmbedOptions configure Model.Embed.
type EmbedOptions struct {
	Threads       int // 0 = the model's Options
	ContextLength int // the most tokens per input; 0 = the model's Options
	// Pooling is none, mean, cls or last; "" takes the file's pooling_type
	// (mean for a decoder that has none).
	Pooling string
	// Truncate cuts an input longer than the context to its first tokens;
	// without it such an input is an ErrTooLong.
	Truncate bool
	// Dimensions > 0 keeps the first Dimensions components of each vector
	// before it is normalised (models trained for shortened embeddings).
	Dimensions int
}

// Embedding is what one input became.
type Embedding struct {
	// Vectors is one L2-normalised vector, or one per token with pooling none.
	Vectors [][]float32
	// Tokens is the number of tokens evaluated (after truncation).
	Tokens int
	// Truncated reports that the input was cut to the context.
	Truncated bool
}

// ErrTooLong is the error of an input longer than the context when
// EmbedOptions.Truncate is off.
type ErrTooLong struct{ Index, Tokens, Context int }

func (e *ErrTooLong) Error() string {
	return fmt.Sprintf("inference: input %d has %d tokens, more than the context of %d (truncate to cut it)", e.Index, e.Tokens, e.Context)
}

// Pooling is the pooling Embed uses when EmbedOptions.Pooling is empty.
func (m *Model) Pooling() (model.Pooling, error) { return model.DefaultPooling(m.file) }

// EmbedTexts tokenizes each text as llama.cpp's embedding tool does (with
// the model's special tokens added, special tokens in the text parsed) and
// embeds it.
func (m *Model) EmbedTexts(ctx context.Context, texts []string, o EmbedOptions) ([]Embedding, error) {
	inputs := make([][]int32, len(texts))
	for i, t := range texts {
		ids, err := m.tok.Encode(t, true, true)
		if err != nil {
			return nil, fmt.Errorf("inference: tokenizing input %d: %w", i, err)
		}
		inputs[i] = ids
	}
	return m.Embed(ctx, inputs, o)
}

// Embed returns the embeddings of inputs (token ids, used as given), each
// run on its own through the model.
func (m *Model) Embed(ctx context.Context, inputs [][]int32, o EmbedOptions) ([]Embedding, error) {
	pool, err := m.Pooling()
	if o.Pooling != "" {
		pool, err = model.ParsePooling(o.Pooling)
	}
	if err != nil {
		return nil, fmt.Errorf("inference: %w", err)
	}
	n := m.net.Config().EmbeddingLength
	if o.Dimensions < 0 || o.Dimensions > n {
		return nil, fmt.Errorf("inference: %d dimensions, the model has %d", o.Dimensions, n)
	}
	s, err := m.NewSession(SessionOptions{Threads: o.Threads, ContextLength: o.ContextLength})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	limit := s.ContextLength()
	out := make([]Embedding, len(inputs))
	for i, ids := range inputs {
		if len(ids) == 0 {
			return nil, fmt.Errorf("inference: input %d is empty", i)
		}
		if len(ids) > limit {
			if !o.Truncate {
				return nil, &ErrTooLong{Index: i, Tokens: len(ids), Context: limit}
			}
			ids, out[i].Truncated = ids[:limit], true
		}
		hidden, err := s.hidden(ctx, ids)
		if err != nil {
			return nil, err
		}
		out[i].Tokens = len(ids)
		out[i].Vectors = poolRows(hidden, n, pool, o.Dimensions)
	}
	return out, nil
}

// hidden runs one input through the session's model as one batch.
func (s *Session) hidden(ctx context.Context, tokens []int32) ([]float32, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seq == nil {
		return nil, fmt.Errorf("inference: session is closed")
	}
	h, err := s.seq.Hidden(ctx, tokens)
	if err != nil {
		return nil, fmt.Errorf("inference: %w", err)
	}
	return h, nil
}

// poolRows pools hidden states (rows of n floats, one per token), keeps the
// first dims components (all when 0) and L2-normalises each vector.
func poolRows(hidden []float32, n int, p model.Pooling, dims int) [][]float32 {
	rows := len(hidden) / n
	row := func(i int) []float32 { return hidden[i*n : (i+1)*n] }
	var vecs [][]float32
	switch p {
	case model.PoolNone:
		for i := range rows {
			vecs = append(vecs, append([]float32(nil), row(i)...))
		}
	case model.PoolCLS:
		vecs = [][]float32{append([]float32(nil), row(0)...)}
	case model.PoolLast:
		vecs = [][]float32{append([]float32(nil), row(rows-1)...)}
	default: // mean, summed in float64 so that long inputs lose nothing
		sum := make([]float64, n)
		for i := range rows {
			for j, v := range row(i) {
				sum[j] += float64(v)
			}
		}
		mean := make([]float32, n)
		for j := range mean {
			mean[j] = float32(sum[j] / float64(rows))
		}
		vecs = [][]float32{mean}
	}
	for i, v := range vecs {
		if dims > 0 {
			v = v[:dims]
		}
		vecs[i] = normalize(v)
	}
	return vecs
}

// normalize scales v to unit Euclidean length; a zero vector stays zero.
func normalize(v []float32) []float32 {
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	if ss == 0 {
		return v
	}
	inv := 1 / math.Sqrt(ss)
	for i, x := range v {
		v[i] = float32(float64(x) * inv)
	}
	return v
}
