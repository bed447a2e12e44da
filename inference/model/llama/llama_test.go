package llama_test

import (
	"strings"
	"testing"

	"inferenceruntime/inference/compute"
	_ "inferenceruntime/inference/compute/cpu"
	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/model"
	_ "inferenceruntime/inference/model/llama"
	"inferenceruntime/inference/model/synth"
)

// open writes the plan to memory, parses it and opens it as a model.
func open(t *testing.T, p *synth.Plan) (model.Model, error) {
	t.Helper()
	data, err := p.Bytes(1)
	if err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(data)
	if err != nil {
		t.Fatalf("the writer produced an invalid file: %v", err)
	}
	dev, err := compute.FirstDevice("cpu")
	if err != nil {
		t.Fatal(err)
	}
	return model.Open(f, dev)
}

func plan(t testing.TB, shape string) *synth.Plan {
	t.Helper()
	s, ok := synth.ShapeByName(shape)
	if !ok {
		t.Fatalf("no shape %s", shape)
	}
	p, err := synth.NewPlan(s, "F32")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestValid checks that the unbroken synthetic models load, tied and untied.
func TestValid(t *testing.T) {
	for _, shape := range []string{"tiny", "tiny-qwen2"} {
		m, err := open(t, plan(t, shape))
		if err != nil {
			t.Fatalf("%s: %v", shape, err)
		}
		c := m.Config()
		if c.HeadDim != 16 || c.HeadCountKV != 2 || c.VocabSize != 384 {
			t.Errorf("%s: config %+v", shape, *c)
		}
		if want := model.RopeNeoX; (shape == "tiny-qwen2") != (c.RopeStyle == want) {
			t.Errorf("%s: rope style %v", shape, c.RopeStyle)
		}
		m.Close()
	}
}

// TestBroken builds structurally valid files with nonsense
// hyper-parameters or tensors and checks that each is refused with an error
// naming the problem.
func TestBroken(t *testing.T) {
	tests := []struct {
		name   string
		shape  string
		break_ func(p *synth.Plan)
		want   string
	}{
		{"zero heads", "tiny", func(p *synth.Plan) { p.Set("llama.attention.head_count", uint32(0)) }, "head_count = 0 is out of range"},
		{"zero embedding", "tiny", func(p *synth.Plan) { p.Set("llama.embedding_length", uint32(0)) }, "embedding_length = 0"},
		{"missing embedding", "tiny", func(p *synth.Plan) { p.Delete("llama.embedding_length") }, "llama.embedding_length is missing"},
		{"kv heads do not divide", "tiny", func(p *synth.Plan) { p.Set("llama.attention.head_count_kv", uint32(3)) }, "head_count_kv = 3 does not divide head_count = 4"},
		{"embedding not a multiple of heads", "tiny", func(p *synth.Plan) {
			p.Set("llama.attention.head_count", uint32(6))
			p.Set("llama.attention.head_count_kv", uint32(6))
		}, "not a multiple of head_count"},
		{"head dim mismatch", "tiny", func(p *synth.Plan) { p.Set("llama.attention.key_length", uint32(32)) }, "attn_q.weight has shape [64 64], the metadata implies [64 128]"},
		{"rope dim too large", "tiny", func(p *synth.Plan) { p.Set("llama.rope.dimension_count", uint32(18)) }, "rope.dimension_count = 18"},
		{"more layers than tensors", "tiny", func(p *synth.Plan) { p.Set("llama.block_count", uint32(3)) }, "blk.2.attn_norm.weight is missing (block_count is 3; the file has tensors for 2 blocks)"},
		{"fewer layers than tensors", "tiny", func(p *synth.Plan) { p.Set("llama.block_count", uint32(1)) }, "belongs to block 1 but block_count is 1"},
		{"ffn length disagrees", "tiny", func(p *synth.Plan) { p.Set("llama.feed_forward_length", uint32(96)) }, "ffn_gate.weight has shape [64 128], the metadata implies [64 96]"},
		{"missing tensor", "tiny", func(p *synth.Plan) { p.Remove("blk.1.ffn_up.weight") }, "blk.1.ffn_up.weight is missing"},
		{"missing embedding matrix", "tiny", func(p *synth.Plan) { p.Remove("token_embd.weight") }, "token_embd.weight is missing"},
		{"qwen2 without bias", "tiny-qwen2", func(p *synth.Plan) { p.Remove("blk.0.attn_k.bias") }, "blk.0.attn_k.bias is missing"},
		{"vocab larger than the matrix", "tiny", func(p *synth.Plan) {
			p.Set("tokenizer.ggml.tokens", append(tokens(p), "extra"))
			p.Set("tokenizer.ggml.scores", make([]float32, 385))
			p.Set("tokenizer.ggml.token_type", make([]int32, 385))
		}, "token_embd.weight has shape [64 384], the metadata implies [64 385]"},
		{"bos outside vocab", "tiny", func(p *synth.Plan) { p.Set("tokenizer.ggml.bos_token_id", uint32(384)) }, "bos_token_id = 384 is outside the vocabulary of 384"},
		{"eos outside vocab", "tiny", func(p *synth.Plan) { p.Set("tokenizer.ggml.eos_token_id", uint32(100000)) }, "eos_token_id = 100000 is outside"},
		{"no vocab", "tiny", func(p *synth.Plan) { p.Delete("tokenizer.ggml.tokens") }, "tokenizer.ggml.tokens is missing"},
		{"negative eps", "tiny", func(p *synth.Plan) { p.Set("llama.attention.layer_norm_rms_epsilon", float32(-1)) }, "layer_norm_rms_epsilon = -1 is out of range"},
		{"string head count", "tiny", func(p *synth.Plan) { p.Set("llama.attention.head_count", "four") }, "want an integer"},
		{"yarn", "tiny", func(p *synth.Plan) { p.Set("llama.rope.scaling.type", "yarn") }, `rope.scaling.type "yarn" is not supported`},
		{"unknown arch", "tiny", func(p *synth.Plan) { renameArch(p, "mamba") }, `architecture "mamba" is not supported`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := plan(t, tc.shape)
			tc.break_(p)
			m, err := open(t, p)
			if err == nil {
				m.Close()
				t.Fatalf("loaded; want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func tokens(p *synth.Plan) []string {
	for _, kv := range p.KV {
		if kv.Key == "tokenizer.ggml.tokens" {
			return kv.Value.([]string)
		}
	}
	return nil
}

// renameArch moves every "<arch>." key to a new architecture name.
func renameArch(p *synth.Plan, arch string) {
	for i, kv := range p.KV {
		if rest, ok := strings.CutPrefix(kv.Key, p.Shape.Arch+"."); ok {
			p.KV[i].Key = arch + "." + rest
		}
	}
	p.Set("general.architecture", arch)
}
