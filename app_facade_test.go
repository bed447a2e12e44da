package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"inferenceruntime/backend/events"
	"inferenceruntime/backend/history"
	"inferenceruntime/backend/service"
	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/model/synth"
)

func TestCheckExternalURL(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://example.com/a?b=c", true},
		{"http://localhost:8080", true},
		{"javascript:alert(1)", false},
		{"file:///etc/passwd", false},
		{"data:text/html,x", false},
		{"https://", false},
		{"//example.com", false},
		{"mailto:a@b.c", false},
	}
	for _, tt := range tests {
		if err := checkExternalURL(tt.url); (err == nil) != tt.ok {
			t.Errorf("checkExternalURL(%q) = %v, want ok=%v", tt.url, err, tt.ok)
		}
	}
}

func TestExportFileName(t *testing.T) {
	tests := []struct{ title, want string }{
		{"Hello world", "Hello world.md"},
		{"a/b\\c:d*e?f", "a-b-c-d-e-f.md"},
		{"", "conversation.md"},
		{"...", "conversation.md"},
		{"  spaced  ", "spaced.md"},
	}
	for _, tt := range tests {
		if got := exportFileName(tt.title, ".md"); got != tt.want {
			t.Errorf("exportFileName(%q) = %q, want %q", tt.title, got, tt.want)
		}
	}
	if got := shortFloat(0.8); got != 0.8 {
		t.Errorf("shortFloat(0.8) = %v", got)
	}
}

// recorder keeps the app's events for the test to wait on.
type recorder struct {
	events.Recorder
	done chan service.ChatEvent
	imp  chan events.Progress
}

func (r *recorder) Emit(topic string, payload any) {
	r.Recorder.Emit(topic, payload)
	if ev, ok := payload.(service.ChatEvent); ok && ev.Type == "done" {
		r.done <- ev
	}
	if p, ok := payload.(events.Progress); ok && p.Kind == "import" && (p.State == "done" || p.State == "failed") {
		r.imp <- p
	}
}

// openTestApp opens an App on a temporary data directory, its events going
// to emit, and shuts it down when the test ends.
func openTestApp(t *testing.T, emit events.Emitter) *App {
	t.Helper()
	a := NewApp(t.TempDir(), zerolog.Nop())
	a.emit = emit
	a.openService(context.Background())
	t.Cleanup(func() { a.shutdown(nil) })
	if a.svcErr != nil {
		t.Fatal(a.svcErr)
	}
	return a
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestAppChatAndAPI drives the facade without a window: import, chat,
// search, and the local API switched on through the settings.
func TestAppChatAndAPI(t *testing.T) {
	shape, _ := synth.ShapeByName("tiny")
	plan, err := synth.NewPlan(shape, "Q8_0")
	if err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(t.TempDir(), "tiny.gguf")
	if err := plan.WriteFile(model, 1); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{done: make(chan service.ChatEvent, 4), imp: make(chan events.Progress, 4)}
	a := openTestApp(t, rec)

	wait := func(what string, ch any) any {
		t.Helper()
		timeout := time.After(2 * time.Minute)
		switch c := ch.(type) {
		case chan service.ChatEvent:
			select {
			case v := <-c:
				return v
			case <-timeout:
			}
		case chan events.Progress:
			select {
			case v := <-c:
				return v
			case <-timeout:
			}
		}
		t.Fatalf("no %s", what)
		return nil
	}

	if _, err := a.ImportModels([]string{model}); err != nil {
		t.Fatal(err)
	}
	if p := wait("import", rec.imp).(events.Progress); p.State != "done" {
		t.Fatalf("import: %+v", p)
	}
	cards, err := a.ListModels()
	if err != nil || len(cards) != 1 || cards[0].Meta.Architecture != "llama" || cards[0].Fit.Total == 0 {
		t.Fatalf("models: %+v, %v", cards, err)
	}
	name := cards[0].Name

	conv, err := a.NewConversation(name)
	if err != nil {
		t.Fatal(err)
	}
	zero := 0.0
	if _, err := a.ConfigureConversation(conv.ID, name, "Be brief.", history.Params{Temperature: &zero, MaxTokens: 5}); err != nil {
		t.Fatal(err)
	}
	sent, err := a.SendMessage(conv.ID, 0, "Hello zebra")
	if err != nil {
		t.Fatal(err)
	}
	ev := wait("reply", rec.done).(service.ChatEvent)
	if ev.MessageID != sent.Reply.ID || ev.Message.State != history.StateDone || ev.Message.Stats.GeneratedTokens != 5 {
		t.Fatalf("reply: %+v", ev.Message)
	}
	th, err := a.GetThread(conv.ID)
	if err != nil || len(th.Messages) != 2 || th.Streaming != 0 || th.Conversation.Title != "Hello zebra" {
		t.Fatalf("thread: %+v, %v", th, err)
	}
	hits, err := a.SearchHistory("zebra")
	if err != nil || len(hits) != 2 { // the title and the question
		t.Fatalf("search: %+v, %v", hits, err)
	}
	u, err := a.ContextUsage(conv.ID, sent.Reply.ID, "")
	if err != nil || !u.Fits || u.Tokens == 0 {
		t.Fatalf("usage: %+v, %v", u, err)
	}
	if d, err := a.GetModelDefaults(name); err != nil || d.Temperature != 0.8 || d.ModelContext == 0 {
		t.Fatalf("defaults: %+v, %v", d, err)
	}

	// New inference settings give new replies a new runner at once.
	s0, _ := a.GetSettings()
	s0.Threads, s0.ContextLength, s0.Parallel = 1, 256, 3
	if _, err := a.SaveSettings(s0); err != nil {
		t.Fatal(err)
	}
	if o := a.runner.Options(); o.Threads != 1 || o.ContextLength != 256 || o.Parallel != 3 || a.chats.Runner() != a.runner {
		t.Fatalf("runner options after saving settings: %+v", o)
	}
	again, err := a.SendMessage(conv.ID, sent.Reply.ID, "And then?")
	if err != nil {
		t.Fatal(err)
	}
	if ev := wait("second reply", rec.done).(service.ChatEvent); ev.MessageID != again.Reply.ID ||
		ev.Message.State != history.StateDone || ev.Message.Stats.ContextLength != 256 {
		t.Fatalf("reply on the new runner: %+v", ev.Message)
	}

	devices, err := a.ComputeDevices()
	if err != nil || len(devices) == 0 || devices[0].Backend != "cpu" || devices[0].Name != "cpu" {
		t.Errorf("compute devices: %+v, %v", devices, err)
	}

	// The device picker: saving it gives new replies a runner with that
	// placement (a layer on the Vulkan device where there is one, else the
	// CPU), and the Models view says where the model runs.
	place, _ := a.GetSettings()
	place.Backend, place.GPULayers = "cpu", "0"
	wantBackend, wantDevice, wantLayers, wantRuns := "cpu", "", service.GPULayersNone, "cpu"
	if devs, err := compute.Devices("vulkan"); err == nil && len(devs) > 0 {
		place.Backend, place.Device, place.GPULayers = "vulkan", devs[0].Name(), "1"
		wantBackend, wantDevice, wantLayers, wantRuns = "vulkan", devs[0].Name(), 1, devs[0].Name()+"+cpu"
	}
	if _, err := a.SaveSettings(place); err != nil {
		t.Fatal(err)
	}
	if o := a.runner.Options(); o.Backend != wantBackend || o.Device != wantDevice || o.GPULayers != wantLayers || a.chats.Runner() != a.runner {
		t.Fatalf("runner options after choosing %s %s %s: %+v", place.Backend, place.Device, place.GPULayers, o)
	}
	placed, err := a.SendMessage(conv.ID, again.Reply.ID, "Where?")
	if err != nil {
		t.Fatal(err)
	}
	if ev := wait("reply on the chosen device", rec.done).(service.ChatEvent); ev.MessageID != placed.Reply.ID || ev.Message.State != history.StateDone {
		t.Fatalf("reply on the chosen device: %+v", ev.Message)
	}
	cards, err = a.ListModels()
	if err != nil || len(cards) != 1 || !cards[0].Loaded || cards[0].Device != wantRuns || cards[0].Layers == 0 ||
		(wantBackend == "vulkan") != (cards[0].GPULayers == 1) {
		t.Fatalf("where the model runs: %+v, %v", cards, err)
	}

	// The local API, on and off through the settings.
	s, _ := a.GetSettings()
	s.API.Enabled, s.API.Port = true, freePort(t)
	if _, err := a.SaveSettings(s); err != nil {
		t.Fatal(err)
	}
	st, _ := a.APIStatus()
	if !st.Running || st.URL != fmt.Sprintf("http://127.0.0.1:%d", s.API.Port) {
		t.Fatalf("api status %+v", st)
	}
	res, err := http.Get(st.URL + "/api/tags")
	if err != nil {
		t.Fatal(err)
	}
	var tags struct{ Models []struct{ Name string } }
	err = json.NewDecoder(res.Body).Decode(&tags)
	res.Body.Close()
	if err != nil || len(tags.Models) != 1 || tags.Models[0].Name != name {
		t.Fatalf("tags over the API: %+v, %v", tags, err)
	}
	s.API.Enabled = false
	if _, err := a.SaveSettings(s); err != nil {
		t.Fatal(err)
	}
	if st, _ := a.APIStatus(); st.Running || st.Enabled {
		t.Errorf("api still on: %+v", st)
	}
	if _, err := http.Get(st.URL + "/api/tags"); err == nil {
		t.Error("the API still answers after being switched off")
	}
	if ok, err := a.DeleteConversation(conv.ID); err != nil || !ok {
		t.Fatalf("delete: %v", err)
	}
}
