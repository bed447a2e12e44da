package history

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Defaults for how often a streaming reply is written down.
const (
	// DefaultFlushInterval is the longest a piece of a reply stays only in
	// memory.
	DefaultFlushInterval = 250 * time.Millisecond
	// DefaultFlushPieces writes earlier when this many pieces arrived
	// (fast models).
	DefaultFlushPieces = 64
)

// Reply is an assistant message being written. The message exists in the
// database from the start (state "streaming"); Append collects the text and
// writes it down every FlushInterval or FlushPieces pieces, each write a
// committed transaction, so a crash loses at most that much. Finish writes
// the rest with the final state. A Reply is safe for concurrent use.
type Reply struct {
	s        *Store
	id       int64
	interval time.Duration
	pieces   int

	mu       sync.Mutex
	text     strings.Builder
	saved    int // bytes of text in the database
	pending  int // pieces since the last write
	last     time.Time
	timer    *time.Timer
	finished bool
	err      error // first write error

	onFlush func(saved int) // tests: called after each write with the bytes saved
}

// ReplyOptions tune a Reply; zero values take the defaults.
type ReplyOptions struct {
	FlushInterval time.Duration
	FlushPieces   int
}

// BeginReply inserts an empty assistant message under parentID (the
// question it answers) in state "streaming" and makes it the current leaf.
func (s *Store) BeginReply(ctx context.Context, conversationID, parentID int64, model string, o ReplyOptions) (*Reply, error) {
	id, err := s.insert(ctx, conversationID, NewMessage{ParentID: parentID, Role: RoleAssistant, Model: model}, StateStreaming)
	if err != nil {
		return nil, err
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.FlushPieces <= 0 {
		o.FlushPieces = DefaultFlushPieces
	}
	return &Reply{s: s, id: id, interval: o.FlushInterval, pieces: o.FlushPieces, last: time.Now()}, nil
}

// ID is the message's id.
func (r *Reply) ID() int64 { return r.id }

// Text returns the reply so far.
func (r *Reply) Text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.text.String()
}

// Append adds a piece of the reply. It writes to the database when enough
// time or pieces went by, and otherwise makes sure a write happens within
// the interval even if no further piece comes. The error is that of a
// failed write (the text is kept and written again at the next chance).
func (r *Reply) Append(piece string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished {
		return fmt.Errorf("history: reply %d is finished", r.id)
	}
	r.text.WriteString(piece)
	r.pending++
	if r.pending >= r.pieces || time.Since(r.last) >= r.interval {
		return r.flushLocked()
	}
	if r.timer == nil {
		r.timer = time.AfterFunc(r.interval-time.Since(r.last), r.timedFlush)
	}
	return nil
}

func (r *Reply) timedFlush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.timer = nil
	if !r.finished && r.saved < r.text.Len() {
		_ = r.flushLocked() // remembered in r.err, returned by Finish
	}
}

// flushLocked writes the text so far.
func (r *Reply) flushLocked() error {
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	text := r.text.String()
	_, err := r.s.db.Exec(`UPDATE messages SET content = ?, updated_at = ? WHERE id = ?`, text, r.s.millis(), r.id)
	r.last = time.Now()
	if err != nil {
		err = fmt.Errorf("history: save reply %d: %w", r.id, err)
		if r.err == nil {
			r.err = err
		}
		return err
	}
	r.saved, r.pending = len(text), 0
	if r.onFlush != nil {
		r.onFlush(r.saved)
	}
	return nil
}

// Finish writes the whole reply with its final state (done, stopped or
// error), the error text for state error, and the stats. It returns the
// stored message. It writes even when ctx is cancelled (a stopped reply is
// saved with the context that stopped it). A write error from an earlier Append that the final write
// repaired is not reported.
func (r *Reply) Finish(ctx context.Context, state, errText string, stats *Stats) (Message, error) {
	switch state {
	case StateDone, StateStopped, StateError:
	default:
		return Message{}, fmt.Errorf("history: finish reply %d: state %q is not done, stopped or error", r.id, state)
	}
	r.mu.Lock()
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	r.finished = true
	text := r.text.String()
	r.mu.Unlock()
	st := []byte("{}")
	if stats != nil {
		var err error
		if st, err = json.Marshal(stats); err != nil {
			return Message{}, fmt.Errorf("history: encode stats: %w", err)
		}
	}
	ctx = context.WithoutCancel(ctx)
	tx, err := r.s.db.BeginTx(ctx, nil)
	if err != nil {
		return Message{}, fmt.Errorf("history: finish reply %d: %w", r.id, err)
	}
	defer tx.Rollback()
	now := r.s.millis()
	if _, err := tx.ExecContext(ctx, `UPDATE messages SET content = ?, state = ?, error = ?, stats = ?, updated_at = ? WHERE id = ?`,
		text, state, errText, string(st), now, r.id); err != nil {
		return Message{}, fmt.Errorf("history: finish reply %d: %w", r.id, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE conversations SET updated_at = ? WHERE id = (SELECT conversation_id FROM messages WHERE id = ?)`,
		now, r.id); err != nil {
		return Message{}, fmt.Errorf("history: finish reply %d: %w", r.id, err)
	}
	if err := tx.Commit(); err != nil {
		return Message{}, fmt.Errorf("history: finish reply %d: %w", r.id, err)
	}
	return r.s.Message(ctx, r.id)
}
