package service

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"inferenceruntime/backend/library"
	"inferenceruntime/backend/modelstore"
)

// Recommendation is the catalog model offered to someone who has none yet.
type Recommendation struct {
	// Model and Variant are unset when no catalog model fits this machine.
	Model   *modelstore.CatalogModel `json:"model,omitempty"`
	Variant *StoreVariant            `json:"variant,omitempty"`
	// Available is the free memory the choice was made for; -1 when unknown.
	Available int64 `json:"available"`
	// Offline says why the store cannot be reached; "" when it can.
	Offline string `json:"offline"`
}

const (
	// A first model should arrive in minutes, whatever the memory allows.
	maxFirstDownload = 5_000_000_000
	// Below this a model strings words together but does not hold a
	// conversation (stories260k is in the catalog to try the engine).
	minChatParams = 100_000_000
	// Free memory to assume when it cannot be read: a modest laptop's.
	assumedAvailable = 8 << 30
	// How long the store may take to answer before it counts as unreachable.
	reachTimeout = 5 * time.Second
)

// Recommend picks the catalog model that suits this machine by its free
// memory (see recommend) and says whether the store can be reached, so the
// first screen can offer a one-click download or say plainly why not.
// GPU memory is not considered yet: the engine runs on the CPU.
func (s *Service) Recommend(ctx context.Context) (Recommendation, error) {
	entries, err := s.StoreList(ctx, "", 0)
	if err != nil {
		return Recommendation{}, err
	}
	avail, err := library.AvailableMemory()
	if err != nil {
		avail = -1
	}
	r := recommend(entries, avail)
	if err := s.StoreReachable(ctx); err != nil {
		r.Offline = err.Error()
	}
	return r, nil
}

// recommend returns, among the catalog's chat models, the one with the most
// parameters (the most capable) whose default quant needs at most half of
// the available memory (the machine keeps running everything else while it
// chats) and downloads in minutes; failing that, the one needing the least
// memory that fits at all; failing that, none. Parameters rank, not memory:
// a model with a large KV cache needs more memory without being better.
func recommend(entries []StoreEntry, available int64) Recommendation {
	r := Recommendation{Available: available}
	budget := available
	if budget < 0 {
		budget = assumedAvailable
	}
	var best, smallest *StoreEntry
	var bestV, smallestV StoreVariant
	for i := range entries {
		e := &entries[i]
		v, ok := defaultVariant(*e)
		if !ok || paramCount(e.Model.Params) < minChatParams {
			continue
		}
		if v.Fit.Total <= budget/2 && v.Size <= maxFirstDownload && (best == nil || better(*e, v, *best, bestV)) {
			best, bestV = e, v
		}
		if v.Fit.Total <= budget && (smallest == nil || v.Fit.Total < smallestV.Fit.Total) {
			smallest, smallestV = e, v
		}
	}
	if best == nil {
		best, bestV = smallest, smallestV
	}
	if best != nil {
		r.Model, r.Variant = &best.Model, &bestV
	}
	return r
}

// better ranks by parameters, then by less memory.
func better(e StoreEntry, v StoreVariant, than StoreEntry, thanV StoreVariant) bool {
	p, q := paramCount(e.Model.Params), paramCount(than.Model.Params)
	return p > q || p == q && v.Fit.Total < thanV.Fit.Total
}

func defaultVariant(e StoreEntry) (StoreVariant, bool) {
	for _, v := range e.Variants {
		if strings.EqualFold(v.Quant, e.Model.Default) {
			return v, true
		}
	}
	return StoreVariant{}, false
}

// paramCount reads the catalog's "135M", "7.6B", "260K"; -1 when it cannot.
func paramCount(s string) int64 {
	s = strings.TrimSpace(strings.ToUpper(s))
	scale := map[byte]float64{'K': 1e3, 'M': 1e6, 'B': 1e9, 'T': 1e12}
	if s == "" || scale[s[len(s)-1]] == 0 {
		return -1
	}
	n, err := strconv.ParseFloat(s[:len(s)-1], 64)
	if err != nil {
		return -1
	}
	return int64(n * scale[s[len(s)-1]])
}

// StoreReachable asks the model store for its front page; any HTTP answer
// means downloads can start. The error says in a sentence what failed.
func (s *Service) StoreReachable(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, reachTimeout)
	defer cancel()
	host := s.Resolver.BaseURL
	if u, err := url.Parse(s.Resolver.BaseURL); err == nil && u.Host != "" {
		host = u.Host
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, s.Resolver.BaseURL+"/", nil)
	if err != nil {
		return fmt.Errorf("the model store address %q is not valid: %w", s.Resolver.BaseURL, err)
	}
	res, err := s.Resolver.Client.Do(req)
	if err == nil {
		res.Body.Close()
		return nil
	}
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr):
		return fmt.Errorf("%s cannot be looked up", host)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s did not answer within %s", host, reachTimeout)
	default:
		return fmt.Errorf("%s cannot be reached: %v", host, unwrapAll(err))
	}
}

// unwrapAll returns the innermost error, the part that says what happened
// ("connection refused") without the request that Go's errors repeat.
func unwrapAll(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}
