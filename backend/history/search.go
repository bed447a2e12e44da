package history

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Markers around the matched words in a Hit's Snippet. They are control
// characters that never occur in chat text, so a front end can split on
// them and highlight without interpreting any markup.
const (
	MarkStart = "\x02"
	MarkEnd   = "\x03"
)

// Hit is one search result.
type Hit struct {
	ConversationID int64  `json:"conversationId"`
	Title          string `json:"title"`
	// MessageID is the matching message; 0 when the title matched.
	MessageID int64  `json:"messageId"`
	Role      string `json:"role,omitempty"`
	// Snippet is the text around the match with MarkStart/MarkEnd around
	// the matched words.
	Snippet   string    `json:"snippet"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// MatchQuery turns what a person typed into an FTS5 query: every word must
// occur (in any order), the last one may be the start of a word (search as
// you type), and FTS5 syntax characters are taken literally. It returns ""
// when there is nothing to search for.
func MatchQuery(input string) string {
	// Control characters (a NUL ends an SQL string early) and broken
	// UTF-8 separate words like spaces do.
	input = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(input, " "))
	words := strings.Fields(input)
	var parts []string
	for _, w := range words {
		// Quote each word: inside a string, only '"' is special (doubled).
		parts = append(parts, `"`+strings.ReplaceAll(w, `"`, `""`)+`"`)
	}
	if len(parts) == 0 {
		return ""
	}
	parts[len(parts)-1] += "*"
	return strings.Join(parts, " ")
}

// Search finds messages (and conversation titles) containing every word of
// query, best matches first, at most limit hits (0: 50).
func (s *Store) Search(ctx context.Context, query string, limit int) ([]Hit, error) {
	if limit <= 0 {
		limit = 50
	}
	hits := []Hit{}
	match := MatchQuery(query)
	if match == "" {
		return hits, nil
	}
	// Titles first: a conversation named after the topic is the best hit.
	titleHits, err := s.searchTitles(ctx, query, limit)
	if err != nil {
		return nil, err
	}
	hits = append(hits, titleHits...)
	rows, err := s.db.QueryContext(ctx, `
		SELECT m.conversation_id, c.title, m.id, m.role,
		       snippet(messages_fts, 0, ?, ?, '…', 16), c.updated_at
		FROM messages_fts
		JOIN messages m ON m.id = messages_fts.rowid
		JOIN conversations c ON c.id = m.conversation_id
		WHERE messages_fts MATCH ?
		ORDER BY bm25(messages_fts), m.id DESC
		LIMIT ?`, MarkStart, MarkEnd, match, limit)
	if err != nil {
		return nil, fmt.Errorf("history: search %q: %w", query, err)
	}
	defer rows.Close()
	for rows.Next() {
		var h Hit
		var updated int64
		if err := rows.Scan(&h.ConversationID, &h.Title, &h.MessageID, &h.Role, &h.Snippet, &updated); err != nil {
			return nil, fmt.Errorf("history: search %q: %w", query, err)
		}
		h.UpdatedAt = fromMillis(updated)
		hits = append(hits, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("history: search %q: %w", query, err)
	}
	if len(hits) > limit {
		hits = hits[:limit]
	}
	return hits, nil
}

// searchTitles finds conversations whose title contains every word.
func (s *Store) searchTitles(ctx context.Context, query string, limit int) ([]Hit, error) {
	words := strings.Fields(strings.ToLower(query))
	var where []string
	var args []any
	for _, w := range words {
		where = append(where, `instr(lower(title), ?) > 0`)
		args = append(args, w)
	}
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, `SELECT id, title, updated_at FROM conversations WHERE `+
		strings.Join(where, " AND ")+` ORDER BY updated_at DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("history: search titles %q: %w", query, err)
	}
	defer rows.Close()
	var hits []Hit
	for rows.Next() {
		var h Hit
		var updated int64
		if err := rows.Scan(&h.ConversationID, &h.Title, &updated); err != nil {
			return nil, fmt.Errorf("history: search titles %q: %w", query, err)
		}
		h.Snippet, h.UpdatedAt = markWords(h.Title, words), fromMillis(updated)
		hits = append(hits, h)
	}
	return hits, rows.Err()
}

// markWords puts the markers around the first occurrence of each word
// (compared in lower case; titles are short).
func markWords(title string, words []string) string {
	lower := strings.ToLower(title)
	if len(lower) != len(title) {
		return title // case mapping changed byte offsets; leave it plain
	}
	marked := make([]bool, len(title)+1)
	for _, w := range words {
		if i := strings.Index(lower, w); i >= 0 {
			for j := i; j < i+len(w); j++ {
				marked[j] = true
			}
		}
	}
	var b strings.Builder
	in := false
	for i := 0; i < len(title); i++ {
		if marked[i] && !in {
			b.WriteString(MarkStart)
			in = true
		} else if !marked[i] && in {
			b.WriteString(MarkEnd)
			in = false
		}
		b.WriteByte(title[i])
	}
	if in {
		b.WriteString(MarkEnd)
	}
	return b.String()
}
