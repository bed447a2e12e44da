package engine

import (
	"context"
	"fmt"
	"strings"

	"inferenceruntime/inference/tokenizer"
)

// MediaMarker stands for one image in a prompt, as in llama.cpp.
const MediaMarker = "<__media__>"

// Image is one image of a request: the vectors a vision projector made of
// it, which the model takes in place of token embeddings.
type Image struct {
	// Embeddings is float32 [Tokens][n_embd].
	Embeddings []float32
	Tokens     int
	// Key identifies the image's content (a hash of its bytes and the
	// projector): a later prompt with the same image at the same place
	// reuses the cache, another image does not.
	Key uint64
	// Begin and End are the text around the vectors (Gemma 3:
	// "<start_of_image>" and "<end_of_image>"), tokenized on their own.
	Begin, End string
}

// imageSpan is where an image's vectors sit in a prompt's token list.
type imageSpan struct {
	start, n, image int
}

// placeholder is the id that stands for token i of an image in the
// sequence's history: negative, so never a vocabulary id, and derived from
// the image's key so that prefix reuse tells images apart.
func placeholder(key uint64, i int) int32 {
	h := (key ^ uint64(i+1)*0x9E3779B97F4A7C15) * 0xBF58476D1CE4E5B9
	return -1 - int32(h>>33)
}

// buildPrompt tokenizes a prompt whose media markers stand for images, as
// llama.cpp's mtmd_tokenize does: BOS in front, then each piece of text
// tokenized on its own (without BOS), each image as its Begin text, one
// placeholder per vector and its End text.
func buildPrompt(tok *tokenizer.Tokenizer, prompt string, images []Image) ([]int32, []imageSpan, error) {
	pieces := strings.Split(prompt, MediaMarker)
	if len(pieces)-1 != len(images) {
		return nil, nil, fmt.Errorf("engine: the prompt has %d image markers for %d images", len(pieces)-1, len(images))
	}
	var out []int32
	if bos := tok.BOS(); tok.AddBOS() && bos >= 0 {
		out = append(out, bos)
	}
	text := func(s string) error {
		if s == "" {
			return nil
		}
		ids, err := tok.Encode(s, false, true)
		if err != nil {
			return fmt.Errorf("engine: tokenizing the prompt: %w", err)
		}
		out = append(out, ids...)
		return nil
	}
	var spans []imageSpan
	for i, p := range pieces {
		if err := text(p); err != nil {
			return nil, nil, err
		}
		if i == len(images) {
			break
		}
		img := images[i]
		if img.Tokens <= 0 || len(img.Embeddings)%img.Tokens != 0 {
			return nil, nil, fmt.Errorf("engine: image %d has %d values for %d tokens", i, len(img.Embeddings), img.Tokens)
		}
		if err := text(img.Begin); err != nil {
			return nil, nil, err
		}
		spans = append(spans, imageSpan{start: len(out), n: img.Tokens, image: i})
		for t := range img.Tokens {
			out = append(out, placeholder(img.Key, t))
		}
		if err := text(img.End); err != nil {
			return nil, nil, err
		}
	}
	// A rendered chat template often starts with the BOS text itself.
	if bos := tok.BOS(); len(out) >= 2 && bos >= 0 && out[0] == bos && out[1] == bos {
		out = out[1:]
		for i := range spans {
			spans[i].start--
		}
	}
	return out, spans, nil
}

// keepBefore moves a reusable prefix length back to the start of an image
// it would cut: an image's tokens attend to one another and are evaluated
// together.
func keepBefore(keep int, spans []imageSpan) int {
	for _, sp := range spans {
		if keep > sp.start && keep < sp.start+sp.n {
			return sp.start
		}
	}
	return keep
}

// evalPrompt evaluates prompt[keep:], text in batches and each image as one
// batch of its own, and returns the last position's logits.
func (s *Sequence) evalPrompt(ctx context.Context, prompt []int32, keep int, spans []imageSpan, images []Image) ([]float32, error) {
	var logits []float32
	var err error
	at := keep
	for _, sp := range spans {
		if sp.start+sp.n <= at {
			continue
		}
		if sp.start > at {
			if logits, err = s.Eval(ctx, prompt[at:sp.start], false); err != nil {
				return nil, err
			}
		}
		if logits, err = s.EvalImage(ctx, prompt[sp.start:sp.start+sp.n], images[sp.image].Embeddings, false); err != nil {
			return nil, err
		}
		at = sp.start + sp.n
	}
	if at < len(prompt) {
		logits, err = s.Eval(ctx, prompt[at:], false)
	}
	return logits, err
}

// EvalImage appends the vectors of one image, float32 [len(ids)][n_embd],
// as one batch whose tokens attend to one another both ways (and to what
// precedes them), recorded in the history as ids (placeholders, negative).
// It returns logits like Eval.
func (s *Sequence) EvalImage(ctx context.Context, ids []int32, embeddings []float32, all bool) ([]float32, error) {
	n, cfg := len(ids), s.m.Config()
	if n == 0 || len(embeddings) != n*cfg.EmbeddingLength {
		return nil, fmt.Errorf("engine: %d image values for %d tokens of %d", len(embeddings), n, cfg.EmbeddingLength)
	}
	if len(s.tokens)+n > s.cache.MaxLen() {
		return nil, fmt.Errorf("engine: %d tokens do not fit the context of %d", len(s.tokens)+n, s.cache.MaxLen())
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rows := 1
	if all {
		rows = n
	}
	if cap(s.logits) < rows*cfg.VocabSize {
		s.logits = make([]float32, rows*cfg.VocabSize)
	}
	out := s.logits[:rows*cfg.VocabSize]
	if err := s.stepEmbeddings(ids, embeddings, out, !all); err != nil {
		return nil, err
	}
	return out, nil
}
