package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	wruntime "github.com/wailsapp/wails/v2/pkg/runtime"

	"inferenceruntime/backend/config"
	"inferenceruntime/backend/history"
	"inferenceruntime/backend/service"
	"inferenceruntime/inference/sample"
)

// Chat methods: conversations in the history, replies streamed as
// service.TopicChat events.

// ListConversations returns every conversation, the most recent first.
func (a *App) ListConversations() ([]history.Conversation, error) {
	c, err := a.chatService()
	if err != nil {
		return nil, err
	}
	return c.History.List(a.context())
}

// NewConversation starts an empty conversation with a model (may be "").
func (a *App) NewConversation(model string) (history.Conversation, error) {
	c, err := a.chatService()
	if err != nil {
		return history.Conversation{}, err
	}
	return c.History.Create(a.context(), history.NewConversation{Model: model})
}

// ConversationThread returns a conversation with the branch on screen and
// the reply streaming in it (0: none).
type ConversationThread struct {
	Conversation history.Conversation    `json:"conversation"`
	Messages     []history.ThreadMessage `json:"messages"`
	Streaming    int64                   `json:"streaming"`
}

func threadOf(th history.Thread, streaming int64) ConversationThread {
	return ConversationThread{Conversation: th.Conversation, Messages: th.Messages, Streaming: streaming}
}

// GetThread returns a conversation and its current branch.
func (a *App) GetThread(conversationID int64) (ConversationThread, error) {
	c, err := a.chatService()
	if err != nil {
		return ConversationThread{}, err
	}
	th, err := c.History.Thread(a.context(), conversationID)
	if err != nil {
		return ConversationThread{}, err
	}
	return threadOf(th, c.Streaming(conversationID)), nil
}

// SelectBranch shows the branch through messageID (a sibling version).
func (a *App) SelectBranch(messageID int64) (ConversationThread, error) {
	c, err := a.chatService()
	if err != nil {
		return ConversationThread{}, err
	}
	th, err := c.History.SelectBranch(a.context(), messageID)
	if err != nil {
		return ConversationThread{}, err
	}
	return threadOf(th, c.Streaming(th.Conversation.ID)), nil
}

// RenameConversation sets a conversation's title.
func (a *App) RenameConversation(conversationID int64, title string) (history.Conversation, error) {
	c, err := a.chatService()
	if err != nil {
		return history.Conversation{}, err
	}
	return c.History.Rename(a.context(), conversationID, title)
}

// DeleteConversation removes a conversation (its reply is stopped first).
func (a *App) DeleteConversation(conversationID int64) (bool, error) {
	c, err := a.chatService()
	if err != nil {
		return false, err
	}
	c.Stop(conversationID)
	if err := c.History.Delete(a.context(), conversationID); err != nil {
		return false, err
	}
	return true, nil
}

// ConfigureConversation stores a conversation's model, system prompt and
// parameters.
func (a *App) ConfigureConversation(conversationID int64, model, system string, params history.Params) (history.Conversation, error) {
	c, err := a.chatService()
	if err != nil {
		return history.Conversation{}, err
	}
	return c.History.SetSettings(a.context(), conversationID, model, system, params)
}

// SendMessage adds a question after parentID (the last message on screen,
// 0 for the first) and starts the reply.
func (a *App) SendMessage(conversationID, parentID int64, text string) (service.SendResult, error) {
	c, err := a.chatService()
	if err != nil {
		return service.SendResult{}, err
	}
	return c.Send(a.context(), conversationID, parentID, text)
}

// EditMessage resends an edited question as a new branch.
func (a *App) EditMessage(messageID int64, text string) (service.SendResult, error) {
	c, err := a.chatService()
	if err != nil {
		return service.SendResult{}, err
	}
	return c.Edit(a.context(), messageID, text)
}

// Regenerate writes a new version of a reply as a new branch.
func (a *App) Regenerate(messageID int64) (history.Message, error) {
	c, err := a.chatService()
	if err != nil {
		return history.Message{}, err
	}
	return c.Regenerate(a.context(), messageID)
}

// StopReply stops the reply streaming in a conversation.
func (a *App) StopReply(conversationID int64) (bool, error) {
	c, err := a.chatService()
	if err != nil {
		return false, err
	}
	return c.Stop(conversationID), nil
}

// ContextUsage measures the branch ending at leafID plus a draft question
// against the conversation's context.
func (a *App) ContextUsage(conversationID, leafID int64, draft string) (service.ContextUsage, error) {
	c, err := a.chatService()
	if err != nil {
		return service.ContextUsage{}, err
	}
	return c.Usage(a.context(), conversationID, leafID, draft)
}

// LoadModel loads a model in the background as soon as it is picked;
// progress arrives as service.TopicModelLoad events.
func (a *App) LoadModel(name string) (bool, error) {
	c, err := a.chatService()
	if err != nil {
		return false, err
	}
	go func() {
		if _, err := c.LoadModel(a.context(), name); err != nil {
			a.log.Warn().Err(err).Str("model", name).Msg("load model")
		}
	}()
	return true, nil
}

// ModelDefaults are the starting values of a chat's parameters for a model.
type ModelDefaults struct {
	Temperature   float64 `json:"temperature"`
	TopP          float64 `json:"topP"`
	TopK          int     `json:"topK"`
	MinP          float64 `json:"minP"`
	RepeatPenalty float64 `json:"repeatPenalty"`
	// ContextLength is what a chat gets by default (the setting, capped at
	// the model's); ModelContext is the most the model supports.
	ContextLength int `json:"contextLength"`
	ModelContext  int `json:"modelContext"`
}

// GetModelDefaults returns the parameter defaults for a model: what its
// GGUF recommends (general.sampling.*) over the sampler's defaults ("" for
// the sampler's defaults alone).
func (a *App) GetModelDefaults(model string) (ModelDefaults, error) {
	p := sample.DefaultParams()
	var d ModelDefaults
	s, err := config.LoadSettings(a.dataDir)
	if err != nil {
		s = config.Defaults()
	}
	d.ContextLength = s.ContextLength
	if model != "" {
		svc, err := a.service()
		if err != nil {
			return d, err
		}
		m, err := svc.ResolveInstalledModel(a.context(), model)
		if err != nil {
			return d, err
		}
		if mp, err := service.ModelSampling(m.Path); err == nil {
			p = mp
		}
		d.ModelContext = int(m.Meta.ContextLength)
		if d.ModelContext > 0 && (d.ContextLength <= 0 || d.ContextLength > d.ModelContext) {
			d.ContextLength = d.ModelContext
		}
	}
	d.Temperature, d.TopP, d.TopK = shortFloat(p.Temperature), shortFloat(p.TopP), p.TopK
	d.MinP, d.RepeatPenalty = shortFloat(p.MinP), shortFloat(p.RepeatPenalty)
	return d, nil
}

// shortFloat widens a float32 to the float64 with the same shortest decimal
// form (0.8, not 0.800000011920929), as people typed it.
func shortFloat(f float32) float64 {
	v, err := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
	if err != nil {
		return float64(f)
	}
	return v
}

// SearchHistory finds messages and titles containing every word of query.
func (a *App) SearchHistory(query string) ([]history.Hit, error) {
	c, err := a.chatService()
	if err != nil {
		return nil, err
	}
	return c.History.Search(a.context(), query, 50)
}

// ExportConversation asks where to save a conversation as Markdown
// ("markdown") or JSON ("json") and writes it; it returns the file written
// ("" when the dialog was cancelled).
func (a *App) ExportConversation(conversationID int64, format string) (string, error) {
	c, err := a.chatService()
	if err != nil {
		return "", err
	}
	ctx := a.context()
	var data []byte
	ext := ".md"
	switch format {
	case "markdown":
		data, err = c.History.ExportMarkdown(ctx, conversationID)
	case "json":
		data, err = c.History.ExportJSON(ctx, conversationID)
		ext = ".json"
	default:
		return "", fmt.Errorf("export format %q is not markdown or json", format)
	}
	if err != nil {
		return "", err
	}
	conv, err := c.History.Get(ctx, conversationID)
	if err != nil {
		return "", err
	}
	path, err := a.exportPath(exportFileName(conv.Title, ext))
	if err != nil || path == "" {
		return "", err
	}
	if err := config.WriteFileAtomic(path, data, 0o644); err != nil {
		return "", fmt.Errorf("export to %s: %w", path, err)
	}
	return path, nil
}

// exportPath asks for a file name with the save dialog; in dev builds
// (driven by a browser, without dialogs) it uses IR_EXPORT_DIR when set.
func (a *App) exportPath(name string) (string, error) {
	if dir := os.Getenv("IR_EXPORT_DIR"); devBuild && dir != "" {
		return filepath.Join(dir, name), nil
	}
	if a.ctx == nil {
		return "", fmt.Errorf("no window to ask where to save %s", name)
	}
	return wruntime.SaveFileDialog(a.ctx, wruntime.SaveDialogOptions{
		Title: "Export conversation", DefaultFilename: name, CanCreateDirectories: true,
	})
}

// exportFileName makes a safe file name from a conversation title.
func exportFileName(title, ext string) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(title) {
		switch {
		case r == '/' || r == '\\' || r == ':' || r == '*' || r == '?' || r == '"' || r == '<' || r == '>' || r == '|' || r < 0x20:
			b.WriteRune('-')
		default:
			b.WriteRune(r)
		}
	}
	name := strings.Trim(b.String(), ". -")
	if r := []rune(name); len(r) > 80 {
		name = string(r[:80])
	}
	if name == "" {
		name = "conversation"
	}
	return name + ext
}
