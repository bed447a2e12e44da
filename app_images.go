package main

import (
	"os"
	"path/filepath"
	"strings"

	"inferenceruntime/backend/history"
	"inferenceruntime/backend/service"
)

// EventImagesDropped carries the []DroppedImage of a drop of pictures on
// the window: they are for the message box, not the library.
const EventImagesDropped = "images:dropped"

// DroppedImage is a picture dropped on the window, read for the composer.
type DroppedImage struct {
	Name  string        `json:"name"`
	Image history.Image `json:"image"`
	// Error says why the file cannot be attached ("" when it can).
	Error string `json:"error,omitempty"`
}

// imageExts are the picture files a drop attaches to the message instead
// of importing.
var imageExts = map[string]bool{".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".webp": true}

// splitDrop separates the pictures of a drop, read and checked, from the
// other files (models to import).
func splitDrop(paths []string) (images []DroppedImage, rest []string) {
	for _, p := range paths {
		if !imageExts[strings.ToLower(filepath.Ext(p))] {
			rest = append(rest, p)
			continue
		}
		d := DroppedImage{Name: filepath.Base(p)}
		if info, err := os.Stat(p); err != nil {
			d.Error = err.Error()
		} else if info.Size() > history.MaxImageBytes {
			d.Error = "larger than the 16 MiB an image may take"
		} else if data, err := os.ReadFile(p); err != nil {
			d.Error = err.Error()
		} else {
			imgs := []history.Image{{Data: data}}
			if err := history.CheckImages(imgs); err != nil {
				d.Error = strings.TrimPrefix(err.Error(), "history: ")
			} else {
				d.Image = imgs[0]
			}
		}
		images = append(images, d)
	}
	return images, rest
}

// SendMessageWithImages is SendMessage with pictures attached to the
// question (base64 in JSON). A model without a vision projector refuses
// them before anything is saved.
func (a *App) SendMessageWithImages(conversationID, parentID int64, text string, images []history.Image) (service.SendResult, error) {
	c, err := a.chatService()
	if err != nil {
		return service.SendResult{}, err
	}
	return c.Send(a.context(), conversationID, parentID, text, images...)
}
