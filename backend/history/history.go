// Package history keeps chat conversations in the application's SQLite
// database: conversations with their settings, and messages as a tree so
// that an edited question or a regenerated answer becomes a branch next to
// the old one. Replies are saved while they stream (see Reply), so a crash
// loses at most the last fraction of a second of a reply. Messages are
// indexed for full-text search (FTS5) and a conversation exports to Markdown
// or JSON.
//
// The schema is migration 0004_history.sql of package db.
package history

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrNotFound is returned for a conversation or message that does not exist.
var ErrNotFound = errors.New("not found")

// Roles of messages.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// States of a message.
const (
	StateStreaming   = "streaming"   // being written
	StateDone        = "done"        // complete
	StateStopped     = "stopped"     // the user stopped it
	StateError       = "error"       // generation failed
	StateInterrupted = "interrupted" // the process died while it streamed
)

// maxTitle bounds conversation titles (runes).
const maxTitle = 200

// Params are a conversation's generation settings. Zero values mean "the
// model's or the app's default".
type Params struct {
	Temperature   *float64 `json:"temperature,omitempty"`
	TopP          *float64 `json:"topP,omitempty"`
	TopK          *int     `json:"topK,omitempty"`
	MinP          *float64 `json:"minP,omitempty"`
	RepeatPenalty *float64 `json:"repeatPenalty,omitempty"`
	MaxTokens     int      `json:"maxTokens,omitempty"`
	ContextLength int      `json:"contextLength,omitempty"`
	// Seed 0 means a random seed for every reply.
	Seed uint64 `json:"seed,omitempty"`
}

// Conversation is one chat.
type Conversation struct {
	ID     int64  `json:"id"`
	Title  string `json:"title"`
	Model  string `json:"model"`
	System string `json:"system"`
	Params Params `json:"params"`
	// CurrentLeaf is the last message of the branch on screen (0: empty).
	CurrentLeaf int64 `json:"currentLeaf"`
	// Messages counts all messages, every branch included.
	Messages  int       `json:"messages"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Stats describe how a reply was generated.
type Stats struct {
	PromptTokens    int     `json:"promptTokens"`
	GeneratedTokens int     `json:"generatedTokens"`
	CachedTokens    int     `json:"cachedTokens,omitempty"`
	TimeToFirstMS   float64 `json:"timeToFirstMs"`
	TokensPerSecond float64 `json:"tokensPerSecond"`
	PrefillMS       float64 `json:"prefillMs,omitempty"`
	DecodeMS        float64 `json:"decodeMs,omitempty"`
	LoadMS          float64 `json:"loadMs,omitempty"`
	TotalMS         float64 `json:"totalMs,omitempty"`
	ContextLength   int     `json:"contextLength,omitempty"`
	DoneReason      string  `json:"doneReason,omitempty"`
}

// Message is one node of a conversation's tree.
type Message struct {
	ID             int64     `json:"id"`
	ConversationID int64     `json:"conversationId"`
	ParentID       int64     `json:"parentId"` // 0: a first message
	Role           string    `json:"role"`
	Content        string    `json:"content"`
	Model          string    `json:"model,omitempty"`
	State          string    `json:"state"`
	Error          string    `json:"error,omitempty"`
	Stats          *Stats    `json:"stats,omitempty"`
	Images         []Image   `json:"images,omitempty"` // attached by the user
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt"`
}

// Store reads and writes the history. It is safe for concurrent use.
type Store struct {
	db  *sql.DB
	now func() time.Time
}

// New returns a Store over an open database (db.Open). It marks replies
// left streaming by a process that died as interrupted, keeping their text.
// Call it once per process, before any reply streams.
func New(ctx context.Context, db *sql.DB) (*Store, error) {
	s := &Store{db: db, now: time.Now}
	if _, err := s.RecoverInterrupted(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// RecoverInterrupted marks every message still streaming as interrupted and
// returns how many there were. Only call it when no reply of this process
// is streaming.
func (s *Store) RecoverInterrupted(ctx context.Context) (int, error) {
	res, err := s.db.ExecContext(ctx,
		`UPDATE messages SET state = 'interrupted', updated_at = ? WHERE state = 'streaming'`, s.millis())
	if err != nil {
		return 0, fmt.Errorf("history: recover interrupted replies: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

func (s *Store) millis() int64 { return s.now().UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// NewConversation describes a conversation to create.
type NewConversation struct {
	Title  string
	Model  string
	System string
	Params Params
}

// Create starts an empty conversation.
func (s *Store) Create(ctx context.Context, c NewConversation) (Conversation, error) {
	params, err := json.Marshal(c.Params)
	if err != nil {
		return Conversation{}, fmt.Errorf("history: encode parameters: %w", err)
	}
	now := s.millis()
	res, err := s.db.ExecContext(ctx,
		`INSERT INTO conversations (title, model, system, params, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
		cleanTitle(c.Title), c.Model, c.System, string(params), now, now)
	if err != nil {
		return Conversation{}, fmt.Errorf("history: create conversation: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return Conversation{}, fmt.Errorf("history: create conversation: %w", err)
	}
	return s.Get(ctx, id)
}

const conversationColumns = `c.id, c.title, c.model, c.system, c.params, coalesce(c.current_leaf, 0), c.created_at, c.updated_at,
	(SELECT count(*) FROM messages m WHERE m.conversation_id = c.id)`

type rowScanner interface{ Scan(dest ...any) error }

func scanConversation(r rowScanner) (Conversation, error) {
	var c Conversation
	var params string
	var created, updated int64
	if err := r.Scan(&c.ID, &c.Title, &c.Model, &c.System, &params, &c.CurrentLeaf, &created, &updated, &c.Messages); err != nil {
		return c, err
	}
	if err := json.Unmarshal([]byte(params), &c.Params); err != nil {
		return c, fmt.Errorf("conversation %d: parameters: %w", c.ID, err)
	}
	c.CreatedAt, c.UpdatedAt = fromMillis(created), fromMillis(updated)
	return c, nil
}

// Get returns one conversation.
func (s *Store) Get(ctx context.Context, id int64) (Conversation, error) {
	c, err := scanConversation(s.db.QueryRowContext(ctx,
		`SELECT `+conversationColumns+` FROM conversations c WHERE c.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("history: conversation %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("history: conversation %d: %w", id, err)
	}
	return c, nil
}

// List returns every conversation, the most recently active first.
func (s *Store) List(ctx context.Context) ([]Conversation, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+conversationColumns+` FROM conversations c ORDER BY c.updated_at DESC, c.id DESC`)
	if err != nil {
		return nil, fmt.Errorf("history: list conversations: %w", err)
	}
	defer rows.Close()
	out := []Conversation{}
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return nil, fmt.Errorf("history: list conversations: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("history: list conversations: %w", err)
	}
	return out, nil
}

// Rename sets a conversation's title.
func (s *Store) Rename(ctx context.Context, id int64, title string) (Conversation, error) {
	if err := s.exec(ctx, id, `UPDATE conversations SET title = ?, updated_at = ? WHERE id = ?`,
		cleanTitle(title), s.millis(), id); err != nil {
		return Conversation{}, fmt.Errorf("history: rename conversation %d: %w", id, err)
	}
	return s.Get(ctx, id)
}

// SetSettings stores a conversation's model, system prompt and parameters.
func (s *Store) SetSettings(ctx context.Context, id int64, model, system string, p Params) (Conversation, error) {
	params, err := json.Marshal(p)
	if err != nil {
		return Conversation{}, fmt.Errorf("history: encode parameters: %w", err)
	}
	if err := s.exec(ctx, id, `UPDATE conversations SET model = ?, system = ?, params = ?, updated_at = ? WHERE id = ?`,
		model, system, string(params), s.millis(), id); err != nil {
		return Conversation{}, fmt.Errorf("history: conversation %d settings: %w", id, err)
	}
	return s.Get(ctx, id)
}

// Delete removes a conversation with all its messages.
func (s *Store) Delete(ctx context.Context, id int64) error {
	if err := s.exec(ctx, id, `DELETE FROM conversations WHERE id = ?`, id); err != nil {
		return fmt.Errorf("history: delete conversation %d: %w", id, err)
	}
	return nil
}

// exec runs a statement that must change exactly the conversation id.
func (s *Store) exec(ctx context.Context, id int64, query string, args ...any) error {
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return ErrNotFound
	}
	return nil
}

// cleanTitle keeps a title on one line and within maxTitle runes.
func cleanTitle(t string) string {
	t = strings.Join(strings.Fields(strings.ToValidUTF8(t, "\uFFFD")), " ")
	if utf8.RuneCountInString(t) > maxTitle {
		r := []rune(t)
		t = strings.TrimSpace(string(r[:maxTitle-1])) + "…"
	}
	return t
}

// TitleFrom proposes a title from a conversation's first question: its
// first line, shortened at a word boundary.
func TitleFrom(text string) string {
	line := strings.TrimSpace(text)
	if i := strings.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	line = cleanTitle(line)
	const want = 60
	r := []rune(line)
	if len(r) <= want {
		return line
	}
	cut := string(r[:want])
	if i := strings.LastIndexByte(cut, ' '); i > want/2 {
		cut = cut[:i]
	}
	return strings.TrimSpace(cut) + "…"
}
