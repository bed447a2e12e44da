package history

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
)

// Limits on the images of one message. The database holds every byte of
// them (an export must carry them, and a chat must survive its source files
// being moved), so a message cannot take more than MaxImages × MaxImageBytes.
const (
	MaxImages     = 8
	MaxImageBytes = 16 << 20
)

// imageTypes are the formats the vision projectors decode.
var imageTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

// Image is an image attached to a message. In JSON (the app, exports) Data
// is base64.
type Image struct {
	MIME string `json:"mime"`
	Data []byte `json:"data" ts_type:"string"`
}

// CheckImages validates the images of a new message: how many, how large,
// and that each is a PNG, JPEG, GIF or WebP by its bytes (the type a client
// claims is not trusted). It fills in MIME from the bytes.
func CheckImages(images []Image) error {
	if len(images) > MaxImages {
		return fmt.Errorf("history: %d images on one message; at most %d", len(images), MaxImages)
	}
	for i := range images {
		im := &images[i]
		switch {
		case len(im.Data) == 0:
			return fmt.Errorf("history: image %d is empty", i+1)
		case len(im.Data) > MaxImageBytes:
			return fmt.Errorf("history: image %d is %d MiB; at most %d MiB", i+1, len(im.Data)>>20, MaxImageBytes>>20)
		}
		mime := http.DetectContentType(im.Data)
		if !imageTypes[mime] {
			return fmt.Errorf("history: image %d is %s, not a PNG, JPEG, GIF or WebP image", i+1, mime)
		}
		im.MIME = mime
	}
	return nil
}

// insertImages records a message's images inside the transaction that
// records the message, so a crash keeps both or neither.
func insertImages(ctx context.Context, tx *sql.Tx, messageID int64, images []Image) error {
	for i, im := range images {
		if _, err := tx.ExecContext(ctx, `INSERT INTO message_images (message_id, position, mime, data) VALUES (?, ?, ?, ?)`,
			messageID, i, im.MIME, im.Data); err != nil {
			return fmt.Errorf("history: add image %d: %w", i+1, err)
		}
	}
	return nil
}

// loadImages fills in the images of msgs, which belong to one conversation.
func (s *Store) loadImages(ctx context.Context, conversationID int64, msgs []Message) error {
	rows, err := s.db.QueryContext(ctx, `SELECT i.message_id, i.mime, i.data FROM message_images i
		JOIN messages m ON m.id = i.message_id WHERE m.conversation_id = ? ORDER BY i.message_id, i.position`, conversationID)
	if err != nil {
		return fmt.Errorf("history: images of conversation %d: %w", conversationID, err)
	}
	defer rows.Close()
	at := make(map[int64]int, len(msgs))
	for i, m := range msgs {
		at[m.ID] = i
	}
	for rows.Next() {
		var id int64
		var im Image
		if err := rows.Scan(&id, &im.MIME, &im.Data); err != nil {
			return fmt.Errorf("history: images of conversation %d: %w", conversationID, err)
		}
		if i, ok := at[id]; ok {
			msgs[i].Images = append(msgs[i].Images, im)
		}
	}
	return rows.Err()
}
