// Package events carries progress and state changes from the backend to
// whoever is watching: the desktop app (as Wails events), the CLI (as a
// progress bar) or a test (as a recording). The backend only ever sees the
// Emitter interface.
package events

import (
	"sync"
	"time"
)

// Topic names used by the backend. The desktop app subscribes to the same
// strings.
const (
	// TopicProgress carries a Progress value: for a running import or
	// download, and whenever one changes state (queued, running, paused,
	// verifying, done, failed, cancelled).
	TopicProgress = "progress"
	// TopicLibrary carries a LibraryChange when the set of models changed.
	TopicLibrary = "library"
)

// Emitter receives events. Implementations must be safe for concurrent use
// and must not block for long: they are called from download and import
// loops.
type Emitter interface {
	Emit(topic string, payload any)
}

// Progress describes how far an import or a download has come.
type Progress struct {
	ID    string  `json:"id"`    // download or import id
	Kind  string  `json:"kind"`  // "download", "import" or "hash"
	Name  string  `json:"name"`  // what the user asked for (model name or file)
	State string  `json:"state"` // see the download states in modelstore
	Done  int64   `json:"done"`  // bytes done
	Total int64   `json:"total"` // bytes in all; 0 when unknown
	Rate  float64 `json:"rate"`  // bytes per second, smoothed
	// ETA is the estimated time left; 0 when unknown.
	ETA   time.Duration `json:"eta"`
	Error string        `json:"error,omitempty"`
}

// Fraction is Done/Total in [0, 1], or -1 when the total is unknown.
func (p Progress) Fraction() float64 {
	if p.Total <= 0 {
		return -1
	}
	f := float64(p.Done) / float64(p.Total)
	if f > 1 {
		f = 1
	}
	return f
}

// LibraryChange tells watchers that a model was added, changed or removed.
type LibraryChange struct {
	Action  string `json:"action"` // "added", "removed", "renamed", "rescanned"
	ModelID string `json:"modelId,omitempty"`
	Name    string `json:"name,omitempty"`
}

// Nop discards every event.
type Nop struct{}

// Emit implements Emitter.
func (Nop) Emit(string, any) {}

// Func adapts a function to the Emitter interface.
type Func func(topic string, payload any)

// Emit implements Emitter.
func (f Func) Emit(topic string, payload any) { f(topic, payload) }

// Event is one recorded emission.
type Event struct {
	Topic   string
	Payload any
}

// Recorder keeps every event it receives; tests read them back.
type Recorder struct {
	mu     sync.Mutex
	events []Event
}

// Emit implements Emitter.
func (r *Recorder) Emit(topic string, payload any) {
	r.mu.Lock()
	r.events = append(r.events, Event{topic, payload})
	r.mu.Unlock()
}

// Events returns a copy of what was recorded so far.
func (r *Recorder) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// Multi sends every event to each of its emitters in order.
type Multi []Emitter

// Emit implements Emitter.
func (m Multi) Emit(topic string, payload any) {
	for _, e := range m {
		if e != nil {
			e.Emit(topic, payload)
		}
	}
}

// Or returns e, or Nop when e is nil, so callers never check for nil.
func Or(e Emitter) Emitter {
	if e == nil {
		return Nop{}
	}
	return e
}
