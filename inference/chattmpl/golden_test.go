package chattmpl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"inferenceruntime/internal/testshared"
)

// goldenNow is the fixed clock the reference renderings were made with.
var goldenNow = func() time.Time { return time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC) }

// loadCase reads a case file into render variables, keeping key order.
func loadCase(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	v, err := ParseJSON(data)
	if err != nil {
		return nil, err
	}
	d, ok := v.(*Dict)
	if !ok {
		return nil, os.ErrInvalid
	}
	vars := map[string]any{}
	for i, k := range d.keys {
		vars[k.(string)] = d.vals[i]
	}
	return vars, nil
}

func TestGoldenTemplates(t *testing.T) {
	root := testshared.Dir(t, "templates")
	dirs, err := filepath.Glob(filepath.Join(root, "*", "template.jinja"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no templates under %s: %v", root, err)
	}
	pass, total := 0, 0
	for _, tmplPath := range dirs {
		dir := filepath.Dir(tmplPath)
		name := filepath.Base(dir)
		src, err := os.ReadFile(tmplPath)
		if err != nil {
			t.Fatal(err)
		}
		tmpl, parseErr := Parse(string(src))
		cases, _ := filepath.Glob(filepath.Join(dir, "cases", "*.json"))
		for _, c := range cases {
			caseName := strings.TrimSuffix(filepath.Base(c), ".json")
			total++
			t.Run(name+"/"+caseName, func(t *testing.T) {
				expected, txtErr := os.ReadFile(filepath.Join(dir, "expected", caseName+".txt"))
				_, errFileErr := os.Stat(filepath.Join(dir, "expected", caseName+".error"))
				wantErr := txtErr != nil && errFileErr == nil
				if txtErr != nil && !wantErr {
					t.Fatalf("no expected output for %s", caseName)
				}
				vars, err := loadCase(c)
				if err != nil {
					t.Fatalf("case %s: %v", c, err)
				}
				var got string
				err = parseErr
				if err == nil {
					got, err = tmpl.Execute(vars, Options{Now: goldenNow})
				}
				switch {
				case wantErr && err == nil:
					t.Errorf("rendering succeeded, want an error; got:\n%s", got)
				case !wantErr && err != nil:
					t.Errorf("render failed: %v", err)
				case !wantErr && got != string(expected):
					t.Errorf("output differs at byte %d\n--- got ---\n%s\n--- want ---\n%s", firstDiff(got, string(expected)), got, expected)
				default:
					pass++
				}
			})
		}
	}
	t.Logf("golden chat templates: %d/%d cases pass", pass, total)
}

func firstDiff(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
