package main

import (
	"sync"

	"inferenceruntime/backend/events"
)

// cliProgress draws progress events on a Bar for a command that reports the
// outcome itself, so that nothing is said twice: a failed line leaves its
// reason to the command's error, and with holdDone a finished line waits
// for release (an import that found its file already in the library says
// so instead of drawing a finished bar).
type cliProgress struct {
	bar      *events.Bar
	holdDone bool

	mu   sync.Mutex
	held []events.Progress
}

func (c *cliProgress) Emit(topic string, payload any) {
	p, ok := payload.(events.Progress)
	if !ok || topic != events.TopicProgress {
		c.bar.Emit(topic, payload)
		return
	}
	switch p.State {
	case "failed":
		p.Error = ""
	case "done":
		if c.holdDone {
			c.mu.Lock()
			c.held = append(c.held, p)
			c.mu.Unlock()
			return
		}
	}
	c.bar.Emit(topic, p)
}

// release draws the finished lines held back.
func (c *cliProgress) release() {
	c.mu.Lock()
	held := c.held
	c.held = nil
	c.mu.Unlock()
	for _, p := range held {
		c.bar.Emit(events.TopicProgress, p)
	}
}
