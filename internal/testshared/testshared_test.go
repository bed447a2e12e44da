package testshared

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFind(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("root %s has no go.mod: %v", root, err)
	}
	shared := filepath.Join(filepath.Dir(root), "shared")
	type findCase struct {
		rel  []string
		want string // "" = not found
	}
	tests := []findCase{
		{[]string{"no-such-entry-7f3a"}, ""},
		{[]string{"models", "no-such-model.gguf"}, ""},
	}
	if _, err := os.Stat(filepath.Join(shared, "models")); err == nil {
		tests = append(tests, findCase{nil, shared}, findCase{[]string{"models"}, filepath.Join(shared, "models")})
	}
	for _, tc := range tests {
		got, err := Find(tc.rel...)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("Find(%q) = %s, want an error", tc.rel, got)
		case tc.want == "" && !strings.Contains(err.Error(), filepath.Join(append([]string{shared}, tc.rel...)...)):
			t.Errorf("Find(%q) error %q does not name the path", tc.rel, err)
		case tc.want != "" && (err != nil || got != tc.want):
			t.Errorf("Find(%q) = %q, %v; want %q", tc.rel, got, err, tc.want)
		}
	}
}

func TestDirSkipsWhenAbsent(t *testing.T) {
	var skipped bool
	t.Run("absent", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		Dir(t, "no-such-entry-7f3a")
		t.Error("Dir returned for a missing path")
	})
	if !skipped {
		t.Error("Dir did not skip")
	}
}
