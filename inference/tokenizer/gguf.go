package tokenizer

import (
	"fmt"

	"inferenceruntime/inference/gguf"
)

// idKeys are the tokenizer.ggml.<key>_token_id entries read into Vocab.IDs.
var idKeys = []string{"bos", "eos", "eot", "eom", "unknown", "seperator", "padding", "mask",
	"fim_pre", "fim_suf", "fim_mid", "fim_pad", "fim_rep", "fim_sep"}

// oldFIMKeys are the deprecated names of the first three FIM ids.
var oldFIMKeys = map[string]string{"prefix": "fim_pre", "suffix": "fim_suf", "middle": "fim_mid"}

// flagKeys are the boolean tokenizer.ggml.<key> entries read into Vocab.Flags.
var flagKeys = []string{"add_bos_token", "add_eos_token", "add_sep_token", "add_space_prefix",
	"normalizer.lowercase", "normalizer.strip_accents"}

// FromGGUF reads the vocabulary of a GGUF file and builds its tokenizer.
// Every key is type-checked: a wrong type, a token count mismatch, a special
// id outside the vocabulary or a malformed byte token is an error.
func FromGGUF(f *gguf.File) (*Tokenizer, error) {
	v, err := VocabFromGGUF(f)
	if err != nil {
		return nil, err
	}
	return New(v)
}

// VocabFromGGUF reads the tokenizer.ggml.* keys of f without building the
// tokenizer.
func VocabFromGGUF(f *gguf.File) (Vocab, error) {
	var v Vocab
	var err error
	if v.Model, err = optString(f, "tokenizer.ggml.model"); err != nil {
		return v, err
	}
	if v.Model == "" {
		return v, fmt.Errorf("tokenizer: the file has no tokenizer.ggml.model")
	}
	if v.Pre, err = optString(f, "tokenizer.ggml.pre"); err != nil {
		return v, err
	}
	v.Name, _ = f.String("general.name")

	val, ok := f.Get("tokenizer.ggml.tokens")
	if !ok {
		return v, fmt.Errorf("tokenizer: the file has no tokenizer.ggml.tokens")
	}
	if v.Tokens, ok = val.AsStrings(); !ok {
		return v, fmt.Errorf("tokenizer: tokenizer.ggml.tokens is %s, want an array of strings", describe(val))
	}
	if val, ok := f.Get("tokenizer.ggml.scores"); ok {
		if v.Scores, ok = val.AsFloat32s(); !ok {
			ints, isInt := val.AsInt32s()
			if !isInt {
				return v, fmt.Errorf("tokenizer: tokenizer.ggml.scores is %s, want an array of float32", describe(val))
			}
			v.Scores = make([]float32, len(ints))
			for i, x := range ints {
				v.Scores[i] = float32(x)
			}
		}
	}
	if val, ok := f.Get("tokenizer.ggml.token_type"); ok {
		if v.Types, ok = val.AsInt32s(); !ok {
			return v, fmt.Errorf("tokenizer: tokenizer.ggml.token_type is %s, want an array of int32", describe(val))
		}
	}
	if val, ok := f.Get("tokenizer.ggml.merges"); ok {
		if v.Merges, ok = val.AsStrings(); !ok {
			return v, fmt.Errorf("tokenizer: tokenizer.ggml.merges is %s, want an array of strings", describe(val))
		}
	}
	v.IDs = make(map[string]int64)
	for _, k := range idKeys {
		key := "tokenizer.ggml." + k + "_token_id"
		val, ok := f.Get(key)
		if !ok {
			continue
		}
		id, ok := val.AsInt()
		if !ok {
			return v, fmt.Errorf("tokenizer: %s is %s (%s), want an integer token id", key, describe(val), val)
		}
		v.IDs[k] = id
	}
	for old, k := range oldFIMKeys {
		if _, set := v.IDs[k]; set {
			continue
		}
		if val, ok := f.Get("tokenizer.ggml." + old + "_token_id"); ok {
			if id, ok := val.AsInt(); ok {
				v.IDs[k] = id
			}
		}
	}
	v.Flags = make(map[string]bool)
	for _, k := range flagKeys {
		key := "tokenizer.ggml." + k
		val, ok := f.Get(key)
		if !ok {
			continue
		}
		b, ok := val.AsBool()
		if !ok {
			return v, fmt.Errorf("tokenizer: %s is %s, want a bool", key, describe(val))
		}
		v.Flags[k] = b
	}
	return v, nil
}

func optString(f *gguf.File, key string) (string, error) {
	val, ok := f.Get(key)
	if !ok {
		return "", nil
	}
	s, ok := val.AsString()
	if !ok {
		return "", fmt.Errorf("tokenizer: %s is %s, want a string", key, describe(val))
	}
	return s, nil
}

func describe(v gguf.Value) string {
	if v.Type == gguf.Array {
		return "an array of " + v.ElemType().String()
	}
	return "a " + v.Type.String()
}
