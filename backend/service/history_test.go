package service

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"inferenceruntime/backend/events"
	"inferenceruntime/backend/history"
	"inferenceruntime/backend/library"
	"inferenceruntime/inference/model/synth"
	"inferenceruntime/inference/sample"
)

// chatEvents collects TopicChat events and lets a test wait for a reply's
// end; onToken, when set, runs inside the generation for each piece, and
// onDone, when set, receives the "done" events instead of wait.
type chatEvents struct {
	mu      sync.Mutex
	events  []ChatEvent
	loads   []ModelLoadEvent
	done    chan ChatEvent
	onToken func(ChatEvent)
	onDone  func(ChatEvent)
}

func (c *chatEvents) Emit(topic string, payload any) {
	switch ev := payload.(type) {
	case ChatEvent:
		c.mu.Lock()
		c.events = append(c.events, ev)
		f, d := c.onToken, c.onDone
		c.mu.Unlock()
		if ev.Type == "token" && f != nil {
			f(ev)
		}
		if ev.Type == "done" {
			if d != nil {
				d(ev)
			} else {
				c.done <- ev
			}
		}
	case ModelLoadEvent:
		c.mu.Lock()
		c.loads = append(c.loads, ev)
		c.mu.Unlock()
	}
}

// wait returns the next finished reply.
func (c *chatEvents) wait(t *testing.T) history.Message {
	t.Helper()
	select {
	case ev := <-c.done:
		return *ev.Message
	case <-time.After(2 * time.Minute):
		t.Fatal("no reply finished")
	}
	return history.Message{}
}

// text joins the pieces streamed for a message.
func (c *chatEvents) text(id int64) (string, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	n := 0
	for _, ev := range c.events {
		if ev.Type == "token" && ev.MessageID == id {
			b.WriteString(ev.Text)
			n++
			if ev.Seq != int64(n) {
				return fmt.Sprintf("piece %d has seq %d", n, ev.Seq), -1
			}
		}
	}
	return b.String(), n
}

// chatsFixture opens a service with a synthetic model imported as "tiny"
// and the chat use-case over it.
func chatsFixture(t *testing.T) (*Chats, *chatEvents) {
	t.Helper()
	_, c, evs := chatsService(t)
	return c, evs
}

// chatsService is chatsFixture with the service, to import more models.
func chatsService(t *testing.T) (*Service, *Chats, *chatEvents) {
	t.Helper()
	shape, _ := synth.ShapeByName("tiny")
	plan, err := synth.NewPlan(shape, "F32")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	if err := plan.WriteFile(path, 1); err != nil {
		t.Fatal(err)
	}
	evs := &chatEvents{done: make(chan ChatEvent, 16)}
	s, err := Open(context.Background(), Options{Home: t.TempDir(), Emitter: evs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.ImportModel(context.Background(), path, library.ImportOptions{Name: "tiny", InPlace: true}); err != nil {
		t.Fatal(err)
	}
	r := s.NewRunner(false, RunnerOptions{Threads: 1, MemoryLimit: -1, ContextLength: 256})
	t.Cleanup(func() { r.Close() })
	c, err := s.NewChats(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return s, c, evs
}

func ptr[T any](v T) *T { return &v }

func TestChatsBranches(t *testing.T) {
	ctx := context.Background()
	c, evs := chatsFixture(t)
	conv, err := c.History.Create(ctx, history.NewConversation{Model: "tiny",
		System: "You are terse.", Params: history.Params{Temperature: ptr(0.0), MaxTokens: 6}})
	if err != nil {
		t.Fatal(err)
	}
	sent, err := c.Send(ctx, conv.ID, 0, "Hello there")
	if err != nil {
		t.Fatal(err)
	}
	if sent.Reply.State != history.StateStreaming || sent.Reply.ParentID != sent.Question.ID {
		t.Errorf("reply at start = %+v", sent.Reply)
	}
	first := evs.wait(t)
	streamed, pieces := evs.text(first.ID)
	if first.ID != sent.Reply.ID || first.State != history.StateDone || first.Content != streamed || pieces == 0 {
		t.Fatalf("reply %+v; streamed %q in %d pieces", first, streamed, pieces)
	}
	if first.Stats == nil || first.Stats.GeneratedTokens != 6 || first.Stats.PromptTokens == 0 ||
		first.Stats.ContextLength != 256 || first.Stats.DoneReason != "length" {
		t.Errorf("stats = %+v", first.Stats)
	}
	if got, _ := c.History.Get(ctx, conv.ID); got.Title != "Hello there" {
		t.Errorf("title %q, want the first question", got.Title)
	}
	if len(evs.loads) != 2 || evs.loads[0].State != "loading" || evs.loads[1].State != "ready" ||
		evs.loads[1].Seq <= evs.loads[0].Seq {
		t.Errorf("model load events %+v", evs.loads)
	}

	// Regenerate: a second version of the reply; greedy sampling repeats it.
	again, err := c.Regenerate(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	second := evs.wait(t)
	if second.ID != again.ID || second.ParentID != sent.Question.ID || second.Content != first.Content {
		t.Errorf("regenerated %+v, first %q", second, first.Content)
	}
	// Edit the question: a new branch with its own reply.
	edited, err := c.Edit(ctx, sent.Question.ID, "Goodbye now")
	if err != nil {
		t.Fatal(err)
	}
	evs.wait(t)
	th, err := c.History.Thread(ctx, conv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(th.Messages) != 2 || th.Messages[0].ID != edited.Question.ID || len(th.Messages[0].Siblings) != 2 ||
		th.Messages[1].ID != edited.Reply.ID {
		t.Fatalf("thread after the edit: %+v", th.Messages)
	}
	th, _ = c.History.SelectBranch(ctx, sent.Question.ID)
	if th.Messages[1].ID != second.ID || len(th.Messages[1].Siblings) != 2 {
		t.Errorf("first branch shows %+v", th.Messages)
	}
	// A follow-up continues the branch on screen.
	follow, err := c.Send(ctx, conv.ID, second.ID, "And then?")
	if err != nil {
		t.Fatal(err)
	}
	evs.wait(t)
	path, _ := c.History.Path(ctx, follow.Reply.ID)
	if len(path) != 4 || path[1].ID != second.ID {
		t.Errorf("follow-up path %+v", path)
	}

	u, err := c.Usage(ctx, conv.ID, follow.Reply.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	withDraft, _ := c.Usage(ctx, conv.ID, follow.Reply.ID, "one more question, please")
	if u.Limit != 256 || !u.Fits || u.Tokens == 0 || withDraft.Tokens <= u.Tokens {
		t.Errorf("usage %+v, with a draft %+v", u, withDraft)
	}
	if _, err := c.Edit(ctx, follow.Reply.ID, "x"); err == nil {
		t.Error("editing a reply succeeded")
	}
	if _, err := c.Regenerate(ctx, sent.Question.ID); err == nil {
		t.Error("regenerating a question succeeded")
	}
}

func TestChatsStopAndLimits(t *testing.T) {
	ctx := context.Background()
	c, evs := chatsFixture(t)
	conv, err := c.History.Create(ctx, history.NewConversation{Model: "tiny", Params: history.Params{Temperature: ptr(0.0)}})
	if err != nil {
		t.Fatal(err)
	}
	// Stop after the third piece, from inside the generation: no race with
	// the end of the reply.
	var tokens int
	var busyErr error
	evs.onToken = func(ev ChatEvent) {
		tokens++
		if tokens == 1 {
			_, busyErr = c.Send(ctx, conv.ID, 0, "second question while busy")
		}
		if tokens == 3 {
			if !c.Stop(ev.ConversationID) {
				t.Error("Stop found no reply")
			}
		}
	}
	sent, err := c.Send(ctx, conv.ID, 0, "Tell me a long story")
	if err != nil {
		t.Fatal(err)
	}
	if c.Streaming(conv.ID) != sent.Reply.ID {
		t.Errorf("Streaming = %d, want %d", c.Streaming(conv.ID), sent.Reply.ID)
	}
	stopped := evs.wait(t)
	evs.onToken = nil
	streamed, n := evs.text(stopped.ID)
	if stopped.State != history.StateStopped || n != 3 || stopped.Content != streamed || stopped.Stats.DoneReason != "cancelled" {
		t.Errorf("stopped reply %+v (%d pieces streamed: %q)", stopped, n, streamed)
	}
	if !errors.Is(busyErr, ErrBusy) {
		t.Errorf("send while streaming: %v", busyErr)
	}
	if c.Streaming(conv.ID) != 0 || c.Stop(conv.ID) {
		t.Error("a reply still counts as streaming")
	}

	// A conversation that no longer fits is refused with nothing saved.
	small, _ := c.History.Create(ctx, history.NewConversation{Model: "tiny", Params: history.Params{ContextLength: 16}})
	_, err = c.Send(ctx, small.ID, 0, strings.Repeat("many words here ", 20))
	var inv *InvalidError
	if !errors.As(err, &inv) || !strings.Contains(err.Error(), "context of 16") {
		t.Errorf("too long: %v", err)
	}
	if msgs, _ := c.History.Messages(ctx, small.ID); len(msgs) != 0 {
		t.Errorf("a refused question was saved: %+v", msgs)
	}
	u, err := c.Usage(ctx, small.ID, 0, strings.Repeat("many words here ", 20))
	if err != nil || u.Fits || u.Limit != 16 || u.Tokens < 16 {
		t.Errorf("usage of a draft too long: %+v %v", u, err)
	}
	// An unknown model is refused before anything is saved.
	lost, _ := c.History.Create(ctx, history.NewConversation{Model: "missing"})
	if _, err := c.Send(ctx, lost.ID, 0, "hi"); !errors.Is(err, ErrModelNotFound) {
		t.Errorf("unknown model: %v", err)
	}
}

// TestChatsSendFromDone sends the next question from the "done" handler, as
// the desktop app does: by the time a client hears "done", the conversation
// must take a new message. Many turns, because the handler runs on the
// goroutine that wrote the reply, right after it ends.
func TestChatsSendFromDone(t *testing.T) {
	const turns = 300
	ctx := context.Background()
	c, evs := chatsFixture(t)
	conv, err := c.History.Create(ctx, history.NewConversation{Model: "tiny",
		Params: history.Params{Temperature: ptr(0.0), MaxTokens: 1}})
	if err != nil {
		t.Fatal(err)
	}
	finished := make(chan error, 1)
	n := 0
	evs.mu.Lock()
	evs.onDone = func(ev ChatEvent) {
		n++
		if ev.Message.State != history.StateDone {
			finished <- fmt.Errorf("turn %d ended %s: %s", n, ev.Message.State, ev.Message.Error)
			return
		}
		if n == turns {
			finished <- nil
			return
		}
		// Each question starts its own branch, so the context never fills.
		if _, err := c.Send(ctx, conv.ID, 0, fmt.Sprintf("question %d", n+1)); err != nil {
			finished <- fmt.Errorf("send from the done handler of turn %d: %w", n, err)
		}
	}
	evs.mu.Unlock()
	if _, err := c.Send(ctx, conv.ID, 0, "question 1"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-finished:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Minute):
		t.Fatalf("%d turns did not finish", turns)
	}
}

// TestWailsEmitter checks that the Wails emitter adapter passes topics and
// payloads through.
func TestWailsEmitter(t *testing.T) {
	type call struct {
		ctx  context.Context
		name string
		data []any
	}
	var calls []call
	ctx := context.WithValue(context.Background(), struct{}{}, "window")
	w := events.NewWails(ctx, func(c context.Context, name string, data ...interface{}) {
		calls = append(calls, call{c, name, data})
	})
	w.Emit(TopicChat, ChatEvent{Type: "token", Text: "hi"})
	events.NewWails(nil, nil).Emit("dropped", 1)
	if len(calls) != 1 || calls[0].ctx != ctx || calls[0].name != TopicChat || len(calls[0].data) != 1 ||
		calls[0].data[0].(ChatEvent).Text != "hi" {
		t.Errorf("calls = %+v", calls)
	}
}

// TestModelSampling reads a model's recommended sampler settings and uses
// them where a conversation sets nothing.
func TestModelSampling(t *testing.T) {
	shape, _ := synth.ShapeByName("tiny")
	plan, err := synth.NewPlan(shape, "F32")
	if err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(t.TempDir(), "plain.gguf")
	if err := plan.WriteFile(plain, 1); err != nil {
		t.Fatal(err)
	}
	plan.KV = append(plan.KV,
		synth.KV{Key: "general.sampling.temp", Value: float32(0.25)},
		synth.KV{Key: "general.sampling.top_k", Value: uint32(7)},
		synth.KV{Key: "general.sampling.top_p", Value: float32(0.5)},
		synth.KV{Key: "general.sampling.min_p", Value: float32(2)}, // out of range: ignored
		synth.KV{Key: "general.sampling.penalty_repeat", Value: float32(1.1)})
	tuned := filepath.Join(t.TempDir(), "tuned.gguf")
	if err := plan.WriteFile(tuned, 1); err != nil {
		t.Fatal(err)
	}
	def := sample.DefaultParams()
	got, err := ModelSampling(plain)
	if err != nil || got != def {
		t.Errorf("no sampling keys: %+v, %v; want the defaults", got, err)
	}
	got, err = ModelSampling(tuned)
	if err != nil {
		t.Fatal(err)
	}
	want := def
	want.Temperature, want.TopK, want.TopP, want.RepeatPenalty = 0.25, 7, 0.5, 1.1
	if got != want {
		t.Errorf("sampling = %+v, want %+v", got, want)
	}
	if _, err := ModelSampling(filepath.Join(t.TempDir(), "missing.gguf")); err == nil {
		t.Error("a missing file gave no error")
	}

	o := GenerateOptionsFrom(history.Params{TopK: ptr(3), Seed: 9, MaxTokens: 4}, got)
	if o.Sampling.TopK != 3 || o.Sampling.Temperature != 0.25 || o.Sampling.Seed != 9 || o.MaxTokens != 4 {
		t.Errorf("options = %+v", o)
	}
	if o := GenerateOptionsFrom(history.Params{}, got); o.Sampling.Seed == 0 {
		t.Error("seed 0 was not replaced by a random seed")
	}
}
