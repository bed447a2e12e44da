package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"inferenceruntime/backend/service"
)

var (
	runDraft, serveDraft string
	// runDraftRef is the draft model of ir run, resolved before the runner
	// is made; nil without one (or with prompt lookup).
	runDraftRef *service.ModelRef
)

const draftFlagHelp = "speculative decoding: a draft model of the same vocabulary (%s), or \"lookup\" to draft from the prompt's n-grams; the reply is the same as without"

func init() {
	runCmd.Flags().StringVar(&runDraft, "draft", "", fmt.Sprintf(draftFlagHelp, "GGUF file or installed model"))
	serveCmd.Flags().StringVar(&serveDraft, "draft", "", fmt.Sprintf(draftFlagHelp, "an installed model, used for the models that share its vocabulary; requests may name another with \"draft\", or \"none\""))
}

// draftIsModel reports whether a --draft value names a model.
func draftIsModel(v string) bool {
	return v != "" && !strings.EqualFold(v, service.DraftLookup) && !strings.EqualFold(v, service.DraftNone)
}

// runDraftResolve finds ir run's draft model, before the runner is made:
// the run's resolver answers only for the models it was given.
func runDraftResolve(ctx context.Context, svc *service.Service) error {
	runDraftRef = nil
	if !draftIsModel(runDraft) {
		return nil
	}
	m, err := runResolve(ctx, svc, runDraft, true)
	if err != nil {
		return fmt.Errorf("--draft: %w", err)
	}
	ref, err := svc.ModelRef(ctx, m)
	if err != nil {
		return fmt.Errorf("--draft: %w", err)
	}
	runDraftRef = &ref
	return nil
}

// runDraftOption is GenerateOptions.Draft for ir run: the name the run's
// resolver gives the draft model.
func runDraftOption() string {
	if runDraftRef != nil {
		return runDraftRef.Path
	}
	return runDraft
}

// runResolver answers the run's model for every name but the draft
// model's.
func runResolver(ref service.ModelRef) service.ModelResolver {
	draft := runDraftRef
	return service.ResolverFunc(func(_ context.Context, name string) (service.ModelRef, error) {
		if draft != nil && name == draft.Path {
			return *draft, nil
		}
		return ref, nil
	})
}

// serveDraftCheck refuses a --draft that names no installed model before
// the server starts.
func serveDraftCheck(ctx context.Context, runner *service.Runner) error {
	if !draftIsModel(serveDraft) {
		return nil
	}
	if _, err := runner.Resolve(ctx, serveDraft); err != nil {
		return fmt.Errorf("--draft: %w", err)
	}
	return nil
}

// printDraftStats adds speculative decoding's counts to --verbose.
func printDraftStats(w io.Writer, r service.GenerateResult) {
	s := r.Stats
	if s.DraftedTokens == 0 && runDraft == "" {
		return
	}
	rate := 0.0
	if s.DraftedTokens > 0 {
		rate = 100 * float64(s.AcceptedTokens) / float64(s.DraftedTokens)
	}
	fmt.Fprintf(w, "draft tokens:         %d drafted, %d accepted (%.1f%%)\n", s.DraftedTokens, s.AcceptedTokens, rate)
}
