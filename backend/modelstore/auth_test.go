package modelstore

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// TestTokenOnlyToTheStore: the token reaches the store's host, and not the
// host the store redirects the download to.
func TestTokenOnlyToTheStore(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]string{}
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen["cdn"] = r.Header.Get("Authorization")
		mu.Unlock()
	}))
	defer cdn.Close()
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen["hub"] = r.Header.Get("Authorization")
		mu.Unlock()
		http.Redirect(w, r, cdn.URL+"/x", http.StatusFound)
	}))
	defer hub.Close()
	c := WithToken(NewClient(), hub.URL, "secret")
	resp, err := c.Get(hub.URL + "/org/repo/resolve/main/f.gguf")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if seen["hub"] != "Bearer secret" || seen["cdn"] != "" {
		t.Fatalf("Authorization seen: %q", seen)
	}
	if WithToken(http.DefaultClient, hub.URL, "") != http.DefaultClient {
		t.Fatal("an empty token changed the client")
	}
}
