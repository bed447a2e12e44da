package service

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"inferenceruntime/backend/library"
	"inferenceruntime/backend/modelstore"
)

func TestRecommendByFreeMemory(t *testing.T) {
	const gb = 1_000_000_000
	entry := func(id, params string, size, total int64) StoreEntry {
		return StoreEntry{
			Model: modelstore.CatalogModel{ID: id, Params: params, Default: "Q4_K_M"},
			Variants: []StoreVariant{
				{Variant: modelstore.Variant{Quant: "Q8_0", Size: 2 * size}, Fit: library.Fit{Total: 2 * total}},
				{Variant: modelstore.Variant{Quant: "Q4_K_M", Size: size}, Name: id + ":Q4_K_M", Fit: library.Fit{Total: total}},
			},
		}
	}
	catalog := []StoreEntry{
		entry("toy", "260K", 1_000_000, 70_000_000), // too small to chat, though it fits anywhere
		entry("small", "135M", gb/10, gb/5),
		entry("mid", "1.5B", 11*gb/10, 3*gb/2),
		entry("big", "7.6B", 47*gb/10, 11*gb/2),
		entry("kv-heavy", "3.8B", 24*gb/10, 6*gb), // needs more memory than big, yet is smaller
		entry("huge", "70B", 40*gb, 45*gb),        // a download of hours
	}
	for _, c := range []struct {
		available int64
		want      string
	}{
		{64 * gb, "big"},
		{12 * gb, "big"}, // kv-heavy fits too
		{11 * gb, "big"},
		{8 * gb, "mid"},   // big needs 5.5 GB: more than half of 8
		{2 * gb, "small"}, // mid needs 1.5 GB: more than half of 2
		{gb / 4, "small"}, // nothing within half: the smallest that fits at all
		{gb / 10, ""},     // nothing fits
		{-1, "mid"},       // unknown: as for a modest laptop
	} {
		r := recommend(catalog, c.available)
		got := ""
		if r.Model != nil {
			got = r.Model.ID
			if r.Variant == nil || r.Variant.Name != got+":Q4_K_M" {
				t.Errorf("%d free: variant %+v, want the default quant", c.available, r.Variant)
			}
		}
		if got != c.want || r.Available != c.available {
			t.Errorf("%d free: recommended %q (available %d), want %q", c.available, got, r.Available, c.want)
		}
	}
}

func TestParamCount(t *testing.T) {
	for in, want := range map[string]int64{"135M": 135_000_000, "7.6B": 7_600_000_000, "260K": 260_000, " 1.5b ": 1_500_000_000, "": -1, "big": -1, "B": -1} {
		if got := paramCount(in); got != want {
			t.Errorf("paramCount(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestRecommendSaysWhetherTheStoreAnswers(t *testing.T) {
	ctx := context.Background()
	online := httptest.NewServer(http.NotFoundHandler()) // any answer will do
	defer online.Close()
	s, err := Open(ctx, Options{Home: t.TempDir(), StoreURL: online.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := s.Recommend(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.Offline != "" {
		t.Errorf("store answering, yet offline: %s", r.Offline)
	}
	if r.Model != nil && r.Variant.Size > maxFirstDownload {
		t.Errorf("recommended a %d-byte download", r.Variant.Size)
	}

	// A port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s.Resolver.BaseURL = "http://" + addr
	r, err = s.Recommend(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Offline, addr+" cannot be reached") || !strings.Contains(r.Offline, "refused") {
		t.Errorf("offline reason %q, want one naming %s and the refusal", r.Offline, addr)
	}

	s.Resolver.BaseURL = "http://no-such-host.invalid"
	if err := s.StoreReachable(ctx); err == nil || !strings.Contains(err.Error(), "no-such-host.invalid cannot be looked up") {
		t.Errorf("unresolvable store: %v", err)
	}
}
