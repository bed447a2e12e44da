package history

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// ExportFormatVersion identifies the JSON export layout.
const ExportFormatVersion = 1

// Export is the JSON form of a conversation: its settings and every
// message of every branch (ParentID links them), plus the branch on screen.
type Export struct {
	Format       string       `json:"format"` // "inference-runtime.conversation"
	Version      int          `json:"version"`
	ExportedAt   time.Time    `json:"exportedAt"`
	Conversation Conversation `json:"conversation"`
	Messages     []Message    `json:"messages"`
	// CurrentBranch lists the ids on the branch on screen, first to last.
	CurrentBranch []int64 `json:"currentBranch"`
}

// ExportJSON returns a conversation as indented JSON (see Export).
func (s *Store) ExportJSON(ctx context.Context, conversationID int64) ([]byte, error) {
	th, err := s.Thread(ctx, conversationID)
	if err != nil {
		return nil, err
	}
	msgs, err := s.Messages(ctx, conversationID)
	if err != nil {
		return nil, err
	}
	e := Export{Format: "inference-runtime.conversation", Version: ExportFormatVersion, ExportedAt: s.now().UTC(),
		Conversation: th.Conversation, Messages: msgs, CurrentBranch: []int64{}}
	for _, m := range th.Messages {
		e.CurrentBranch = append(e.CurrentBranch, m.ID)
	}
	out, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("history: export conversation %d: %w", conversationID, err)
	}
	return append(out, '\n'), nil
}

// ExportMarkdown returns the branch on screen as a Markdown document: the
// title, the model and system prompt, then each message under a heading
// naming its role. Message text is Markdown already and is kept as is.
func (s *Store) ExportMarkdown(ctx context.Context, conversationID int64) ([]byte, error) {
	th, err := s.Thread(ctx, conversationID)
	if err != nil {
		return nil, err
	}
	c := th.Conversation
	var b bytes.Buffer
	title := c.Title
	if title == "" {
		title = "Conversation"
	}
	fmt.Fprintf(&b, "# %s\n\n", title)
	if c.Model != "" {
		fmt.Fprintf(&b, "- Model: %s\n", c.Model)
	}
	fmt.Fprintf(&b, "- Started: %s\n", c.CreatedAt.Format(time.RFC3339))
	if c.System != "" {
		fmt.Fprintf(&b, "\n## System prompt\n\n%s\n", strings.TrimRight(c.System, "\n"))
	}
	for _, m := range th.Messages {
		heading := map[string]string{RoleUser: "User", RoleAssistant: "Assistant", RoleSystem: "System"}[m.Role]
		if m.Role == RoleAssistant && m.Model != "" {
			heading += " (" + m.Model + ")"
		}
		fmt.Fprintf(&b, "\n## %s\n\n%s\n", heading, strings.TrimRight(m.Content, "\n"))
		for i, im := range m.Images {
			// Inline, so that the document stands alone like the JSON export.
			fmt.Fprintf(&b, "\n![image %d](data:%s;base64,%s)\n", i+1, im.MIME, base64.StdEncoding.EncodeToString(im.Data))
		}
		switch m.State {
		case StateStopped:
			b.WriteString("\n*(stopped)*\n")
		case StateInterrupted:
			b.WriteString("\n*(interrupted)*\n")
		case StateError:
			fmt.Fprintf(&b, "\n*(error: %s)*\n", m.Error)
		}
	}
	return b.Bytes(), nil
}
