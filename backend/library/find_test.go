package library

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestFind looks models up by every kind of reference, and checks that
// Find works from the database alone: it finds models whose files are gone
// (where ResolveInstalled reports them missing) and never takes a path.
func TestFind(t *testing.T) {
	l, _, dir := openTest(t)
	ctx := context.Background()
	blobSrc := filepath.Join(dir, "blob.gguf")
	writeModel(t, blobSrc, 512, 21)
	blob, err := l.Import(ctx, blobSrc, ImportOptions{Name: "org/model:Q4_K_M"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Alias(ctx, "org/model:Q4_K_M", "fav"); err != nil {
		t.Fatal(err)
	}
	placeSrc := filepath.Join(dir, "place.gguf")
	writeModel(t, placeSrc, 512, 22)
	place, err := l.Import(ctx, placeSrc, ImportOptions{Name: "other", InPlace: true})
	if err != nil {
		t.Fatal(err)
	}
	twoTags := filepath.Join(dir, "two.gguf")
	writeModel(t, twoTags, 512, 23)
	if _, err := l.Import(ctx, twoTags, ImportOptions{Name: "org/model:Q8_0"}); err != nil {
		t.Fatal(err)
	}
	// Take both files away: Find must not notice.
	if err := os.Remove(blob.Model.Path); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(placeSrc); err != nil {
		t.Fatal(err)
	}

	bid, pid := blob.Model.ID, place.Model.ID
	tests := []struct {
		ref     string
		want    string // model id; "" = not found
		ambig   bool   // want ErrAmbiguous
		missing bool   // ResolveInstalled reports the file missing
	}{
		{ref: "org/model:Q4_K_M", want: bid, missing: true},
		{ref: "ORG/MODEL:q4_k_m", want: bid, missing: true},
		{ref: "fav", want: bid, missing: true},
		{ref: "Fav:latest", want: bid, missing: true},
		{ref: bid, want: bid, missing: true},
		{ref: bid[:8], want: bid, missing: true},
		{ref: "other", want: pid, missing: true},
		{ref: "other:latest", want: pid, missing: true},
		{ref: "org/model", ambig: true},
		{ref: "org/model:latest", ambig: true},
		{ref: bid[:5]}, // too short for an id prefix
		{ref: ""},
		{ref: "no/such:model"},
		{ref: twoTags}, // a GGUF file's path is not a name
		{ref: placeSrc},
	}
	for _, tc := range tests {
		t.Run(tc.ref, func(t *testing.T) {
			m, err := l.Find(ctx, tc.ref)
			switch {
			case tc.ambig:
				if !errors.Is(err, ErrAmbiguous) || !errors.Is(err, ErrNotFound) {
					t.Fatalf("Find = %v, want ErrAmbiguous (and ErrNotFound)", err)
				}
			case tc.want == "":
				if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrAmbiguous) {
					t.Fatalf("Find = %+v, %v; want ErrNotFound", m, err)
				}
			default:
				if err != nil || m.ID != tc.want {
					t.Fatalf("Find = %+v, %v; want model %s", m, err, tc.want)
				}
				if _, err := l.ResolveInstalled(ctx, tc.ref); tc.missing != errors.Is(err, ErrMissing) {
					t.Fatalf("ResolveInstalled = %v, missing file expected: %v", err, tc.missing)
				}
			}
		})
	}
}
