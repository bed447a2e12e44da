package service

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"inferenceruntime/backend/history"
	"inferenceruntime/backend/library"
	"inferenceruntime/inference/vision"
	"inferenceruntime/internal/testshared"
)

// TestChatsWithImages: a question with an image goes to a model with a
// projector and is saved with it; a text-only model refuses it before
// anything is saved; the image's positions count in the context meter and
// against the context before the request is queued.
func TestChatsWithImages(t *testing.T) {
	vf := testshared.Vision(t)
	model, proj := vf.Model, vf.Projector
	pic, err := os.ReadFile(vf.Image)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	svc, c, evs := chatsService(t)
	if _, err := svc.ImportModel(ctx, model, library.ImportOptions{Name: "eyes", Projector: proj}); err != nil {
		t.Fatal(err)
	}

	blind, err := c.History.Create(ctx, history.NewConversation{Model: "tiny"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Send(ctx, blind.ID, 0, "What is this?", history.Image{Data: pic})
	var inv *InvalidError
	if !errors.As(err, &inv) || !strings.Contains(err.Error(), "no vision projector") {
		t.Fatalf("image for a text-only model: %v, want an images error naming the missing projector", err)
	}
	if th, _ := c.History.Thread(ctx, blind.ID); len(th.Messages) != 0 {
		t.Fatal("a refused question was saved")
	}

	conv, err := c.History.Create(ctx, history.NewConversation{Model: "eyes",
		Params: history.Params{Temperature: ptr(0.0), MaxTokens: 4}})
	if err != nil {
		t.Fatal(err)
	}
	sent, err := c.Send(ctx, conv.ID, 0, "What is this?", history.Image{Data: pic})
	if err != nil {
		t.Fatal(err)
	}
	if len(sent.Question.Images) != 1 || sent.Question.Images[0].MIME != "image/png" {
		t.Fatalf("question saved with %+v", sent.Question.Images)
	}
	reply := evs.wait(t)
	if reply.State != history.StateDone || reply.Content == "" {
		t.Fatalf("reply %+v", reply)
	}
	per, err := vision.ImageTokens(proj)
	if err != nil {
		t.Fatal(err)
	}
	u, err := c.Usage(ctx, conv.ID, reply.ID, "")
	if err != nil || u.Tokens < per {
		t.Fatalf("usage %+v (%v): the image's %d positions are not counted", u, err, per)
	}

	small, err := c.History.Create(ctx, history.NewConversation{Model: "eyes", Params: history.Params{ContextLength: per}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Send(ctx, small.ID, 0, "What is this?", history.Image{Data: pic})
	if !errors.As(err, &inv) || !strings.Contains(err.Error(), "for 1 images") {
		t.Fatalf("an image larger than the context: %v", err)
	}
	if _, err := c.Send(ctx, conv.ID, reply.ID, "And this?", history.Image{Data: []byte("not a picture")}); !errors.As(err, &inv) {
		t.Fatalf("a corrupt image: %v", err)
	}
}
