package engine

import (
	"context"
	"slices"
	"testing"

	"inferenceruntime/inference/sample"
)

// TestSpeculativeMatchesPlain: with prompt lookup or a draft model, greedy
// and seeded sampled replies are token for token those of plain decoding,
// on a sequence of its own and in a batcher, and drafts get accepted.
func TestSpeculativeMatchesPlain(t *testing.T) {
	m, tok, dev := openSynth(t, "tiny", "Q8_0")
	dm, _, _ := openSynth(t, "tiny-qwen2", "Q8_0")
	// A repetitive prompt: its phrases come back in the reply.
	var prompt []int32
	for i := range 60 {
		prompt = append(prompt, int32(10+i%12*7))
	}
	sampled := sample.DefaultParams()
	sampled.Temperature, sampled.Seed = 0.9, 42
	b, err := NewBatcher(m, dev, BatcherOptions{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, params := range []sample.Params{greedyParams(), sampled} {
		run := func(draft func() Drafter, batched bool) ([]int32, Stats) {
			var s *Sequence
			if batched {
				s, err = NewBatchedSequence(b, SequenceOptions{})
			} else {
				s, err = NewSequence(m, dev, SequenceOptions{Threads: 2})
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			req := Request{Tokens: prompt, Sampling: params, MaxTokens: 60}
			if draft != nil {
				req.Draft = draft()
			}
			var got []int32
			st, err := s.Generate(context.Background(), tok, req, func(tk Token) error {
				if tk.ID >= 0 {
					got = append(got, tk.ID)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			return got, st
		}
		want, _ := run(nil, false)
		drafters := map[string]func() Drafter{
			"prompt lookup": func() Drafter { return PromptLookup{} },
			"draft model": func() Drafter {
				ds, err := NewSequence(dm, dev, SequenceOptions{Threads: 1})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { ds.Close() })
				return ModelDrafter{Seq: ds}
			},
			"same model as draft": func() Drafter {
				ds, err := NewSequence(m, dev, SequenceOptions{Threads: 1})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { ds.Close() })
				return ModelDrafter{Seq: ds}
			},
		}
		for name, d := range drafters {
			for _, batched := range []bool{false, true} {
				got, st := run(d, batched)
				if !slices.Equal(got, want) {
					t.Errorf("temperature %v, %s, batched %v:\n got %v\nwant %v", params.Temperature, name, batched, got, want)
				}
				if st.DraftedTokens == 0 || st.AcceptedTokens > st.DraftedTokens {
					t.Errorf("temperature %v, %s: %d drafted, %d accepted", params.Temperature, name, st.DraftedTokens, st.AcceptedTokens)
				}
				if name == "same model as draft" && params.Temperature == 0 && st.AcceptedTokens*10 < st.DraftedTokens*9 {
					t.Errorf("the model itself as draft: %d of %d accepted", st.AcceptedTokens, st.DraftedTokens)
				}
				t.Logf("temperature %v, %s, batched %v: %d drafted, %d accepted", params.Temperature, name, batched, st.DraftedTokens, st.AcceptedTokens)
			}
		}
	}
}

// TestPromptLookup drafts what followed the last earlier occurrence of the
// longest matching tail.
func TestPromptLookup(t *testing.T) {
	toks := []int32{1, 2, 3, 4, 5, 9, 2, 3, 4, 6, 7, 1, 2, 3}
	got, _ := PromptLookup{}.Draft(context.Background(), toks, 3)
	if want := []int32{4, 5, 9}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if got, _ := (PromptLookup{}).Draft(context.Background(), []int32{1, 2, 3, 4}, 3); got != nil {
		t.Errorf("no repeat, drafted %v", got)
	}
}
