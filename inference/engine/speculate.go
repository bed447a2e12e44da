package engine

import (
	"context"
	"fmt"
	"slices"

	"inferenceruntime/inference/kvcache"
)

// Drafter proposes up to n tokens that may follow tokens, for speculative
// decoding: the target model checks them all in one step and keeps the
// ones it would have produced itself. A Drafter is used by one generation
// at a time.
type Drafter interface {
	Draft(ctx context.Context, tokens []int32, n int) ([]int32, error)
}

// DefaultDraftMax is the most tokens drafted per step when a request gives
// no number.
const DefaultDraftMax = 8

// PromptLookup drafts without a model (prompt lookup decoding): it finds
// the last earlier place where the sequence's final MaxNgram tokens (or
// fewer, down to MinNgram) occurred and proposes the tokens that followed
// there. Replies that quote or edit their prompt (code, summaries,
// extraction) are drafted well; others are not drafted at all, which costs
// nothing.
type PromptLookup struct {
	MinNgram, MaxNgram int // 0: 2 and 4
}

// Draft implements Drafter.
func (p PromptLookup) Draft(_ context.Context, tokens []int32, n int) ([]int32, error) {
	lo, hi := p.MinNgram, p.MaxNgram
	if lo <= 0 {
		lo = 2
	}
	if hi < lo {
		hi = max(lo, 4)
	}
	for g := min(hi, len(tokens)-1); g >= lo; g-- {
		tail := tokens[len(tokens)-g:]
		// The most recent earlier occurrence continues most like now.
		for at := len(tokens) - g - 1; at >= 0; at-- {
			if slices.Equal(tokens[at:at+g], tail) {
				next := tokens[at+g : min(at+g+n, len(tokens))]
				return slices.Clone(next), nil
			}
		}
	}
	return nil, nil
}

// ModelDrafter drafts with a smaller model that shares the target's
// vocabulary: its own sequence follows the target's tokens (reusing what
// it already holds) and decodes greedily.
type ModelDrafter struct {
	Seq *Sequence
}

// Draft implements Drafter.
func (d ModelDrafter) Draft(ctx context.Context, tokens []int32, n int) ([]int32, error) {
	s := d.Seq
	if s.batcher != nil {
		// The target checks the drafts before this sequence is asked
		// again: steps of the draft model's other sequences must not wait
		// for it meanwhile.
		defer s.batcher.release(s)
	}
	keep := min(kvcache.CommonPrefix(s.tokens, tokens), len(tokens)-1)
	s.Truncate(keep)
	room := s.ContextLength() - len(tokens)
	n = min(n, room)
	if n <= 0 {
		return nil, nil
	}
	logits, err := s.Eval(ctx, tokens[keep:], false)
	if err != nil {
		return nil, fmt.Errorf("engine: draft model: %w", err)
	}
	var out []int32
	for {
		id := argmax(logits)
		out = append(out, id)
		if len(out) == n {
			return out, nil
		}
		if logits, err = s.Eval(ctx, []int32{id}, false); err != nil {
			return nil, fmt.Errorf("engine: draft model: %w", err)
		}
	}
}

func argmax(x []float32) int32 {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return int32(best)
}

// speculation is the state of speculative decoding in one generation.
// Drafts are single tokens, not distributions, so the rejection sampling
// of Leviathan et al. (accept draft d with probability min(1, p(d)/q(d)),
// else sample from (p-q)+) has q a point mass at d: accept d with
// probability p(d), else draw from p without d. Drawing x from the target's
// own p and accepting d exactly when x == d does both in one draw, so the
// target chooses every token as it would without drafts, with the same
// random numbers: the output equals non-speculative decoding's, greedy or
// sampled.
type speculation struct {
	d        Drafter
	max      int
	pending  []int32   // drafted tokens in the cache, not yet checked
	rows     []float32 // the logits after each pending token, vocab each
	vocab    int
	drafted  int
	accepted int
}

func newSpeculation(req Request, vocab int) *speculation {
	if req.Draft == nil || req.Constraint != nil {
		return nil // a grammar's budget counts cache positions that drafts would hold
	}
	n := req.DraftMax
	if n <= 0 {
		n = DefaultDraftMax
	}
	return &speculation{d: req.Draft, max: n, vocab: vocab}
}

// check compares the token the target picked with the next drafted one:
// on a match that token is in the cache already and next holds the logits
// that follow it; otherwise the drafts are dropped from the cache.
func (sp *speculation) check(s *Sequence, id int32) (next []float32, ok bool) {
	if sp == nil || len(sp.pending) == 0 {
		return nil, false
	}
	if sp.pending[0] != id {
		sp.drop(s)
		return nil, false
	}
	sp.accepted++
	next = sp.rows[:sp.vocab]
	sp.pending, sp.rows = sp.pending[1:], sp.rows[sp.vocab:]
	return next, true
}

// drop forgets the drafts still unchecked, in the cache too.
func (sp *speculation) drop(s *Sequence) {
	if sp == nil || len(sp.pending) == 0 {
		return
	}
	s.Truncate(s.Len() - len(sp.pending))
	sp.pending, sp.rows = nil, nil
}

// eval evaluates id, and the tokens drafted after it in the same step, and
// returns the logits that follow id. hist is the sequence's tokens
// ending in id; room is the most drafts worth checking.
func (sp *speculation) eval(ctx context.Context, s *Sequence, hist []int32, id int32, room int) ([]float32, error) {
	if sp == nil {
		return s.Eval(ctx, []int32{id}, false)
	}
	n := min(sp.max, room, s.ContextLength()-s.Len()-1)
	var draft []int32
	if n > 0 {
		var err error
		if draft, err = sp.d.Draft(ctx, hist, n); err != nil {
			return nil, err
		}
		draft = draft[:min(len(draft), n)]
		// Image placeholders of the history are no tokens to propose.
		if i := slices.IndexFunc(draft, func(t int32) bool { return t < 0 || int(t) >= sp.vocab }); i >= 0 {
			draft = draft[:i]
		}
	}
	if len(draft) == 0 {
		return s.Eval(ctx, []int32{id}, false)
	}
	out, err := s.Eval(ctx, append([]int32{id}, draft...), true)
	if err != nil {
		return nil, err
	}
	sp.drafted += len(draft)
	sp.pending, sp.rows = draft, out[sp.vocab:]
	return out[:sp.vocab], nil
}

// pendingCount is the drafted tokens in the cache not yet checked.
func (sp *speculation) pendingCount() int {
	if sp == nil {
		return 0
	}
	return len(sp.pending)
}
