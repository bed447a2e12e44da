package history

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// NewMessage describes a message to add.
type NewMessage struct {
	// ParentID is the message this one follows (0: the first message of a
	// branch at the root). Adding a second child to a parent starts a
	// branch.
	ParentID int64
	Role     string
	Content  string
	Model    string
	// Images attached to the message (CheckImages validates them).
	Images []Image
}

// Add appends a finished message (a question, or an imported reply) to a
// conversation and makes it the current leaf.
func (s *Store) Add(ctx context.Context, conversationID int64, m NewMessage) (Message, error) {
	id, err := s.insert(ctx, conversationID, m, StateDone)
	if err != nil {
		return Message{}, err
	}
	return s.Message(ctx, id)
}

// insert adds a message in one transaction with the conversation's current
// leaf and activity time.
func (s *Store) insert(ctx context.Context, conversationID int64, m NewMessage, state string) (int64, error) {
	switch m.Role {
	case RoleSystem, RoleUser, RoleAssistant:
	default:
		return 0, fmt.Errorf("history: message role %q is not system, user or assistant", m.Role)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("history: add message: %w", err)
	}
	defer tx.Rollback()
	var exists bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM conversations WHERE id = ?)`, conversationID).Scan(&exists); err != nil {
		return 0, fmt.Errorf("history: add message: %w", err)
	}
	if !exists {
		return 0, fmt.Errorf("history: conversation %d: %w", conversationID, ErrNotFound)
	}
	var parent any
	if m.ParentID != 0 {
		var conv int64
		err := tx.QueryRowContext(ctx, `SELECT conversation_id FROM messages WHERE id = ?`, m.ParentID).Scan(&conv)
		if errors.Is(err, sql.ErrNoRows) || err == nil && conv != conversationID {
			return 0, fmt.Errorf("history: parent message %d in conversation %d: %w", m.ParentID, conversationID, ErrNotFound)
		}
		if err != nil {
			return 0, fmt.Errorf("history: add message: %w", err)
		}
		parent = m.ParentID
	}
	now := s.millis()
	res, err := tx.ExecContext(ctx, `INSERT INTO messages (conversation_id, parent_id, role, content, model, state, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, conversationID, parent, m.Role, m.Content, m.Model, state, now, now)
	if err != nil {
		return 0, fmt.Errorf("history: add message: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("history: add message: %w", err)
	}
	if err := insertImages(ctx, tx, id, m.Images); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE conversations SET current_leaf = ?, updated_at = ? WHERE id = ?`,
		id, now, conversationID); err != nil {
		return 0, fmt.Errorf("history: add message: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("history: add message: %w", err)
	}
	return id, nil
}

const messageColumns = `id, conversation_id, coalesce(parent_id, 0), role, content, model, state, error, stats, created_at, updated_at`

func scanMessage(r rowScanner) (Message, error) {
	var m Message
	var stats string
	var created, updated int64
	if err := r.Scan(&m.ID, &m.ConversationID, &m.ParentID, &m.Role, &m.Content, &m.Model, &m.State, &m.Error,
		&stats, &created, &updated); err != nil {
		return m, err
	}
	if stats != "" && stats != "{}" {
		m.Stats = new(Stats)
		if err := json.Unmarshal([]byte(stats), m.Stats); err != nil {
			return m, fmt.Errorf("message %d: stats: %w", m.ID, err)
		}
	}
	m.CreatedAt, m.UpdatedAt = fromMillis(created), fromMillis(updated)
	return m, nil
}

// Message returns one message.
func (s *Store) Message(ctx context.Context, id int64) (Message, error) {
	m, err := scanMessage(s.db.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM messages WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("history: message %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return m, fmt.Errorf("history: message %d: %w", id, err)
	}
	one := []Message{m}
	if err := s.loadImages(ctx, m.ConversationID, one); err != nil {
		return m, err
	}
	return one[0], nil
}

// Messages returns every message of a conversation, every branch, in the
// order they were written.
func (s *Store) Messages(ctx context.Context, conversationID int64) ([]Message, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+messageColumns+` FROM messages WHERE conversation_id = ? ORDER BY id`,
		conversationID)
	if err != nil {
		return nil, fmt.Errorf("history: messages of conversation %d: %w", conversationID, err)
	}
	defer rows.Close()
	out := []Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("history: messages of conversation %d: %w", conversationID, err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("history: messages of conversation %d: %w", conversationID, err)
	}
	return out, s.loadImages(ctx, conversationID, out)
}

// ThreadMessage is a message on the branch on screen, with its siblings
// (the other versions at the same place) for the branch switcher.
type ThreadMessage struct {
	Message
	// Siblings are the ids of all versions at this place, this one
	// included, oldest first; SiblingIndex is this one's position.
	Siblings     []int64 `json:"siblings"`
	SiblingIndex int     `json:"siblingIndex"`
}

// Thread is a conversation with the branch that ends at its current leaf.
type Thread struct {
	Conversation Conversation    `json:"conversation"`
	Messages     []ThreadMessage `json:"messages"`
}

// tree indexes a conversation's messages.
type tree struct {
	byID     map[int64]Message
	children map[int64][]int64 // parent id (0: root) -> children, oldest first
}

func newTree(msgs []Message) tree {
	t := tree{byID: make(map[int64]Message, len(msgs)), children: map[int64][]int64{}}
	for _, m := range msgs { // ordered by id: children end up oldest first
		t.byID[m.ID] = m
		t.children[m.ParentID] = append(t.children[m.ParentID], m.ID)
	}
	return t
}

// path returns the messages from the root down to id.
func (t tree) path(id int64) []Message {
	var rev []Message
	for seen := 0; id != 0 && seen <= len(t.byID); seen++ {
		m, ok := t.byID[id]
		if !ok {
			break
		}
		rev = append(rev, m)
		id = m.ParentID
	}
	out := make([]Message, len(rev))
	for i, m := range rev {
		out[len(rev)-1-i] = m
	}
	return out
}

// leaf follows the newest child from id down to a message without children.
func (t tree) leaf(id int64) int64 {
	for seen := 0; seen <= len(t.byID); seen++ {
		kids := t.children[id]
		if len(kids) == 0 {
			return id
		}
		id = kids[len(kids)-1]
	}
	return id
}

// Thread returns a conversation with its current branch.
func (s *Store) Thread(ctx context.Context, conversationID int64) (Thread, error) {
	c, err := s.Get(ctx, conversationID)
	if err != nil {
		return Thread{}, err
	}
	msgs, err := s.Messages(ctx, conversationID)
	if err != nil {
		return Thread{}, err
	}
	t := newTree(msgs)
	leaf := c.CurrentLeaf
	if _, ok := t.byID[leaf]; !ok {
		leaf = t.leaf(0) // no leaf recorded (or a stale one): the newest branch
	}
	th := Thread{Conversation: c, Messages: []ThreadMessage{}}
	for _, m := range t.path(leaf) {
		sib := t.children[m.ParentID]
		idx := 0
		for i, id := range sib {
			if id == m.ID {
				idx = i
			}
		}
		th.Messages = append(th.Messages, ThreadMessage{Message: m, Siblings: append([]int64(nil), sib...), SiblingIndex: idx})
	}
	return th, nil
}

// Path returns the messages from the first one down to id: the
// conversation a reply to id continues.
func (s *Store) Path(ctx context.Context, id int64) ([]Message, error) {
	m, err := s.Message(ctx, id)
	if err != nil {
		return nil, err
	}
	msgs, err := s.Messages(ctx, m.ConversationID)
	if err != nil {
		return nil, err
	}
	return newTree(msgs).path(id), nil
}

// SelectBranch shows the branch through message id: the current leaf
// becomes the newest message under it. It returns the new thread.
func (s *Store) SelectBranch(ctx context.Context, id int64) (Thread, error) {
	m, err := s.Message(ctx, id)
	if err != nil {
		return Thread{}, err
	}
	msgs, err := s.Messages(ctx, m.ConversationID)
	if err != nil {
		return Thread{}, err
	}
	leaf := newTree(msgs).leaf(id)
	if _, err := s.db.ExecContext(ctx, `UPDATE conversations SET current_leaf = ? WHERE id = ?`, leaf, m.ConversationID); err != nil {
		return Thread{}, fmt.Errorf("history: select branch %d: %w", id, err)
	}
	return s.Thread(ctx, m.ConversationID)
}
