package main

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wailsapp/wails/v2/pkg/options"

	"inferenceruntime/backend/events"
	"inferenceruntime/inference/model/synth"
)

func TestOpenPaths(t *testing.T) {
	got := openPaths([]string{
		"a.gguf", "/abs/b.gguf", "file:///x/c%20d.gguf", "file://localhost/e.gguf",
		"--flag", "-x", "", "https://example.com/f.gguf", "file://otherhost/g.gguf", "../h.gguf",
	}, "/work/dir")
	want := []string{"/work/dir/a.gguf", "/abs/b.gguf", "/x/c d.gguf", "/e.gguf", "/work/h.gguf"}
	if !slices.Equal(got, want) {
		t.Errorf("openPaths = %q, want %q", got, want)
	}
}

func TestInstanceID(t *testing.T) {
	a, b := instanceID("/home/u/.local/share/inference-runtime"), instanceID("/tmp/other")
	if a == b || a != instanceID("/home/u/.local/share/inference-runtime/") {
		t.Errorf("ids %q %q: one per data directory", a, b)
	}
	for _, c := range a {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.') {
			t.Fatalf("id %q has %q: not a D-Bus name element", a, c)
		}
	}
}

// TestSecondInstanceImports is what a double-click on a .gguf does while the
// app is open: the second start's arguments reach secondInstance, and the
// file is imported with the events of a drop (files:dropped, progress,
// imports:started). Files named before the page has loaded and the data
// directory is open wait for both.
func TestSecondInstanceImports(t *testing.T) {
	shape, _ := synth.ShapeByName("tiny")
	plan, err := synth.NewPlan(shape, "Q8_0")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := plan.WriteFile(filepath.Join(dir, "opened.gguf"), 1); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{imp: make(chan events.Progress, 16)}
	a := openTestApp(t, rec)

	a.secondInstance(options.SecondInstanceData{Args: []string{"opened.gguf"}, WorkingDirectory: dir})
	if n := len(topicOf(rec, EventFilesDropped)); n != 0 {
		t.Fatalf("%d drops before the page loaded; want them kept until domReady", n)
	}
	a.domReady(context.Background())
	if n := len(topicOf(rec, EventFilesDropped)); n != 0 {
		t.Fatalf("%d drops before startup opened the data directory", n)
	}
	a.serviceOpened()
	var p events.Progress
	select {
	case p = <-rec.imp:
	case <-time.After(time.Minute):
		t.Fatal("no import finished")
	}
	if p.State != "done" {
		t.Fatalf("import %+v", p)
	}
	dropped := topicOf(rec, EventFilesDropped)
	if len(dropped) != 1 || !slices.Equal(dropped[0].([]string), []string{filepath.Join(dir, "opened.gguf")}) {
		t.Errorf("files:dropped events %v", dropped)
	}
	// imports:started follows the start of the import, which may finish first.
	for i := 0; i < 100 && len(topicOf(rec, EventImportsStarted)) == 0; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if started := topicOf(rec, EventImportsStarted); len(started) != 1 {
		t.Errorf("imports:started events %v", started)
	}
	models, err := a.ListModels()
	if err != nil {
		t.Fatal(err)
	}
	if len(models) != 1 || !strings.Contains(models[0].Name, "opened") {
		t.Fatalf("library after the open: %d models (%+v)", len(models), models)
	}

	// Once loaded, a further open imports at once.
	plan2, err := synth.NewPlan(shape, "F32")
	if err != nil {
		t.Fatal(err)
	}
	if err := plan2.WriteFile(filepath.Join(dir, "second.gguf"), 2); err != nil {
		t.Fatal(err)
	}
	a.secondInstance(options.SecondInstanceData{Args: []string{"file://" + filepath.Join(dir, "second.gguf")}, WorkingDirectory: "/"})
	// The import reports done more than once (the library's own progress
	// and the app's); wait for the library to hold the second model.
	deadline := time.Now().Add(time.Minute)
	for {
		if models, _ := a.ListModels(); len(models) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the second open was not imported: %v", topicOf(rec, events.TopicProgress))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(topicOf(rec, EventFilesDropped)); n != 2 {
		t.Errorf("%d files:dropped events, want 2", n)
	}
}

// topicOf returns the payloads recorded under topic.
func topicOf(r *recorder, topic string) []any {
	var out []any
	for _, e := range r.Events() {
		if e.Topic == topic {
			out = append(out, e.Payload)
		}
	}
	return out
}
