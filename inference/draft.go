package inference

import (
	"fmt"

	"inferenceruntime/inference/engine"
)

// Drafting for speculative decoding (Request.Draft); see package engine.
type (
	// Drafter proposes tokens that the target model checks several at a
	// time; the output is the same as without one.
	Drafter = engine.Drafter
	// PromptLookup drafts from n-grams of the prompt and reply, without a
	// model.
	PromptLookup = engine.PromptLookup
)

// draftVocabSlack is how far two vocabulary sizes may differ and still
// count as the same vocabulary: converters pad the embedding matrix to a
// multiple of 64 or 128 with unused tokens, and families ship sizes that
// differ only by such padding (llama.cpp allows the same).
const draftVocabSlack = 128

// CheckDraft reports why draft cannot draft for m: drafted token ids are
// read as m's, so both must give every token the same id and text, and
// agree on the special tokens that start and end a turn.
func (m *Model) CheckDraft(draft *Model) error {
	a, b := m.tok, draft.tok
	na, nb := a.VocabSize(), b.VocabSize()
	if d := na - nb; d > draftVocabSlack || -d > draftVocabSlack {
		return fmt.Errorf("the draft model's vocabulary has %d tokens, the model's %d: they must share one vocabulary", nb, na)
	}
	if a.BOS() != b.BOS() || a.EOS() != b.EOS() {
		return fmt.Errorf("the draft model's begin/end tokens (%d/%d) differ from the model's (%d/%d): they must share one vocabulary",
			b.BOS(), b.EOS(), a.BOS(), a.EOS())
	}
	for id := range int32(min(na, nb)) {
		if pa, pb := a.Piece(id), b.Piece(id); pa != pb {
			return fmt.Errorf("token %d is %q for the model and %q for the draft model: they must share one vocabulary", id, pa, pb)
		}
	}
	return nil
}

// Drafter returns a drafter that decodes with s, a session of a smaller
// model of the same vocabulary (see Model.CheckDraft), for one generation
// of another session at a time. The session then holds the tokens it
// followed, which Tokens reports.
func (s *Session) Drafter() Drafter {
	s.mu.Lock()
	defer s.mu.Unlock()
	return engine.ModelDrafter{Seq: s.seq}
}

// Tokens returns a copy of the tokens whose keys and values the session's
// cache holds.
func (s *Session) Tokens() []int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seq == nil {
		return nil
	}
	return append([]int32(nil), s.seq.Tokens()...)
}
